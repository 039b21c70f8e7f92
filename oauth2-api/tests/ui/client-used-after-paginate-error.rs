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
    #[endpoint(method = GET, path = "/returns", user = Company, paginate(items = "data"))]
    async fn returns(&self) -> Result<Vec<String>, Error>;
}

// Uses what the declaration generates: with the one mistake above, it must draw no
// error of its own.
#[allow(dead_code)]
async fn run() -> Result<(), Error> {
    let client = VatClient::new(VatClient::builder().build()?);
    let _: Vec<String> = client.returns(&Company).await?;
    let _: Vec<String> = client.returns_items(&Company).collect().await?;
    while let Some(page) = client.returns_pages(&Company).next().await {
        let _: Vec<String> = page?.body;
    }
    Ok(())
}

fn main() {}
