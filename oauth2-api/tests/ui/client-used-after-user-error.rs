#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

#[oauth2_api(provider = "X", environment(name = "sandbox", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token"))]
pub trait Vat {
    #[endpoint(method = GET, path = "/returns/{period}", user = "Company")]
    async fn returns(&self, period: &str) -> Result<Vec<String>, Error>;

    #[endpoint(method = GET, path = "/hello", user = Application)]
    async fn hello(&self) -> Result<String, Error>;
}

// Everything below uses what the declaration generates: with the one mistake above (a
// user written as a string), calls made with the intended user draw no error of their own.
#[allow(dead_code)]
async fn run() -> Result<(), Error> {
    let client = VatClient::new(VatClient::builder().build()?);
    client.select_environment(&Company, VatEnv::Sandbox).await?;
    let _: Vec<String> = client.returns(&Company, "18A1").await?;
    let _: String = client.hello().await?;
    let _ = client.is_authorized(&Company).await?;
    client.disconnect(&Company).await?;
    let _: &[VatEnv] = VatEnv::ALL;
    Ok(())
}

fn main() {}
