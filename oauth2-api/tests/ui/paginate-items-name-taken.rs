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
    #[endpoint(method = GET, path = "/b", user = Company)]
    async fn a_items(&self) -> Result<Vec<u32>, Error>;
    #[endpoint(method = GET, path = "/a", user = Company, paginate(link))]
    async fn a(&self) -> Result<Vec<u32>, Error>;
}

fn main() {
    // The client is still usable after the error: no second error follows.
    let _ = VatClient::builder;
}
