#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

/// A page's wrapper, not its list of items (`items = "data"` forgotten): reported on the
/// type.
#[derive(serde::Deserialize)]
pub struct Page {
    pub data: Vec<u32>,
}

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Vat {
    #[endpoint(method = GET, path = "/a", user = Company, paginate(page = "page"))]
    async fn a(&self) -> Result<Page, Error>;
}
fn main() {}
