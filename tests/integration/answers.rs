//! What a declared endpoint returns: `Response<T>` (status, headers, decoded body), the
//! application's own error type, and `Result` aliases.

use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Error, ProviderError, ProviderErrorDetail, Response, oauth2_api};
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

/// Xero's error body, kept whole.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct XeroError {
    #[serde(rename = "Type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: Option<String>,
    pub instance: Option<String>,
}

const XERO_BODY: &str = r#"{"Type":"ValidationException","Title":"Validation failed","Status":400,"Detail":"A date is required","Instance":"f1a2"}"#;

#[oauth2_api(provider = "HMRC",
             environment(name = "sandbox", base_url = "https://test-api.service.hmrc.gov.uk",
                         auth_url = "https://test-www.tax.service.gov.uk/oauth/authorize",
                         token_url = "https://test-api.service.hmrc.gov.uk/oauth/token"),
             headers("Accept" = "application/vnd.hmrc.1.0+json"),
             error_body = XeroError)]
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
    hello_client_from(sandbox, HelloClient::builder()).await
}

async fn hello_client_from(sandbox: &Sandbox, builder: oauth2_api::RuntimeBuilder) -> HelloClient {
    let runtime = builder
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

#[tokio::test]
async fn an_api_error_carries_the_declared_error_body() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = hello_client(&sandbox).await;
    let company = Company(3);
    authorize(&sandbox, client.runtime(), &company, &["hello"]).await;
    sandbox.fail_next_api_call(ApiFault::Status(400, XERO_BODY.to_owned()));
    let err = client.with_headers(&company).await.unwrap_err();
    let body = err.error_body::<XeroError>().expect("the declared shape");
    assert_eq!(
        (body.kind.as_str(), body.title.as_str(), body.status),
        ("ValidationException", "Validation failed", 400)
    );
    assert_eq!(body.detail.as_deref(), Some("A date is required"));
    assert_eq!(body.instance.as_deref(), Some("f1a2"));
    assert!(
        format!("{err:?}").contains("Validation failed"),
        "Debug shows it"
    );

    sandbox.fail_next_api_call(ApiFault::Status(500, r#"{"code":"BOOM"}"#.to_owned()));
    let err = client.with_headers(&company).await.unwrap_err();
    assert!(err.error_body::<XeroError>().is_none(), "another shape");
    assert!(err.error_body::<String>().is_none(), "another type");
    assert_eq!(
        err.provider_code(),
        Some("BOOM"),
        "the built-in shapes still apply"
    );
}

#[tokio::test]
async fn a_custom_decoder_builds_details_with_public_constructors() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let decoder = |_status: u16, body: &[u8]| {
        let xero: XeroError = serde_json::from_slice(body).ok()?;
        let detail = ProviderErrorDetail::new(xero.kind.clone())
            .message(xero.detail.unwrap_or_default())
            .path("/Date");
        Some(ProviderError::new(xero.kind, Some(xero.title)).with_errors(vec![detail]))
    };
    let client = hello_client_from(&sandbox, HelloClient::builder().error_decoder(decoder)).await;
    let company = Company(4);
    authorize(&sandbox, client.runtime(), &company, &["hello"]).await;
    sandbox.fail_next_api_call(ApiFault::Status(400, XERO_BODY.to_owned()));
    let Error::Api(api) = client.with_headers(&company).await.unwrap_err() else {
        panic!("an API error");
    };
    let provider = api.provider.as_ref().unwrap();
    assert_eq!(provider.code, "ValidationException");
    assert_eq!(provider.errors[0].path.as_deref(), Some("/Date"));
    assert_eq!(
        provider.errors[0].message.as_deref(),
        Some("A date is required")
    );
    assert!(
        api.body_as::<XeroError>().is_some(),
        "beside the declared body"
    );
}
