//! The escape hatch: an authorized request to a path no trait declares yet.

use std::fmt;

use crate::call::Outgoing;
use crate::error::Error;
use crate::http::Method;
use crate::runtime::Runtime;
use crate::user::{ApiUser, UserRef};

use super::RawResponse;

impl Runtime {
    /// Starts an authorized request to a path no trait declares yet (the escape hatch).
    /// It gets the same token handling and 401 retry as a declared endpoint, and returns
    /// the raw answer whatever its status.
    ///
    /// `path` is appended to the environment's base URL (`"/user/repos"`, or with its
    /// query, `"/search?q=rust"`, the parameters of [`query`](RawRequest::query) after
    /// it; a fragment is not sent; a query alone, `"?page=2"`, goes to the base URL
    /// itself), or is an
    /// absolute URL on the environment's origin (what a `Link: <...>; rel="next"` header
    /// gives), sent as it is with any [`query`](RawRequest::query) added; an absolute URL
    /// on another origin is refused with [`Error::ForeignUrl`], before any token is
    /// fetched, so the token never goes there.
    pub fn request(&self, user: &impl ApiUser, method: Method, path: &str) -> RawRequest {
        RawRequest {
            runtime: self.clone(),
            user: user.user_ref(),
            out: Outgoing::raw(format!("{method} {}", shown(path)), method, path),
            refused: None,
        }
    }
}

/// An authorized request being built; see [`Runtime::request`].
#[derive(Debug)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct RawRequest {
    runtime: Runtime,
    user: UserRef,
    out: Outgoing,
    /// What cannot be sent as given, said when the request is sent.
    refused: Option<Error>,
}

impl RawRequest {
    /// Scopes the token must cover.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.out.set_scopes(scopes.iter().collect());
        self
    }

    /// Sends it to the environment's base URL named `name` instead of its own (see
    /// [`Environment::named_base_url`](crate::Environment::named_base_url)).
    pub fn base_url(mut self, name: &str) -> Self {
        self.out.set_base_url(name);
        self
    }

    /// Adds a query parameter; a value whose `Display` fails is refused when the request
    /// is sent ([`Error::InvalidArgument`]).
    pub fn query(mut self, name: &str, value: impl fmt::Display) -> Self {
        let start = self.out.query.mark();
        if self.out.query.push_shown(name, &value).is_err() {
            self.out.query.truncate(start);
            self.refused.get_or_insert(Error::InvalidArgument {
                endpoint: self.out.endpoint().to_owned(),
                argument: name.to_owned(),
                message: "does not display (its `Display` returned an error)".to_owned(),
            });
        }
        self
    }

    /// Adds a header; it replaces the API's header of that name, and adding one name
    /// again sends both values. A name or value a header cannot have is refused when the
    /// request is sent ([`Error::InvalidArgument`], naming the header, never showing its
    /// value), before any token is fetched; so are `Authorization`, which carries the
    /// session's token, and `Host`, which would name another server than the token's.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        // An escape hatch's request always carries a token.
        if let Some(refused) = super::headers::token_header_refused(self.out.endpoint(), name) {
            self.refused.get_or_insert(refused);
            return self;
        }
        match super::build::header_pair(self.out.endpoint(), name, &value) {
            Ok(_) => self
                .out
                .headers
                .push((name.to_owned().into(), value.into())),
            Err(refused) => {
                self.refused.get_or_insert(refused);
            }
        }
        self
    }

    /// Sets a JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(body).map_err(|e| Error::InvalidArgument {
            endpoint: self.out.endpoint().to_owned(),
            argument: "body".to_owned(),
            message: format!("does not serialize to JSON: {e}"),
        })?;
        self.out.body = Some(body);
        Ok(self)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<RawResponse, Error> {
        if let Some(refused) = self.refused {
            return Err(refused);
        }
        self.runtime.send(self.user, &self.out).await
    }
}

/// A path as errors and traces name it: without its query and fragment, and an absolute
/// URL without its user info, as those may hold what must not be logged (a code, a
/// cursor, a password).
pub(super) fn shown(path: &str) -> std::borrow::Cow<'_, str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    // Only an absolute URL is parsed: a path, the common case, is named as it is.
    match super::is_absolute(path).then(|| url::Url::parse(path)) {
        Some(Ok(url)) => format!("{}{}", url.origin().ascii_serialization(), url.path()).into(),
        // An absolute URL that does not parse: its user info may still be a password.
        Some(Err(_)) => crate::redact::url_text_shown(path).into(),
        None => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn errors_name_a_request_without_its_query_or_credentials() {
        assert_eq!(shown("/x?code=zzz#frag"), "/x");
        assert_eq!(shown("/a/b"), "/a/b");
        assert_eq!(
            shown("https://user:pw@api.example.com:8443/v1/items?cursor=s3cret"),
            "https://api.example.com:8443/v1/items"
        );
        assert_eq!(shown("HTTPS://API.example.com"), "https://api.example.com/");
    }
}
