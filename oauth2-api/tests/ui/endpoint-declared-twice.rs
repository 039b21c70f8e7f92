#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token",
             base_urls(identity = "https://id.example.com", identity = "https://other.example.com"))]
pub trait Vat {
    #[endpoint(method = GET, path = "/x", user = Company)]
    #[endpoint(method = POST, path = "/y", user = Company)]
    async fn x(&self) -> Result<(), Error>;

    #[endpoint(method = GET, path = "/n", user = Company)]
    async fn r#new(&self) -> Result<(), Error>;
}

fn main() {}
