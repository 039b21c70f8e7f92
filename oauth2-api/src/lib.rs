//! Typed clients for OAuth2-protected REST APIs.
//!
//! Declare an API as a trait with [`oauth2_api`] and [`endpoint`] attributes; this crate
//! owns everything behind the generated methods: per-user sessions kept in a
//! [`SessionStore`](store::SessionStore), CSRF state, the authorization-code grant with
//! PKCE, client credentials, refresh (once, however many callers wait), and the
//! "unauthorized → authorize → callback → retry" flow.
//!
//! Where to look:
//!
//! - [`Runtime`] and [`RuntimeBuilder`]: configuration, sessions, calls, the escape hatch
//!   ([`Runtime::request`]), authorization ([`Runtime::begin_authorization`],
//!   [`Runtime::complete_authorization`]).
//! - [`store`]: the [`SessionStore`](store::SessionStore) contract and its backends.
//! - [`Runtime::authorize_and_retry`], [`LoopbackAuthorizer`] and `web` (feature `axum`): the flows.
//! - [`RequestHook`], [`ErrorDecoder`], [`RetryPolicy`]: provider quirks; `hmrc` (feature)
//!   for HMRC's fraud-prevention headers.
//! - `sandbox` (feature): a local provider for demos and tests.
//! - [`Response`], [`Pages`] and [`Items`]: an answer with its headers, and the streams of
//!   a paginated endpoint (`paginate(...)`).
//! - [`Error`]: every failure, typed; [`ApiError::body_as`] for an API's own error body.
//!
//! An API declared and called (the generated `VatClient` holds a [`Runtime`]; each
//! method takes the user first, gets a usable token, sends, and decodes the answer). The
//! company has not authorized yet, so the call answers with where to send a person,
//! without a request to the provider:
//!
//! ```
//! use oauth2_api::{oauth2_api, store::MemoryStore, ApiUser, Credentials, Error, UserRef};
//!
//! pub struct Company { pub id: u32 }
//! impl ApiUser for Company {
//!     fn user_ref(&self) -> UserRef { UserRef::new("company", self.id) }
//! }
//!
//! #[derive(serde::Deserialize)]
//! pub struct Obligations { pub obligations: Vec<serde_json::Value> }
//!
//! #[oauth2_api(provider = "HMRC",
//!              base_url = "https://test-api.service.hmrc.gov.uk",
//!              auth_url = "https://test-www.tax.service.gov.uk/oauth/authorize",
//!              token_url = "https://test-api.service.hmrc.gov.uk/oauth/token")]
//! pub trait Vat {
//!     #[endpoint(method = GET, path = "/organisations/vat/{vrn}/obligations",
//!                scope = "read:vat", user = Company)]
//!     async fn obligations(&self, vrn: &str, #[query] from: &str, #[query] to: &str)
//!         -> Result<Obligations, Error>;
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let runtime = VatClient::builder()
//!     .credentials(Credentials::new("client-id").secret("client-secret")
//!         .redirect_url("http://localhost:8765/oauth2/callback"))
//!     .store(MemoryStore::new())
//!     .build()?;
//! let client = VatClient::new(runtime);
//! match client.obligations(&Company { id: 42 }, "123456789", "2017-01-01", "2017-12-31").await {
//!     Ok(answer) => println!("{} obligations", answer.obligations.len()),
//!     Err(Error::AuthorizationRequired(auth)) => {
//!         assert!(auth.url.as_str().starts_with("https://test-www.tax.service.gov.uk/oauth/authorize?"));
//!         assert_eq!(auth.scopes, ["read:vat"]);
//!     }
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The runtime works without macros too:
//!
//! ```no_run
//! use oauth2_api::{store::MemoryStore, Credentials, Environment, Method, Provider, Runtime, UserRef};
//!
//! # async fn run() -> Result<(), oauth2_api::Error> {
//! let provider = Provider::new("HMRC").environment(Environment::new(
//!     "sandbox",
//!     "https://test-api.service.hmrc.gov.uk",
//!     "https://test-www.tax.service.gov.uk/oauth/authorize",
//!     "https://test-api.service.hmrc.gov.uk/oauth/token",
//! ));
//! let runtime = Runtime::builder(provider)
//!     .credentials(Credentials::new("client-id").secret("client-secret")
//!         .redirect_url("http://localhost:8765/oauth2/callback"))
//!     .store(MemoryStore::new())
//!     .build()?;
//! let company = UserRef::new("company", "42");
//! match runtime.request(&company, Method::Get, "/hello/user").scopes(&["hello"]).send().await {
//!     Ok(answer) => println!("{}", answer.text()),
//!     Err(oauth2_api::Error::AuthorizationRequired(auth)) => println!("open {}", auth.url),
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! ```

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod call;
mod config;
mod error;
mod error_body;
mod flow;
#[cfg(feature = "hmrc")]
pub mod hmrc;
mod hooks;
mod http;
mod oauth;
mod provider;
mod redact;
mod runtime;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod scope;
mod session;
pub mod store;
mod user;

pub use crate::call::{FromAnswer, Items, Method, Pages, RawRequest, RawResponse, Response};
pub use crate::config::{Credentials, DEFAULT_USER_AGENT, RuntimeBuilder};
pub use crate::error::{
    ApiError, AuthorizationReason, AuthorizationRequired, BoxError, CallbackError, Error,
    ProviderError, ProviderErrorDetail, TokenError, TokenRequest,
};
pub use crate::flow::loopback::{Browser, LoopbackAuthorizer};
#[cfg(feature = "axum")]
pub use crate::flow::web;
pub use crate::flow::{AuthorizeAndRetry, Authorizer};
pub use crate::hooks::{
    CallContext, ErrorDecoder, OutgoingRequest, RequestHook, RetryPolicy, ThrottleClassifier,
    Throttled, standard_throttle,
};
pub use crate::http::retry_after;
pub use crate::oauth::authorize::{AuthorizationRequest, Authorized};
pub use crate::oauth::binding::BrowserAuthorization;
pub use crate::oauth::callback::CallbackParams;
pub use crate::provider::{ClientAuth, Environment, Provider};
pub use crate::runtime::Runtime;
pub use crate::scope::ScopePolicy;
pub use crate::session::{
    LastError, PendingAuthorization, Session, SessionKey, SessionState, TokenSet,
};
pub use crate::user::{ApiUser, Application, UserId, UserRef};
pub use async_trait::async_trait;
pub use futures_core::Stream;
pub use oauth2_api_macros::{endpoint, oauth2_api};
pub use secrecy::{ExposeSecret, SecretString};
