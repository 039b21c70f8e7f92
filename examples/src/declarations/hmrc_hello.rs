//! HMRC's Hello World API: the declaration and its answer.

use oauth2_api::{Error, oauth2_api};
use serde::Deserialize;

pub use super::Company;

/// The answer of every Hello World endpoint.
#[derive(Debug, Deserialize)]
pub struct Message {
    /// `Hello World`, `Hello Application` or `Hello User`.
    pub message: String,
}

/// HMRC's Hello World API.
#[oauth2_api(provider = "HMRC",
             environment(name = "sandbox", base_url = "https://test-api.service.hmrc.gov.uk",
                         auth_url = "https://test-www.tax.service.gov.uk/oauth/authorize",
                         token_url = "https://test-api.service.hmrc.gov.uk/oauth/token"),
             environment(name = "production", base_url = "https://api.service.hmrc.gov.uk",
                         auth_url = "https://www.tax.service.gov.uk/oauth/authorize",
                         token_url = "https://api.service.hmrc.gov.uk/oauth/token"),
             client_auth = "body",
             headers("Accept" = "application/vnd.hmrc.1.0+json"))]
pub trait HelloWorld {
    /// Says hello to anyone: an open endpoint, no token.
    #[endpoint(method = GET, path = "/hello/world", user = Anonymous)]
    async fn hello_world(&self) -> Result<Message, Error>;

    /// Says hello to the application (client credentials).
    #[endpoint(method = GET, path = "/hello/application", user = Application)]
    async fn hello_application(&self) -> Result<Message, Error>;

    /// Says hello to a person who authorized (scope `hello`).
    #[endpoint(method = GET, path = "/hello/user", scope = "hello", user = Company)]
    async fn hello_user(&self) -> Result<Message, Error>;
}
