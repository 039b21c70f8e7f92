//! What a declared endpoint returns: `Response<T>` (status, headers, decoded body), the
//! application's own error type, and `Result` aliases.

use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Error, Response, oauth2_api};
use oauth2_api_tests::{Company, REDIRECT_URL, authorize};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
pub struct Message {
    pub message: String,
}

/// An application's own error type: the runtime's errors convert into it.
#[derive(Debug)]
pub enum AppError {
    Api(Error),
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Api(e)
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[oauth2_api(provider = "HMRC",
             environment(name = "sandbox", base_url = "https://test-api.service.hmrc.gov.uk",
                         auth_url = "https://test-www.tax.service.gov.uk/oauth/authorize",
                         token_url = "https://test-api.service.hmrc.gov.uk/oauth/token"),
             headers("Accept" = "application/vnd.hmrc.1.0+json"))]
pub trait Hello {
    /// The answer with its status and headers.
    #[endpoint(method = GET, path = "/hello/user", scope = "hello", user = Company)]
    async fn with_headers(&self) -> Result<Response<Message>, Error>;

    /// The same endpoint, failing into the application's error type.
    #[endpoint(method = GET, path = "/hello/user", scope = "hello", user = Company)]
    async fn own_error(&self) -> Result<Message, AppError>;

    /// Through an alias that fixes the error type.
    #[endpoint(method = GET, path = "/hello/user", scope = "hello", user = Company)]
    async fn alias(&self) -> AppResult<Message>;
}

pub async fn hello_client(sandbox: &Sandbox) -> HelloClient {
    let runtime = HelloClient::builder()
        .credentials(oauth2_api_tests::sandbox_client(REDIRECT_URL))
        .base_url("sandbox", sandbox.url())
        .auth_url("sandbox", sandbox.auth_url())
        .token_url("sandbox", sandbox.token_url())
        .store(MemoryStore::new())
        .build()
        .unwrap();
    HelloClient::new(runtime)
}

#[tokio::test]
async fn a_response_carries_status_headers_and_the_decoded_body() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = hello_client(&sandbox).await;
    let company = Company(1);
    authorize(&sandbox, client.runtime(), &company, &["hello"]).await;
    let answer = client.with_headers(&company).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("X-Sandbox-User"), Some("sandbox-user"));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.into_body().message, "Hello User");

    sandbox.fail_next_api_call(ApiFault::Status(404, r#"{"code":"NOT_FOUND"}"#.to_owned()));
    let err = client.with_headers(&company).await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(404),
        "a non-success status stays an error"
    );
}

#[tokio::test]
async fn own_error_types_and_aliases_receive_the_runtimes_errors() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = hello_client(&sandbox).await;
    let company = Company(2);
    let AppError::Api(err) = client.own_error(&company).await.unwrap_err();
    assert!(err.authorization_required().is_some(), "{err:?}");
    authorize(&sandbox, client.runtime(), &company, &["hello"]).await;
    assert_eq!(client.alias(&company).await.unwrap().message, "Hello User");
    sandbox.fail_next_api_call(ApiFault::Status(500, r#"{"code":"BOOM"}"#.to_owned()));
    let AppError::Api(err) = client.alias(&company).await.unwrap_err();
    assert_eq!(err.provider_code(), Some("BOOM"));
}
