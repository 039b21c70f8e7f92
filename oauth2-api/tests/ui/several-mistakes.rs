#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token", colour = "blue")]
pub trait Vat {
    #[endpoint(method = GOT, path = "/vat/{vrn}", user = Company)]
    async fn a(&self, unused: u32) -> Result<(), Error>;

    #[endpoint(method = GET, path = "/b", user = Company)]
    fn b(&self) -> Result<(), Error>;
}
fn main() {}
