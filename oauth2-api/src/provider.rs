//! What a provider is: its environments, how a client authenticates, its conventions.

use crate::scope::{ScopePolicy, ScopeRules};

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// HTTP Basic authentication (RFC 6749 §2.3.1), the default.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (HMRC accepts only this).
    RequestBody,
}

/// One deployment of a provider's API, e.g. `sandbox` or `production`.
///
/// URLs are checked when the [`Runtime`](crate::Runtime) is built.
/// `Debug` shows each URL's origin and path: a query may carry a key.
#[derive(Clone, PartialEq, Eq)]
pub struct Environment {
    pub(crate) name: String,
    pub(crate) base_url: String,
    /// Named extra base URLs, for endpoints declared with `base_url = name`.
    pub(crate) base_urls: Vec<(String, String)>,
    pub(crate) auth_url: String,
    pub(crate) token_url: String,
    pub(crate) revoke_url: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) issuer_optional: bool,
}

impl Environment {
    /// An environment with its API base URL, authorization URL and token URL.
    pub fn new(
        name: impl Into<String>,
        base_url: impl Into<String>,
        auth_url: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            base_url: base_url.into(),
            base_urls: Vec::new(),
            auth_url: auth_url.into(),
            token_url: token_url.into(),
            revoke_url: None,
            issuer: None,
            issuer_optional: false,
        }
    }

    /// Another base URL of the API, under `name`: part of an API that lives elsewhere
    /// (Xero's `/connections` on `https://api.xero.com`, its accounting API under
    /// `/api.xro/2.0`). An endpoint picks it with `#[endpoint(base_url = name)]`, a raw
    /// request with [`RawRequest::base_url`](crate::RawRequest::base_url).
    pub fn named_base_url(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.base_urls.push((name.into(), url.into()));
        self
    }

    /// The token revocation URL (RFC 7009), when the provider has one.
    pub fn revoke_url(mut self, url: impl Into<String>) -> Self {
        self.revoke_url = Some(url.into());
        self
    }

    /// The issuer identifier; when set, a callback must carry an `iss` parameter equal to
    /// it (RFC 9207): one with another issuer or none at all is refused.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Accepts callbacks without `iss` although the issuer is declared, for a provider
    /// that announces its issuer but does not send `iss` (RFC 9207 §2.4 lets a client
    /// allow this only for such a provider). An `iss` that is sent must still match.
    /// Off by default; see also [`RuntimeBuilder::issuer_optional`](crate::RuntimeBuilder::issuer_optional).
    pub fn issuer_optional(mut self, optional: bool) -> Self {
        self.issuer_optional = optional;
        self
    }

    /// The environment's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A provider: its name (which keys its sessions), environments and conventions.
///
/// Generated clients describe their provider with one; applications rarely build one
/// by hand except for the escape hatch.
/// `Debug` shows header names, not values, and URLs without their queries.
#[derive(Clone)]
pub struct Provider {
    pub(crate) name: String,
    pub(crate) environments: Vec<Environment>,
    pub(crate) scope_separator: String,
    pub(crate) scope_rules: ScopeRules,
    pub(crate) authorization_scopes: crate::scope::ScopeSet,
    pub(crate) client_auth: ClientAuth,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) error_body: Option<crate::error_body::ErrorBodyDecoder>,
}

impl Provider {
    /// A provider with no environment yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            environments: Vec::new(),
            scope_separator: " ".to_owned(),
            scope_rules: ScopeRules::default(),
            authorization_scopes: crate::scope::ScopeSet::EMPTY,
            client_auth: ClientAuth::default(),
            headers: Vec::new(),
            error_body: None,
        }
    }

    /// Adds an environment; the first one added is the default for new users.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environments.push(environment);
        self
    }

    /// The separator between scopes in requests (RFC 6749 says a space). Answers are
    /// split on it too, and always on spaces and commas.
    pub fn scope_separator(mut self, separator: impl Into<String>) -> Self {
        self.scope_separator = separator.into();
        self
    }

    /// A scope asked for in every authorization of a person, and required by no
    /// endpoint: `offline_access` (a refresh token, at many providers), `openid`. A grant
    /// without it is still a grant of what the endpoints need.
    pub fn authorization_scope(mut self, scope: impl Into<String>) -> Self {
        let scope: crate::scope::ScopeSet = [scope.into()].iter().collect();
        self.authorization_scopes = self.authorization_scopes.union(&scope);
        self
    }

    /// Which scopes a token is taken to cover (default: those the token answer lists).
    pub fn scope_policy(mut self, policy: ScopePolicy) -> Self {
        self.scope_rules.policy = policy;
        self
    }

    /// A granted `broader` scope covers `narrower` too, as GitHub's `user` covers
    /// `read:user`: an endpoint that needs `narrower` is called with a token granted
    /// `broader`, without asking the person again.
    pub fn scope_implies(
        mut self,
        broader: impl Into<String>,
        narrower: impl Into<String>,
    ) -> Self {
        self.scope_rules
            .implies
            .push((broader.into(), narrower.into()));
        self
    }

    /// How the client authenticates at the token endpoint.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// A header sent with every API call, e.g. HMRC's versioned `Accept`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The shape of the API's error bodies: every non-success answer whose body decodes
    /// as `T` carries it, read with [`ApiError::body_as`](crate::ApiError::body_as) or
    /// [`Error::error_body`](crate::Error::error_body) (`#[oauth2_api(error_body = T)]`).
    pub fn error_body<T>(mut self) -> Self
    where
        T: serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    {
        self.error_body = Some(crate::error_body::ErrorBodyDecoder::of::<T>());
        self
    }

    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The declared environments, default first.
    pub fn environments(&self) -> &[Environment] {
        &self.environments
    }
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |url: &String| crate::redact::url_text_shown(url);
        let base_urls: Vec<(&str, String)> = (self.base_urls.iter())
            .map(|(name, url)| (&**name, shown(url)))
            .collect();
        f.debug_struct("Environment")
            .field("name", &self.name)
            .field("base_url", &shown(&self.base_url))
            .field("base_urls", &base_urls)
            .field("auth_url", &shown(&self.auth_url))
            .field("token_url", &shown(&self.token_url))
            .field("revoke_url", &self.revoke_url.as_ref().map(shown))
            .field("issuer", &self.issuer)
            .field("issuer_optional", &self.issuer_optional)
            .finish()
    }
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| &**name).collect();
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("environments", &self.environments)
            .field("scope_separator", &self.scope_separator)
            .field("scope_rules", &self.scope_rules)
            .field("authorization_scopes", &self.authorization_scopes)
            .field("client_auth", &self.client_auth)
            .field("headers", &headers)
            .field("error_body", &self.error_body)
            .finish()
    }
}
