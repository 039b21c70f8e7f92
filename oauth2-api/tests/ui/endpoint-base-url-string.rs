#[allow(unused_imports)]
use oauth2_api::{oauth2_api, Error};

#[oauth2_api(provider = "Xero", base_url = "https://api.xero.com/api.xro/2.0",
             base_urls(identity = "https://api.xero.com"),
             auth_url = "https://login.xero.com/identity/connect/authorize",
             token_url = "https://identity.xero.com/connect/token")]
pub trait Xero {
    #[endpoint(method = GET, path = "/connections", user = Application, base_url = "https://api.xero.com")]
    async fn connections(&self) -> Result<(), Error>;
}
fn main() {}
