#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

#[oauth2_api(provider = "X",
             environment(name = "sandbox", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth"))]
pub trait Vat {
    #[endpoint(method = GET, path = "/returns", scope = "read:vat", user = Company)]
    async fn returns(&self) -> Result<Vec<String>, Error>;
}

// Uses of the client and the environment enum draw no error of their own.
#[allow(dead_code)]
async fn run() -> Result<(), Error> {
    let client = VatClient::new(VatClient::builder().build()?);
    client.select_environment(&Company, VatEnv::Sandbox).await?;
    let _: Vec<String> = client.returns(&Company).await?;
    let _ = client.begin_authorization(&Company, None).await?;
    let _: &[&str] = <Company as VatUser>::SCOPES;
    Ok(())
}

fn main() {}
