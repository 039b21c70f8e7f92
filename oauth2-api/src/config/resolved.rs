//! An environment as a runtime uses it: its URLs checked, its credentials chosen.

use std::sync::Arc;

use url::Url;

use super::Credentials;
use crate::error::Error;

/// One environment with its URLs checked and its credentials chosen. `Debug` shows each
/// URL's origin and path: a query may carry a key (sent with every request).
pub(crate) struct ResolvedEnvironment {
    pub(crate) name: Arc<str>,
    pub(crate) base_url: Url,
    pub(crate) base_urls: Vec<(String, Url)>,
    pub(crate) auth_url: Url,
    pub(crate) token_url: Url,
    pub(crate) revoke_url: Option<Url>,
    pub(crate) issuer: Option<String>,
    pub(crate) issuer_optional: bool,
    pub(crate) credentials: Option<Credentials>,
    /// The application's own client, when it has one.
    pub(crate) application_credentials: Option<Credentials>,
    pub(crate) redirect_url: Option<Url>,
}

impl std::fmt::Debug for ResolvedEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = crate::redact::url_shown;
        let base_urls: Vec<(&str, String)> = (self.base_urls.iter())
            .map(|(name, url)| (&**name, shown(url)))
            .collect();
        f.debug_struct("ResolvedEnvironment")
            .field("name", &self.name)
            .field("base_url", &shown(&self.base_url))
            .field("base_urls", &base_urls)
            .field("auth_url", &shown(&self.auth_url))
            .field("token_url", &shown(&self.token_url))
            .field("revoke_url", &self.revoke_url.as_ref().map(shown))
            .field("issuer", &self.issuer)
            .field("issuer_optional", &self.issuer_optional)
            .field("credentials", &self.credentials)
            .field("application_credentials", &self.application_credentials)
            .field("redirect_url", &self.redirect_url.as_ref().map(shown))
            .finish()
    }
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

    /// The base URL named `name`, or the environment's own for `None`.
    pub(crate) fn base_url_of(&self, name: Option<&str>) -> Result<&Url, Error> {
        let Some(name) = name else {
            return Ok(&self.base_url);
        };
        match self.base_urls.iter().find(|(n, _)| n == name) {
            Some((_, url)) => Ok(url),
            None => Err(Error::Config(format!(
                "environment `{}` has no base URL named `{name}`: declare it in \
                 `base_urls({name} = \"...\")` or give it with `.named_base_url(..)`",
                self.name
            ))),
        }
    }

    /// The credentials `user`'s kind uses: the application's own, when it has them.
    pub(crate) fn credentials_of(
        &self,
        user: &crate::user::UserRef,
    ) -> Result<&Credentials, Error> {
        match &self.application_credentials {
            Some(own) if user.is_application() => Ok(own),
            _ => self.credentials(),
        }
    }
}

/// The last [`RuntimeBuilder::issuer_optional`] said for `env`, else the environment's own.
pub(super) fn issuer_optional_of(
    said: &[(String, bool)],
    env: &crate::provider::Environment,
) -> bool {
    said.iter()
        .rev()
        .find(|(n, _)| *n == env.name)
        .map_or(env.issuer_optional, |(_, o)| *o)
}

/// `url`'s path and query on `origin` (itself possibly with a path prefix). A URL that
/// does not parse is kept as is, for [`parse_url`] to report.
pub(super) fn rebase(url: &str, origin: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => {
            let query = parsed.query().map(|q| format!("?{q}")).unwrap_or_default();
            let path = parsed.path();
            let path = if path == "/" && !url.ends_with('/') {
                ""
            } else {
                path
            };
            format!("{}{path}{query}", origin.trim_end_matches('/'))
        }
        Err(_) => url.to_owned(),
    }
}

pub(super) fn parse_url(what: &str, env: &str, raw: &str, allow_http: bool) -> Result<Url, Error> {
    // Named without its query, fragment or user info: any may hold a key.
    let shown = || crate::redact::url_text_shown(raw);
    let url = Url::parse(raw).map_err(|e| {
        Error::Config(format!(
            "the {what} of `{env}` is not a URL ({e}): {}",
            shown()
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Not shown: what is refused is the secret in it.
        return Err(Error::Config(format!(
            "the {what} of `{env}` ({}) has a user name or password in it, which would \
             show wherever the URL does; the client's credentials go in `Credentials`",
            url.origin().ascii_serialization()
        )));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http || is_loopback(&url) => Ok(url),
        "http" => Err(Error::Config(format!(
            "the {what} of `{env}` uses plain http on a non-loopback host ({}); use https, \
             or `.allow_insecure_http(true)` for a trusted network",
            shown()
        ))),
        other => Err(Error::Config(format!(
            "the {what} of `{env}` has scheme `{other}`; expected https"
        ))),
    }
}

/// The `User-Agent` header of `agent`. The default is a `static`: reqwest copies it into
/// every request, and copying a shared value costs two atomic operations a call.
pub(crate) fn user_agent_header(agent: &str) -> Result<http::HeaderValue, Error> {
    if agent == super::DEFAULT_USER_AGENT {
        return Ok(http::HeaderValue::from_static(super::DEFAULT_USER_AGENT));
    }
    http::HeaderValue::from_str(agent).map_err(|_| {
        Error::Config(
            "the user agent has a character a header cannot carry (a control character or \
             a line break)"
                .to_owned(),
        )
    })
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
        for raw in [
            "https://user:s3cret@api.example.com/",
            "https://s3cret@api.example.com",
        ] {
            let err = parse_url("base URL", "x", raw, false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("https://api.example.com"), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn all_urls_at_keeps_each_path() {
        let at = "http://127.0.0.1:4010";
        assert_eq!(
            rebase("https://api.xero.com/api.xro/2.0", at),
            "http://127.0.0.1:4010/api.xro/2.0"
        );
        assert_eq!(
            rebase("https://identity.xero.com", at),
            "http://127.0.0.1:4010"
        );
        assert_eq!(
            rebase("https://x.com/a/?b=c", "http://h/p/"),
            "http://h/p/a/?b=c"
        );
        assert_eq!(rebase("not a url", at), "not a url");
    }
}
