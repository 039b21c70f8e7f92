//! The one [`Error`] type and the detail types it carries.
//!
//! No message or `Debug` output here holds a token, a client secret, an authorization
//! code or a PKCE verifier: those never reach an error value.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error_body::TypedBody;
pub(crate) use crate::redact::{excerpt, redact};
use crate::session::SessionKey;
use crate::store::StoreError;

/// A boxed cause, kept as the `source()` of an error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in `oauth2-api`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No usable token: a person must authorize at [`AuthorizationRequired::url`].
    #[error(transparent)]
    AuthorizationRequired(Box<AuthorizationRequired>),
    /// The callback carried `error=...`: the person or the provider refused.
    #[error(
        "the provider refused the authorization: {error}{}",
        describe(description)
    )]
    AuthorizationDenied {
        /// The OAuth2 error code, e.g. `access_denied`.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The session the refused authorization was for.
        session: Option<Box<SessionKey>>,
    },
    /// The callback request itself is wrong (state, parameters, issuer).
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The token endpoint refused or failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The API answered with a non-success status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The API's answer is not the JSON the endpoint declares (the decoder's error, its
    /// `source`, says where).
    #[error("the answer of `{endpoint}` does not decode as declared")]
    Decode {
        /// The endpoint called.
        endpoint: String,
        /// The start of the body that failed to decode.
        body: String,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The request did not reach the API or its answer was cut (connection, timeout).
    #[error("the request to `{endpoint}` failed: {message}")]
    Transport {
        /// The endpoint called.
        endpoint: String,
        /// What failed, in a sentence.
        message: String,
        /// The HTTP client's error.
        #[source]
        source: BoxError,
    },
    /// The API's answer is longer than
    /// [`RuntimeBuilder::max_response_bytes`](crate::RuntimeBuilder::max_response_bytes);
    /// reading stopped at the limit.
    #[error("the answer of `{endpoint}` is longer than the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The endpoint called.
        endpoint: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// An endpoint argument cannot be sent as declared (a struct as a query value, an
    /// empty path segment, a header value with a line break), or a header added to a
    /// request (by [`RawRequest::header`](crate::RawRequest::header) or a request hook)
    /// cannot be one: refused before anything is sent, never showing the value.
    #[error("argument `{argument}` of `{endpoint}` {message}")]
    InvalidArgument {
        /// The endpoint called.
        endpoint: String,
        /// The argument's name (`header <name>` for a header added to the request).
        argument: String,
        /// What is wrong with it.
        message: String,
    },
    /// An absolute URL given to the escape hatch (or found in a `Link` header) that is
    /// not on the origin of the user's environment: the token is sent only there.
    #[error(
        "a request to `{origin}` is refused: the token goes only to the environment's origin `{expected}`; give a path, or a URL on `{expected}`"
    )]
    ForeignUrl {
        /// The request, as `METHOD url` (not in the message: a URL's query may carry
        /// what should not be logged).
        endpoint: String,
        /// The scheme, host and port of the URL given (never its path or query).
        origin: String,
        /// The environment's origin.
        expected: String,
    },
    /// A paginated endpoint's `Link` header named a next page that is not a URL, even
    /// relative to the page that sent it: the listing cannot go on.
    #[error("`{endpoint}` named a next page that is not a URL")]
    BadLink {
        /// The endpoint paged.
        endpoint: String,
        /// Why the target is not a URL.
        #[source]
        source: url::ParseError,
    },
    /// A paginated endpoint pointed back to a page it had already sent (a repeated
    /// cursor, a `Link` to the same page, page numbers it ignores): the listing ends here
    /// rather than forever.
    #[error("`{endpoint}` pointed back to a page it had already sent: the listing stops")]
    RepeatedPage {
        /// The endpoint paged.
        endpoint: String,
    },
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An environment name that the provider does not declare.
    #[error("unknown environment `{name}`; the provider declares: {known}")]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The declared names, comma separated.
        known: String,
    },
    /// A return target that is not a path of this application (`//evil.example`, a
    /// scheme, control characters, backslashes, or encoded forms of those): refused when
    /// the authorization is begun, so nothing is stored and no `Location` ever carries it.
    #[error(
        "the return target is refused: {reason}; give a path of this application, such as `/vat?year=2017`"
    )]
    UnsafeReturnTo {
        /// Why, in a few words (the target itself is not repeated).
        reason: &'static str,
    },
    /// The configuration is unusable (a bad URL, missing credentials).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A [`RequestHook`](crate::RequestHook) stopped the call before it was sent: what
    /// the call's context holds cannot make the request the provider requires (HMRC's
    /// fraud-prevention headers without a client, or with a value HMRC refuses).
    #[error("the request was not sent: {reason}")]
    RequestRefused {
        /// What the hook needs, for a person to fix.
        reason: String,
    },
    /// An operating-system resource failed: the browser could not be started, the
    /// callback port could not be listened on.
    #[error("{action}")]
    Io {
        /// What was being done, e.g. "cannot listen on 127.0.0.1:8765 for the callback".
        action: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built (its TLS backend failed to start).
    #[error("the HTTP client could not be built")]
    HttpClient(#[source] BoxError),
    /// A rule the runtime relies on was broken: a bug, please report it.
    #[error("internal error (a bug in oauth2-api): {0}")]
    Internal(&'static str),
    /// A flow waited longer than allowed (e.g. for a person to authorize).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// A flow was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

impl Error {
    /// The authorization a person must give, when this is [`Error::AuthorizationRequired`].
    pub fn authorization_required(&self) -> Option<&AuthorizationRequired> {
        match self {
            Error::AuthorizationRequired(a) => Some(a),
            _ => None,
        }
    }

    /// The provider's error code: HMRC's `code` (`INVALID_DATE_RANGE`), an OAuth2 `error`
    /// (`invalid_grant`, `access_denied`).
    pub fn provider_code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.provider.as_ref().map(|p| p.code.as_str()),
            Error::Token(e) => e.code(),
            Error::AuthorizationDenied { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The API's error body decoded as its declared `error_body` type `T`, when this is
    /// an [`Error::Api`] whose body has that shape; see [`ApiError::body_as`].
    pub fn error_body<T: std::any::Any>(&self) -> Option<&T> {
        match self {
            Error::Api(e) => e.body_as(),
            _ => None,
        }
    }

    /// The HTTP status the API or the token endpoint answered, when that is the error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Token(TokenError::Status { status, .. }) => Some(*status),
            _ => None,
        }
    }
}

/// Why a session has no usable token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizationReason {
    /// The user never authorized (or was disconnected).
    NotAuthorized,
    /// The granted scopes do not cover the endpoint's.
    MissingScopes,
    /// The token expired and there is no refresh token.
    Expired,
    /// The provider refused the refresh token (`invalid_grant`): revoked or expired grant.
    RefreshRejected,
    /// The API refused a freshly refreshed token.
    Unauthorized,
    /// The API answered that the token lacks a scope (`WWW-Authenticate: Bearer
    /// error="insufficient_scope"`): the grant is kept for the endpoints it covers.
    InsufficientScope,
    /// The provider has just granted fewer scopes than asked, and the call still needs
    /// some of them: asking the person again would get the same answer. Reported by
    /// [`Runtime::authorize_and_retry`](crate::Runtime::authorize_and_retry) instead of
    /// authorizing a second time; a scope policy or a declared implication may be what
    /// is missing (see [`ScopePolicy`](crate::ScopePolicy)).
    ScopesNotGranted,
}

impl fmt::Display for AuthorizationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAuthorized => "not authorized yet",
            Self::MissingScopes => "the granted scopes do not cover the endpoint",
            Self::Expired => "the token expired and cannot be refreshed",
            Self::RefreshRejected => "the provider refused the refresh token",
            Self::Unauthorized => "the API refused the token",
            Self::InsufficientScope => "the API needs a scope the token was not granted",
            Self::ScopesNotGranted => "the provider has just granted fewer scopes than asked",
        })
    }
}

/// A person must authorize: send them to [`url`](Self::url), then complete the callback.
#[derive(Clone, Debug)]
pub struct AuthorizationRequired {
    /// The provider's authorization URL, with `state` and the PKCE challenge.
    pub url: Url,
    /// The `state` of the pending authorization, to wait for its completion.
    pub state: String,
    /// The session to authorize.
    pub session: SessionKey,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Why.
    pub reason: AuthorizationReason,
}

impl fmt::Display for AuthorizationRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "authorization required for {} ({}): a person must authorize at the provider",
            self.session, self.reason
        )
    }
}

impl std::error::Error for AuthorizationRequired {}

/// A callback that cannot complete an authorization. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The callback has no `state`.
    #[error("the callback has no `state` parameter")]
    MissingState,
    /// The callback has neither `code` nor `error`.
    #[error("the callback has no `code` parameter")]
    MissingCode,
    /// A parameter appears more than once.
    #[error("the callback repeats the `{0}` parameter")]
    DuplicateParameter(String),
    /// The query string cannot be read (bad percent-encoding, not UTF-8, too long).
    #[error("the callback query is malformed: {0}")]
    Malformed(String),
    /// No authorization was begun with this state.
    #[error("unknown state: no authorization was begun with it")]
    UnknownState,
    /// The state was used by an earlier callback (a replay).
    #[error("the state was already used")]
    StateAlreadyUsed,
    /// The state is past its expiry.
    #[error("the state expired; begin the authorization again")]
    StateExpired,
    /// The state belongs to another provider, environment or user.
    #[error("the state belongs to another {0}")]
    StateMismatch(&'static str),
    /// The browser that brought the callback is not the one the authorization was begun
    /// in: its binding cookie is missing or different (RFC 9700 §4.7.1). The state is
    /// not used up, so the right browser can still complete it.
    #[error(
        "this authorization was not begun in this browser; begin it again from the application"
    )]
    BrowserMismatch,
    /// The environment declares an issuer but the callback has no `iss` (RFC 9207 §2.4).
    #[error("the callback has no `iss` parameter, but the provider declares its issuer")]
    MissingIssuer,
    /// The `iss` parameter names another issuer (RFC 9207: a mix-up attack).
    #[error("the callback's issuer `{got}` is not the provider's `{expected}`")]
    IssuerMismatch {
        /// The environment's issuer.
        expected: String,
        /// The `iss` received.
        got: String,
    },
}

/// What was asked of the authorization server: one of the grants, or a revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRequest {
    /// The authorization-code grant (with PKCE).
    AuthorizationCode,
    /// The refresh-token grant.
    RefreshToken,
    /// The client-credentials grant.
    ClientCredentials,
    /// A token revocation (RFC 7009), not a grant.
    Revocation,
}

impl TokenRequest {
    /// The endpoint it goes to: the token endpoint, or the revocation endpoint.
    pub fn endpoint(&self) -> &'static str {
        match self {
            Self::Revocation => "revocation endpoint",
            _ => "token endpoint",
        }
    }
}

impl fmt::Display for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AuthorizationCode => "authorization_code grant",
            Self::RefreshToken => "refresh_token grant",
            Self::ClientCredentials => "client_credentials grant",
            Self::Revocation => "revocation",
        })
    }
}

/// A failed request to the token (or revocation) endpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// An RFC 6749 error answer (`invalid_grant`, `invalid_client`, ...).
    #[error(
        "the {} refused the {request}: {code}{}",
        request.endpoint(),
        describe(description)
    )]
    Rejected {
        /// What was asked.
        request: TokenRequest,
        /// The `error` code.
        code: String,
        /// The `error_description`.
        description: Option<String>,
    },
    /// An HTTP status that carries no RFC 6749 error (500, 503, 429, ...).
    #[error("the {} answered HTTP {status} to the {request}", request.endpoint())]
    Status {
        /// What was asked.
        request: TokenRequest,
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` the server sent, in seconds.
        retry_after: Option<Duration>,
        /// The start of the body, with every secret the request carried (refresh token,
        /// code, verifier, client secret) replaced by `[redacted]`.
        body: String,
    },
    /// A success answer that is not a valid token response.
    #[error("the {}'s answer to the {request} is malformed: {detail}", request.endpoint())]
    Malformed {
        /// What was asked.
        request: TokenRequest,
        /// Where and why decoding failed; never the body (it may hold a token).
        detail: String,
    },
    /// The answer is longer than the 64 KiB any token answer needs; reading stopped there.
    #[error("the {}'s answer to the {request} is longer than {limit} bytes", request.endpoint())]
    TooLarge {
        /// What was asked.
        request: TokenRequest,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request failed before an answer came (connection refused, timeout).
    #[error("the {request} request did not reach the {}: {message}", request.endpoint())]
    Transport {
        /// What was asked.
        request: TokenRequest,
        /// What failed, in a sentence.
        message: String,
        /// The HTTP client's error.
        #[source]
        source: BoxError,
    },
}

impl TokenError {
    /// The RFC 6749 error code, for [`TokenError::Rejected`].
    pub fn code(&self) -> Option<&str> {
        match self {
            TokenError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// What was asked when it failed.
    pub fn request(&self) -> TokenRequest {
        match self {
            TokenError::Rejected { request, .. }
            | TokenError::Status { request, .. }
            | TokenError::Malformed { request, .. }
            | TokenError::TooLarge { request, .. }
            | TokenError::Transport { request, .. } => *request,
        }
    }
}

/// A non-success answer from the API.
#[derive(Debug, thiserror::Error)]
#[error("`{endpoint}` answered HTTP {status}{}", self.describe_provider())]
pub struct ApiError {
    /// The endpoint called.
    pub endpoint: String,
    /// The HTTP status.
    pub status: u16,
    /// The provider's error body, decoded when it has a known shape.
    pub provider: Option<ProviderError>,
    /// The start of the raw body.
    pub body: String,
    /// The `Retry-After` header, when the API sent one.
    pub retry_after: Option<Duration>,
    /// The body decoded as the API's `error_body` type, when it declares one and the
    /// body has its shape; read it with [`ApiError::body_as`].
    pub(crate) typed: Option<Arc<dyn TypedBody>>,
}

impl ApiError {
    /// The body decoded as the API's declared error type (`#[oauth2_api(error_body =
    /// XeroError)]`, or [`Provider::error_body`](crate::Provider::error_body)); `None`
    /// when the API declares another type or none, or the body does not have its shape.
    pub fn body_as<T: std::any::Any>(&self) -> Option<&T> {
        self.typed.as_deref()?.as_any().downcast_ref()
    }

    fn describe_provider(&self) -> String {
        match &self.provider {
            Some(p) => match &p.message {
                Some(m) => format!(": {}: {m}", p.code),
                None => format!(": {}", p.code),
            },
            None => String::new(),
        }
    }
}

/// A provider's error body: HMRC's `{"code","message","errors"}` or RFC 6749's
/// `{"error","error_description"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderError {
    /// The error code.
    pub code: String,
    /// The message.
    pub message: Option<String>,
    /// Detailed errors, when the provider lists several.
    pub errors: Vec<ProviderErrorDetail>,
}

/// One of the errors a [`ProviderError`] lists.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProviderErrorDetail {
    /// The error code.
    pub code: String,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
    /// The JSON path of the offending field.
    #[serde(default)]
    pub path: Option<String>,
}

impl ProviderErrorDetail {
    /// A detail with its code, for [`ErrorDecoder`](crate::ErrorDecoder)s.
    pub fn new(code: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: None,
            path: None,
        }
    }

    /// With its message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// With the JSON path of the offending field.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
}

impl ProviderError {
    /// An error with a code and a message, for [`ErrorDecoder`](crate::ErrorDecoder)s.
    pub fn new(code: impl Into<String>, message: Option<String>) -> Self {
        Self {
            code: code.into(),
            message,
            errors: Vec::new(),
        }
    }

    /// Adds the detailed errors.
    pub fn with_errors(mut self, errors: Vec<ProviderErrorDetail>) -> Self {
        self.errors = errors;
        self
    }

    /// Decodes the common error body shapes; `None` for anything else.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Shape {
            code: Option<String>,
            message: Option<String>,
            error: Option<String>,
            error_description: Option<String>,
            #[serde(default)]
            errors: Vec<ProviderErrorDetail>,
        }
        let shape: Shape = serde_json::from_slice(body).ok()?;
        let (code, message) = match (shape.code, shape.error) {
            (Some(code), _) => (code, shape.message),
            (None, Some(error)) => (error, shape.error_description.or(shape.message)),
            (None, None) => return None,
        };
        Some(Self {
            code,
            message,
            errors: shape.errors,
        })
    }
}
