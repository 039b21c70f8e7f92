#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token", headers("authorization" = "token x"))]
pub trait Vat {
    #[endpoint(method = GET, path = "/returns", user = Company, headers("Host" = "other.example"))]
    async fn list(&self, #[header("Authorization")] credential: &str) -> Result<(), Error>;

    // Called without a token: its own `Authorization` is its business.
    #[endpoint(method = GET, path = "/open", user = Anonymous)]
    async fn open(&self, #[header("Authorization")] credential: &str) -> Result<(), Error>;
}
fn main() {}
