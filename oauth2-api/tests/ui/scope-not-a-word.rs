#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Vat {
    #[endpoint(method = GET, path = "/a", scope = ["read write"], user = Company)]
    async fn a(&self) -> Result<(), Error>;

    #[endpoint(method = GET, path = "/b", scope = ["read", "write", "read"], user = Company)]
    async fn b(&self) -> Result<(), Error>;
}

fn main() {}
