//! The HTTP request of an [`Outgoing`]: built as a `reqwest::Request` in place (a builder
//! would be moved on every header), with the token's header made once per token.

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue};
use secrecy::ExposeSecret;

use crate::call::Outgoing;
use crate::error::Error;
use crate::hooks::OutgoingRequest;
use crate::runtime::Runtime;
use crate::session::{Bearer, SessionKey};

impl Runtime {
    /// The request for `out`: URL, bearer token, the provider's and the declaration's
    /// headers as the request hooks leave them, the body.
    ///
    /// The common request (no hooks, no body, a token that is a header value) is built
    /// here in a few lines; the rest out of line, so that a call runs less code.
    pub(super) fn build_request(
        &self,
        key: &SessionKey,
        token: Option<&Bearer>,
        out: &Outgoing,
    ) -> Result<reqwest::Request, Error> {
        let url = self.target_url(key, out)?;
        let authorization = match token {
            Some(Bearer {
                authorization: Some(value),
                ..
            }) => Some(value),
            None => None,
            Some(_) => return self.general_request(key, token, out, url),
        };
        if !self.inner.api.extensions.request_hooks.is_empty() || out.body.is_some() {
            return self.general_request(key, token, out, url);
        }
        let mut request = reqwest::Request::new(out.method().as_http(), url);
        let headers = request.headers_mut();
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, value.clone());
        }
        let api = self.inner.config.headers();
        if !(api.is_empty() && out.fixed_headers().is_empty() && out.headers.is_empty()) {
            super::headers::add_levels(headers, api, out, authorization.is_some())?;
        }
        Ok(request)
    }

    /// [`build_request`](Self::build_request) with request hooks, a body or a token that
    /// is not a header value.
    #[cold]
    #[inline(never)]
    fn general_request(
        &self,
        key: &SessionKey,
        token: Option<&Bearer>,
        out: &Outgoing,
        url: url::Url,
    ) -> Result<reqwest::Request, Error> {
        // Hooks see (and may change) every header of the request but the token's; without
        // hooks the levels are added as they are.
        let hooks = &self.inner.api.extensions.request_hooks;
        let api = self.inner.config.headers();
        let mut hooked = Vec::new();
        if !hooks.is_empty() {
            hooked = super::headers::merged(api, out);
        }
        for hook in hooks {
            hook.before_send(&mut OutgoingRequest {
                endpoint: out.endpoint(),
                method: out.method(),
                url: &url,
                user: &key.user,
                environment: &key.environment,
                context: &self.context,
                headers: &mut hooked,
            })?;
        }
        let mut request = reqwest::Request::new(out.method().as_http(), url);
        match token {
            Some(Bearer {
                authorization: Some(value),
                ..
            }) => {
                request.headers_mut().insert(AUTHORIZATION, value.clone());
            }
            Some(Bearer { tokens, .. }) => request = self.refused_bearer(request, tokens, out)?,
            None => {}
        }
        let headers = request.headers_mut();
        let bearer = token.is_some();
        match hooks.is_empty() {
            true => super::headers::add_levels(headers, api, out, bearer)?,
            false => super::headers::add_hooked(headers, out, &hooked, bearer)?,
        }
        if let Some(body) = &out.body {
            headers.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *request.body_mut() = Some(body.clone().into());
        }
        Ok(request)
    }
}

impl Runtime {
    /// `request` with a token that is not a header value: reqwest's own error says so.
    #[cold]
    #[inline(never)]
    fn refused_bearer(
        &self,
        request: reqwest::Request,
        tokens: &crate::session::TokenSet,
        out: &Outgoing,
    ) -> Result<reqwest::Request, Error> {
        let http = self.inner.api.http.clone();
        reqwest::RequestBuilder::from_parts(http, request)
            .bearer_auth(tokens.access_token.expose_secret())
            .build()
            .map_err(|e| super::transport(out, e))
    }
}

/// Why a text cannot be a header's value (the value itself is not shown).
pub(crate) const NOT_A_HEADER_VALUE: &str =
    "has a value a header cannot carry (a control character or a line break)";

/// The header `name: value` of a request to `endpoint`, refused by name (never by value,
/// which may be a secret) when it cannot be one. A name that is not one is shown up to
/// where it goes wrong: `Authorization: Bearer ...` (curl's `-H` habit) as
/// `Authorization…`.
pub(crate) fn header_pair(
    endpoint: &str,
    name: &str,
    value: &str,
) -> Result<(HeaderName, HeaderValue), Error> {
    let refused = |shown: &str, message: &str| Error::InvalidArgument {
        endpoint: endpoint.to_owned(),
        argument: format!("header {shown}"),
        message: message.to_owned(),
    };
    let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
        let valid = name.find(|c: char| !is_token_char(c)).unwrap_or(name.len());
        let shown = match valid < name.len() {
            true => format!("{}…", &name[..valid]),
            false => name.to_owned(),
        };
        return Err(refused(
            &shown,
            "is not a header name (a token of RFC 9110: no spaces, `:` or control \
             characters; what follows is not shown)",
        ));
    };
    let value = HeaderValue::from_str(value).map_err(|_| refused(name, NOT_A_HEADER_VALUE))?;
    Ok((header, value))
}

/// A character of an RFC 9110 token, which a header name is.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}
