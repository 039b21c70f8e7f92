//! What an endpoint may return: a decoded body, `Response<T>`, the application's own
//! error type, and `Result` aliases (one fixing the error type, one that does not).

use oauth2_api::{oauth2_api, ApiUser, Response, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

#[derive(Debug)]
pub enum AppError {
    Api(oauth2_api::Error),
}
impl From<oauth2_api::Error> for AppError {
    fn from(e: oauth2_api::Error) -> Self {
        AppError::Api(e)
    }
}

pub type ApiResult<T> = Result<T, AppError>;

mod app {
    pub type Result<T, E = super::AppError> = std::result::Result<T, E>;
}

#[derive(serde::Deserialize)]
pub struct Message {
    pub message: String,
}

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Shop {
    #[endpoint(method = GET, path = "/a", user = Company)]
    async fn body(&self) -> Result<Message, oauth2_api::Error>;
    #[endpoint(method = GET, path = "/b", user = Company)]
    async fn with_headers(&self) -> Result<Response<Message>, oauth2_api::Error>;
    #[endpoint(method = DELETE, path = "/c", user = Company)]
    async fn own_error(&self) -> Result<Response<()>, AppError>;
    #[endpoint(method = GET, path = "/d", user = Application)]
    async fn alias(&self) -> ApiResult<Message>;
    #[endpoint(method = GET, path = "/e", user = Anonymous)]
    async fn module_alias(&self) -> app::Result<Message>;
    #[endpoint(method = GET, path = "/f", user = Anonymous)]
    async fn anyhow_like(&self) -> Result<Message, Box<dyn std::error::Error + Send + Sync>>;
}

/// The generated methods' futures are `Send` whatever the return type.
#[allow(dead_code)]
fn futures_are_send(client: &ShopClient) {
    fn is_send<T: Send>(_: T) {}
    is_send(client.with_headers(&Company));
    is_send(client.own_error(&Company));
    is_send(client.alias());
}

fn main() {}
