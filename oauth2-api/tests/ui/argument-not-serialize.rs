#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

/// An argument type without `Serialize`.
pub struct Period(pub u8);

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Vat {
    #[endpoint(method = GET, path = "/periods/{period}", user = Company)]
    async fn a(&self, period: Period, #[query] from: Period, #[header("X-Period")] only: Period) -> Result<(), Error>;
    #[endpoint(method = POST, path = "/periods", user = Company)]
    async fn b(&self, #[body] period: Period) -> Result<(), Error>;
}
fn main() {}
