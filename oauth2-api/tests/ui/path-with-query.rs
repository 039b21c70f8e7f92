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
    #[endpoint(method = GET, path = "/a?b={id}", user = Company)]
    async fn a(&self, id: &str) -> Result<(), Error>;

    #[endpoint(method = GET, path = "/b/{id-x}#top", user = Company)]
    async fn b(&self) -> Result<(), Error>;
}

fn main() {
    // The client is still there after the errors.
    let _ = VatClient::builder;
}
