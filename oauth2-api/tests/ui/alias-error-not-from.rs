#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

/// A `Result` alias whose error type has no `From<oauth2_api::Error>`: reported on the
/// alias, not on the `->`.
#[derive(Debug)]
pub struct AppError;
pub type AppResult<T> = Result<T, AppError>;

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Vat {
    #[endpoint(method = GET, path = "/a", user = Company)]
    async fn a(&self) -> AppResult<String>;
}
fn main() {}
