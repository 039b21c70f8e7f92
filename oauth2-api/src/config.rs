//! Building a [`Runtime`]: credentials, URL overrides, the store, timings.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::call::ApiClient;
use crate::error::Error;
use crate::hooks::{ErrorDecoder, Extensions, RateLimiter, RequestHook, RetryPolicy};
use crate::oauth::TokenSource;
use crate::provider::{ClientAuth, Environment, Provider};
use crate::runtime::{Inner, Runtime};
use crate::store::SessionStore;

/// The application's registration at the provider: client id, secret, redirect URL.
///
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<SecretString>,
    pub(crate) redirect_url: Option<String>,
}

impl Credentials {
    /// Credentials of a client registered under `client_id`.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            redirect_url: None,
        }
    }

    /// The client secret (confidential clients).
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(SecretString::from(secret.into()));
        self
    }

    /// Where the provider sends the person back with the code, exactly as registered.
    pub fn redirect_url(mut self, url: impl Into<String>) -> Self {
        self.redirect_url = Some(url.into());
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_url", &self.redirect_url)
            .finish()
    }
}

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
    pub(crate) provider: Arc<str>,
    pub(crate) environments: Vec<ResolvedEnvironment>,
    pub(crate) default_environment: usize,
    pub(crate) scope_separator: String,
    pub(crate) client_auth: ClientAuth,
    pub(crate) headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub(crate) error_body: Option<crate::error_body::ErrorBodyDecoder>,
    pub(crate) settings: Settings,
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
}

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
        }
    }
}

/// Builds a [`Runtime`]; start with [`Runtime::builder`].
#[must_use]
pub struct RuntimeBuilder {
    provider: Provider,
    default_credentials: Option<Credentials>,
    credentials: HashMap<String, Credentials>,
    overrides: Vec<(String, UrlKind, String)>,
    issuer_optional: Vec<(String, bool)>,
    store: Option<Arc<dyn SessionStore>>,
    default_environment: Option<String>,
    allow_insecure_http: bool,
    settings: Settings,
    extensions: Extensions,
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("provider", &self.provider)
            .field("default_credentials", &self.default_credentials)
            .field("credentials", &self.credentials)
            .field("overrides", &self.overrides)
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
            overrides: Vec::new(),
            issuer_optional: Vec::new(),
            store: None,
            default_environment: None,
            allow_insecure_http: false,
            settings: Settings::default(),
            extensions: Extensions::default(),
        }
    }

    /// The client registration used in every environment without its own.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.default_credentials = Some(credentials);
        self
    }

    /// The client registration for one environment (sandbox and production usually differ).
    pub fn credentials_for(mut self, environment: &str, credentials: Credentials) -> Self {
        self.credentials.insert(environment.to_owned(), credentials);
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
    pub fn default_environment(mut self, environment: &str) -> Self {
        self.default_environment = Some(environment.to_owned());
        self
    }

    /// Replaces an environment's API base URL (tests point it at loopback).
    pub fn base_url(self, environment: &str, url: impl Into<String>) -> Self {
        self.url_override(environment, UrlKind::Base, url)
    }

    /// Replaces an environment's authorization URL.
    pub fn auth_url(self, environment: &str, url: impl Into<String>) -> Self {
        self.url_override(environment, UrlKind::Auth, url)
    }

    /// Replaces an environment's token URL.
    pub fn token_url(self, environment: &str, url: impl Into<String>) -> Self {
        self.url_override(environment, UrlKind::Token, url)
    }

    /// Replaces (or adds) an environment's revocation URL.
    pub fn revoke_url(self, environment: &str, url: impl Into<String>) -> Self {
        self.url_override(environment, UrlKind::Revoke, url)
    }

    /// [`Environment::issuer_optional`](crate::Environment::issuer_optional) for an
    /// environment declared elsewhere (by the `#[oauth2_api]` attribute): whether its
    /// callbacks may come without `iss` although it declares an issuer.
    pub fn issuer_optional(mut self, environment: &str, optional: bool) -> Self {
        self.issuer_optional
            .push((environment.to_owned(), optional));
        self
    }

    fn url_override(mut self, environment: &str, kind: UrlKind, url: impl Into<String>) -> Self {
        self.overrides
            .push((environment.to_owned(), kind, url.into()));
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
    /// environment) is seen within this time; a token the API refuses is never reused.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.settings.cache_ttl = ttl;
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

    /// How throttled calls (429, 503 with `Retry-After`) are retried; see [`RetryPolicy`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.extensions.retry = policy;
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
        let tokens = TokenSource::new(store, &config.settings)?;
        let api = ApiClient::new(&config.settings, self.extensions)?;
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
            .chain(self.overrides.iter().map(|(n, _, _)| n))
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
            auth_url: check("authorization URL", &env.auth_url)?,
            token_url: check("token URL", &env.token_url)?,
            revoke_url: match &env.revoke_url {
                Some(raw) => Some(check("revocation URL", raw)?),
                None => None,
            },
            issuer: env.issuer.clone(),
            issuer_optional: issuer_optional_of(&self.issuer_optional, &env),
            credentials,
            redirect_url,
            name: env.name.into(),
        })
    }
}

/// One environment with its URLs checked and its credentials chosen.
#[derive(Debug)]
pub(crate) struct ResolvedEnvironment {
    pub(crate) name: Arc<str>,
    pub(crate) base_url: Url,
    pub(crate) auth_url: Url,
    pub(crate) token_url: Url,
    pub(crate) revoke_url: Option<Url>,
    pub(crate) issuer: Option<String>,
    pub(crate) issuer_optional: bool,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) redirect_url: Option<Url>,
}

impl ResolvedEnvironment {
    pub(crate) fn credentials(&self) -> Result<&Credentials, Error> {
        self.credentials.as_ref().ok_or_else(|| {
            Error::Config(format!(
                "no client credentials for environment `{}`: call `.credentials(...)`",
                self.name
            ))
        })
    }
}

/// The last [`RuntimeBuilder::issuer_optional`] said for `env`, else the environment's own.
fn issuer_optional_of(said: &[(String, bool)], env: &crate::provider::Environment) -> bool {
    said.iter()
        .rev()
        .find(|(n, _)| *n == env.name)
        .map_or(env.issuer_optional, |(_, o)| *o)
}

fn parse_url(what: &str, env: &str, raw: &str, allow_http: bool) -> Result<Url, Error> {
    let url = Url::parse(raw)
        .map_err(|e| Error::Config(format!("the {what} of `{env}` is not a URL ({e}): {raw}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http || is_loopback(&url) => Ok(url),
        "http" => Err(Error::Config(format!(
            "the {what} of `{env}` uses plain http on a non-loopback host ({raw}); use https, \
             or `.allow_insecure_http(true)` for a trusted network"
        ))),
        other => Err(Error::Config(format!(
            "the {what} of `{env}` has scheme `{other}`; expected https"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_plain_http_off_loopback() {
        assert!(parse_url("token URL", "x", "http://127.0.0.1:4010/token", false).is_ok());
        assert!(parse_url("token URL", "x", "http://localhost/token", false).is_ok());
        assert!(parse_url("token URL", "x", "http://[::1]:80/token", false).is_ok());
        let err = parse_url("token URL", "x", "http://example.com/token", false).unwrap_err();
        assert!(err.to_string().contains("plain http"), "{err}");
        assert!(parse_url("token URL", "x", "http://example.com/token", true).is_ok());
        assert!(parse_url("token URL", "x", "ftp://example.com/", true).is_err());
        assert!(parse_url("token URL", "x", "not a url", true).is_err());
    }

    #[test]
    fn credentials_debug_redacts_the_secret() {
        let c = Credentials::new("id")
            .secret("s3cr3t-value")
            .redirect_url("http://127.0.0.1/cb");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
