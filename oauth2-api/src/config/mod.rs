//! Building a [`Runtime`]: credentials, URL overrides, the store, timings.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::call::ApiClient;
use crate::error::Error;
use crate::hooks::{
    ErrorDecoder, Extensions, RateLimiter, RequestHook, RetryPolicy, ThrottleClassifier,
};
use crate::oauth::TokenSource;
use crate::provider::{ClientAuth, Environment, Provider};
use crate::runtime::{Inner, Runtime};
use crate::store::SessionStore;

mod credentials;
mod resolved;

pub use credentials::Credentials;
pub(crate) use resolved::ResolvedEnvironment;
pub(crate) use resolved::user_agent_header;
use resolved::{issuer_optional_of, parse_url, rebase};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum UrlKind {
    Base,
    Auth,
    Token,
    Revoke,
}

/// The provider as a runtime uses it: its name, its environments resolved (URLs checked,
/// credentials attached), how it wants scopes and client credentials sent, its headers,
/// and the runtime's timings and limits.
pub(crate) struct ProviderConfig {
    provider: Arc<str>,
    environments: Vec<ResolvedEnvironment>,
    default_environment: usize,
    scope_separator: String,
    scope_rules: crate::scope::ScopeRules,
    /// Asked for in every authorization of a person; see [`Provider::authorization_scope`].
    authorization_scopes: crate::scope::ScopeSet,
    client_auth: ClientAuth,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    error_body: Option<crate::error_body::ErrorBodyDecoder>,
    settings: Settings,
}

/// Read by every layer; written only here, when the builder resolves the provider.
impl ProviderConfig {
    pub(crate) fn provider(&self) -> &Arc<str> {
        &self.provider
    }

    pub(crate) fn environments(&self) -> &[ResolvedEnvironment] {
        &self.environments
    }

    pub(crate) fn default_environment(&self) -> usize {
        self.default_environment
    }

    pub(crate) fn scope_separator(&self) -> &str {
        &self.scope_separator
    }

    pub(crate) fn scope_rules(&self) -> &crate::scope::ScopeRules {
        &self.scope_rules
    }

    pub(crate) fn authorization_scopes(&self) -> &crate::scope::ScopeSet {
        &self.authorization_scopes
    }

    pub(crate) fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }

    pub(crate) fn headers(&self) -> &[(http::HeaderName, http::HeaderValue)] {
        &self.headers
    }

    pub(crate) fn error_body(&self) -> Option<&crate::error_body::ErrorBodyDecoder> {
        self.error_body.as_ref()
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }
}

fn parse_headers(
    headers: &[(String, String)],
) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, Error> {
    headers
        .iter()
        .map(|(n, v)| {
            let name = http::HeaderName::try_from(n.as_str())
                .map_err(|_| Error::Config(format!("invalid header name `{n}`")))?;
            let value = http::HeaderValue::try_from(v.as_str())
                .map_err(|_| Error::Config(format!("invalid value for header `{n}`")))?;
            Ok((name, value))
        })
        .collect()
}

/// Timings and limits, with defaults that suit most providers.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) expiry_margin: Duration,
    pub(crate) state_ttl: Duration,
    pub(crate) lease_ttl: Duration,
    pub(crate) token_timeout: Duration,
    pub(crate) api_timeout: Duration,
    pub(crate) cache_ttl: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) user_agent: String,
}

/// The `User-Agent` of every request unless the builder says otherwise: some providers
/// (GitHub) refuse requests without one.
pub const DEFAULT_USER_AGENT: &str =
    concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

impl Default for Settings {
    fn default() -> Self {
        Self {
            expiry_margin: Duration::from_secs(60),
            state_ttl: Duration::from_secs(600),
            lease_ttl: Duration::from_secs(30),
            token_timeout: Duration::from_secs(30),
            api_timeout: Duration::from_secs(60),
            cache_ttl: Duration::from_secs(1),
            max_response_bytes: 16 * 1024 * 1024,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

/// Builds a [`Runtime`]; start with [`Runtime::builder`].
#[must_use]
pub struct RuntimeBuilder {
    provider: Provider,
    default_credentials: Option<Credentials>,
    credentials: HashMap<String, Credentials>,
    default_application_credentials: Option<Credentials>,
    application_credentials: HashMap<String, Credentials>,
    overrides: Vec<(String, UrlKind, String)>,
    /// `(environment, name, url)` of [`RuntimeBuilder::named_base_url`].
    named_overrides: Vec<(String, String, String)>,
    all_urls_at: Option<String>,
    issuer_optional: Vec<(String, bool)>,
    store: Option<Arc<dyn SessionStore>>,
    default_environment: Option<String>,
    allow_insecure_http: bool,
    settings: Settings,
    extensions: Extensions,
    http_client: Option<reqwest::Client>,
}

impl RuntimeBuilder {
    /// The URL overrides as `Debug` shows them: without a query, which may carry a key.
    fn shown_overrides(&self) -> Vec<(&str, &UrlKind, String)> {
        let named = (self.named_overrides.iter())
            .map(|(env, _, url)| (&**env, &UrlKind::Base, url.as_str()));
        let all = (self.overrides.iter()).map(|(env, kind, url)| (&**env, kind, url.as_str()));
        all.chain(named)
            .map(|(env, kind, url)| (env, kind, crate::redact::url_text_shown(url)))
            .collect()
    }
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("provider", &self.provider)
            .field("default_credentials", &self.default_credentials)
            .field("credentials", &self.credentials)
            .field("application_credentials", &self.application_credentials)
            .field("overrides", &self.shown_overrides())
            .field("default_environment", &self.default_environment)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    pub(crate) fn new(provider: Provider) -> Self {
        Self {
            provider,
            default_credentials: None,
            credentials: HashMap::new(),
            default_application_credentials: None,
            application_credentials: HashMap::new(),
            overrides: Vec::new(),
            named_overrides: Vec::new(),
            all_urls_at: None,
            issuer_optional: Vec::new(),
            store: None,
            default_environment: None,
            allow_insecure_http: false,
            settings: Settings::default(),
            extensions: Extensions::default(),
            http_client: None,
        }
    }

    /// The client registration used in every environment without its own.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.default_credentials = Some(credentials);
        self
    }

    /// The client registration for one environment (sandbox and production usually differ).
    pub fn credentials_for(
        mut self,
        environment: impl AsRef<str>,
        credentials: Credentials,
    ) -> Self {
        self.credentials
            .insert(environment.as_ref().to_owned(), credentials);
        self
    }

    /// The client registration of the application itself (`user = Application`, the
    /// client-credentials grant) in every environment without its own, for a provider
    /// that allows one grant type per client. Without it, the application uses the
    /// same client as people.
    pub fn application_credentials(mut self, credentials: Credentials) -> Self {
        self.default_application_credentials = Some(credentials);
        self
    }

    /// The application's own client registration for one environment.
    pub fn application_credentials_for(
        mut self,
        environment: impl AsRef<str>,
        credentials: Credentials,
    ) -> Self {
        self.application_credentials
            .insert(environment.as_ref().to_owned(), credentials);
        self
    }

    /// Where sessions are kept. Required.
    pub fn store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where sessions are kept, shared with other runtimes.
    pub fn shared_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The environment of users who have not chosen one (default: the first declared).
    pub fn default_environment(mut self, environment: impl AsRef<str>) -> Self {
        self.default_environment = Some(environment.as_ref().to_owned());
        self
    }

    /// Replaces an environment's API base URL (tests point it at loopback).
    pub fn base_url(self, environment: impl AsRef<str>, url: impl Into<String>) -> Self {
        self.url_override(environment, UrlKind::Base, url)
    }

    /// Replaces (or adds) an environment's base URL named `name` (see
    /// [`Environment::named_base_url`](crate::Environment::named_base_url)).
    pub fn named_base_url(
        mut self,
        environment: impl AsRef<str>,
        name: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        let environment = environment.as_ref().to_owned();
        self.named_overrides
            .push((environment, name.into(), url.into()));
        self
    }

    /// Replaces an environment's authorization URL.
    pub fn auth_url(self, environment: impl AsRef<str>, url: impl Into<String>) -> Self {
        self.url_override(environment, UrlKind::Auth, url)
    }

    /// Replaces an environment's token URL.
    pub fn token_url(self, environment: impl AsRef<str>, url: impl Into<String>) -> Self {
        self.url_override(environment, UrlKind::Token, url)
    }

    /// Replaces (or adds) an environment's revocation URL.
    pub fn revoke_url(self, environment: impl AsRef<str>, url: impl Into<String>) -> Self {
        self.url_override(environment, UrlKind::Revoke, url)
    }

    /// [`Environment::issuer_optional`](crate::Environment::issuer_optional) for an
    /// environment declared elsewhere (by the `#[oauth2_api]` attribute): whether its
    /// callbacks may come without `iss` although it declares an issuer.
    pub fn issuer_optional(mut self, environment: impl AsRef<str>, optional: bool) -> Self {
        self.issuer_optional
            .push((environment.as_ref().to_owned(), optional));
        self
    }

    fn url_override(
        mut self,
        environment: impl AsRef<str>,
        kind: UrlKind,
        url: impl Into<String>,
    ) -> Self {
        self.overrides
            .push((environment.as_ref().to_owned(), kind, url.into()));
        self
    }

    /// Points every URL of every environment (API base URLs, authorization, token and
    /// revocation URLs) at `origin`, keeping each URL's path: a test server that serves
    /// the provider's paths, e.g. the `sandbox` (feature `sandbox`) with its paths set to
    /// the declaration's. A URL given for one environment (`base_url(env, ..)` and the
    /// like) wins over this, whatever the order of the calls.
    pub fn all_urls_at(mut self, origin: impl Into<String>) -> Self {
        self.all_urls_at = Some(origin.into());
        self
    }

    /// Accepts plain `http://` URLs on hosts other than loopback. Off by default: tokens
    /// and codes must not cross a network in clear (RFC 9700 §2.6).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// How long before its expiry an access token is refreshed (clock skew; default 60 s).
    /// A token issued for less than twice this is refreshed at half its lifetime instead,
    /// so a short-lived token is still used before it is renewed.
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.settings.expiry_margin = margin;
        self
    }

    /// How long a begun authorization may wait for its callback (default 10 minutes).
    pub fn state_ttl(mut self, ttl: Duration) -> Self {
        self.settings.state_ttl = ttl;
        self
    }

    /// How long a refresh lease lasts when its holder dies (default 30 s). A live holder
    /// renews its lease while its token request runs, however long that takes.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.settings.lease_ttl = ttl;
        self
    }

    /// Timeout of each token-endpoint request (default 30 s).
    pub fn token_timeout(mut self, timeout: Duration) -> Self {
        self.settings.token_timeout = timeout;
        self
    }

    /// Timeout of each API request (default 60 s).
    pub fn api_timeout(mut self, timeout: Duration) -> Self {
        self.settings.api_timeout = timeout;
        self
    }

    /// The largest API answer body read, in bytes (default 16 MiB). A longer answer fails
    /// with [`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge) as soon as the
    /// limit is passed, without reading the rest. Token-endpoint answers are capped at
    /// 64 KiB whatever this says.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.settings.max_response_bytes = limit;
        self
    }

    /// How long a call may reuse the environment choice and the usable token it read
    /// from the store, instead of reading them again (default 1 s; zero reads every time).
    ///
    /// Writes made through this runtime, or through [`Runtime::store`], are seen at once.
    /// A change made by another process sharing the store (a disconnect, a newly chosen
    /// environment) is seen once a call reads it again after this time (calls made while
    /// it reads use what was read before); a token the API refuses is not sent again by
    /// this runtime, nor one past its renewal time. `Duration::MAX` remembers until a write (for a
    /// store no other process writes).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.settings.cache_ttl = ttl;
        self
    }

    /// The `User-Agent` of API and token requests (default [`DEFAULT_USER_AGENT`],
    /// `oauth2-api/<version>`); name your application, as some providers ask.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.settings.user_agent = user_agent.into();
        self
    }

    /// The HTTP client of API calls, built by the application: proxies, extra root
    /// certificates, client certificates (mutual TLS), its own connection pool.
    ///
    /// This is the one public signature with a `reqwest` type: `client` must come from
    /// the `reqwest` version this crate uses (0.12), so upgrading one means upgrading
    /// both. Its own settings apply, not the runtime's: give it a timeout
    /// ([`api_timeout`](Self::api_timeout) is not applied) and a user agent
    /// ([`user_agent`](Self::user_agent) is not applied to API calls). Token requests
    /// keep the runtime's own client, which never follows a redirect (RFC 9700 §4.11).
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Runs `hook` on every API request before it is sent (in the order added).
    pub fn request_hook(mut self, hook: impl RequestHook) -> Self {
        self.extensions.request_hooks.push(Arc::new(hook));
        self
    }

    /// Decodes error bodies of a shape the built-in decoding does not know.
    pub fn error_decoder(mut self, decoder: impl ErrorDecoder) -> Self {
        self.extensions.error_decoder = Some(Arc::new(decoder));
        self
    }

    /// How throttled calls (429, 503 with `Retry-After`, and what a
    /// [`throttle_classifier`](Self::throttle_classifier) says) are retried; see [`RetryPolicy`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.extensions.retry = policy;
        self
    }

    /// Which answers are throttling besides the built-in 429 and 503 with `Retry-After`
    /// (GitHub's 403 with `x-ratelimit-remaining: 0`); see [`ThrottleClassifier`].
    pub fn throttle_classifier(mut self, classifier: impl ThrottleClassifier) -> Self {
        self.extensions.throttle = Some(Arc::new(classifier));
        self
    }

    /// At most `requests` API calls per `window` for the whole runtime, every user
    /// together (HMRC allows 3 per second per application); calls over it wait.
    pub fn rate_limit(mut self, requests: usize, window: Duration) -> Self {
        self.extensions.rate_limit = Some(RateLimiter::new(requests, window));
        self
    }

    /// Checks the configuration and builds the runtime.
    pub fn build(self) -> Result<Runtime, Error> {
        let store = self
            .store
            .clone()
            .ok_or_else(|| Error::Config("no session store: call `.store(...)`".to_owned()))?;
        let config = self.provider_config()?;
        user_agent_header(&config.settings.user_agent)?;
        let tokens = TokenSource::new(store, &config.settings)?;
        let api = ApiClient::new(&config.settings, self.extensions, self.http_client)?;
        Runtime::from_inner(Inner {
            config,
            tokens,
            api,
        })
    }

    /// The provider as this builder configures it: environments with their URLs and
    /// credentials resolved and checked, headers parsed.
    fn provider_config(&self) -> Result<ProviderConfig, Error> {
        if self.provider.environments.is_empty() {
            return Err(Error::Config(format!(
                "provider `{}` declares no environment",
                self.provider.name
            )));
        }
        self.check_environment_names()?;
        let environments = self
            .provider
            .environments
            .iter()
            .map(|env| self.resolve(env))
            .collect::<Result<Vec<_>, Error>>()?;
        let default_environment = match &self.default_environment {
            Some(name) => environments
                .iter()
                .position(|e| *e.name == **name)
                .unwrap_or(0),
            None => 0,
        };
        Ok(ProviderConfig {
            provider: self.provider.name.as_str().into(),
            environments,
            default_environment,
            scope_separator: self.provider.scope_separator.clone(),
            scope_rules: self.provider.scope_rules.clone(),
            authorization_scopes: self.provider.authorization_scopes.clone(),
            client_auth: self.provider.client_auth,
            headers: parse_headers(&self.provider.headers)?,
            error_body: self.provider.error_body,
            settings: self.settings.clone(),
        })
    }

    /// Every environment named in this builder is one the provider declares.
    fn check_environment_names(&self) -> Result<(), Error> {
        let known = |name: &str| self.provider.environments.iter().any(|e| e.name == name);
        let named = self
            .credentials
            .keys()
            .chain(self.application_credentials.keys())
            .chain(self.overrides.iter().map(|(n, _, _)| n))
            .chain(self.named_overrides.iter().map(|(n, _, _)| n))
            .chain(self.issuer_optional.iter().map(|(n, _)| n))
            .chain(self.default_environment.iter());
        for name in named {
            if !known(name) {
                return Err(Error::UnknownEnvironment {
                    name: name.clone(),
                    known: self
                        .provider
                        .environments
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(())
    }

    /// `env` with this builder's URL overrides and credentials, its URLs checked.
    fn resolve(&self, env: &Environment) -> Result<ResolvedEnvironment, Error> {
        let check =
            |what: &str, raw: &str| parse_url(what, &env.name, raw, self.allow_insecure_http);
        let mut env = env.clone();
        if let Some(origin) = &self.all_urls_at {
            env.base_url = rebase(&env.base_url, origin);
            for (_, url) in &mut env.base_urls {
                *url = rebase(url, origin);
            }
            env.auth_url = rebase(&env.auth_url, origin);
            env.token_url = rebase(&env.token_url, origin);
            env.revoke_url = env.revoke_url.as_deref().map(|u| rebase(u, origin));
        }
        for (name, kind, url) in &self.overrides {
            if *name == env.name {
                match kind {
                    UrlKind::Base => env.base_url = url.clone(),
                    UrlKind::Auth => env.auth_url = url.clone(),
                    UrlKind::Token => env.token_url = url.clone(),
                    UrlKind::Revoke => env.revoke_url = Some(url.clone()),
                }
            }
        }
        for (_, name, url) in self
            .named_overrides
            .iter()
            .filter(|(e, _, _)| *e == env.name)
        {
            match env.base_urls.iter_mut().find(|(n, _)| n == name) {
                Some((_, known)) => known.clone_from(url),
                None => env.base_urls.push((name.clone(), url.clone())),
            }
        }
        let credentials = self
            .credentials
            .get(&env.name)
            .or(self.default_credentials.as_ref())
            .cloned();
        let redirect_url = match credentials.as_ref().and_then(|c| c.redirect_url.as_deref()) {
            Some(raw) => Some(check("redirect URL", raw)?),
            None => None,
        };
        Ok(ResolvedEnvironment {
            base_url: check("base URL", &env.base_url)?,
            base_urls: env
                .base_urls
                .iter()
                .map(|(name, raw)| Ok((name.clone(), check(&format!("base URL `{name}`"), raw)?)))
                .collect::<Result<_, Error>>()?,
            auth_url: check("authorization URL", &env.auth_url)?,
            token_url: check("token URL", &env.token_url)?,
            revoke_url: match &env.revoke_url {
                Some(raw) => Some(check("revocation URL", raw)?),
                None => None,
            },
            issuer: env.issuer.clone(),
            issuer_optional: issuer_optional_of(&self.issuer_optional, &env),
            credentials,
            application_credentials: self
                .application_credentials
                .get(&env.name)
                .or(self.default_application_credentials.as_ref())
                .cloned(),
            redirect_url,
            name: env.name.into(),
        })
    }
}
