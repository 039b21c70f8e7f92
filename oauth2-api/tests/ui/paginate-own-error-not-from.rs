#[allow(unused_imports)]
use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

/// An application's own error type, without `From<oauth2_api::Error>`, on a paginated
/// endpoint: reported once, on the type.
#[derive(Debug)]
pub struct AppError;

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Vat {
    #[endpoint(method = GET, path = "/a", user = Company, paginate(page = "page"))]
    async fn a(&self) -> Result<Vec<u32>, AppError>;
}
fn main() {}
