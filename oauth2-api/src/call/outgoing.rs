//! One request to send, before authentication: what its declaration fixes, borrowed, and
//! what this call adds.

use std::borrow::Cow;

use super::query::Query;
use super::request::Endpoint;
use super::{raw, spare};
use crate::http::Method;
use crate::scope::ScopeSet;

/// One request to send, before authentication. A declared call borrows what its
/// declaration fixes from the declaration's `static`: it copies none of it, and what it
/// carries (in every call's future) is small.
#[derive(Clone)]
pub(crate) struct Outgoing {
    fixed: Fixed,
    pub(crate) path: String,
    pub(crate) query: Query,
    /// The call's own headers, sent after those its declaration fixes.
    pub(crate) headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    pub(crate) body: Option<Vec<u8>>,
}

/// What the declaration fixes; a request of the escape hatch owns its own.
#[derive(Clone)]
enum Fixed {
    Declared(&'static Endpoint),
    Raw(Box<RawFixed>),
}

#[derive(Clone)]
struct RawFixed {
    endpoint: String,
    method: Method,
    base_url: Option<String>,
    scopes: ScopeSet,
}

impl Outgoing {
    /// A declared endpoint's request, its path and query written into `buffers`.
    pub(crate) fn declared(endpoint: &'static Endpoint, (path, query): (String, String)) -> Self {
        Self {
            fixed: Fixed::Declared(endpoint),
            path,
            query: Query::in_buffer(query),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A request of the escape hatch, named `endpoint`. A path may carry its query (and a
    /// fragment, which is never sent), as a URL does: the query is kept as written, with
    /// the parameters added later after it. An absolute URL keeps both until it is parsed.
    pub(crate) fn raw(endpoint: String, method: Method, path: &str) -> Self {
        let (path, query) = match super::is_absolute(path) {
            true => (path, ""),
            false => {
                let path = path.split('#').next().unwrap_or_default();
                path.split_once('?').unwrap_or((path, ""))
            }
        };
        Self {
            fixed: Fixed::Raw(Box::new(RawFixed {
                endpoint,
                method,
                base_url: None,
                scopes: ScopeSet::EMPTY,
            })),
            path: path.to_owned(),
            query: Query::given(query),
            headers: Vec::new(),
            body: None,
        }
    }

    /// The endpoint's name, for errors and spans.
    pub(crate) fn endpoint(&self) -> &str {
        match &self.fixed {
            Fixed::Declared(e) => e.name,
            Fixed::Raw(r) => &r.endpoint,
        }
    }

    pub(crate) fn method(&self) -> Method {
        match &self.fixed {
            Fixed::Declared(e) => e.method,
            Fixed::Raw(r) => r.method,
        }
    }

    /// The environment's base URL of this name, instead of its own.
    pub(crate) fn base_url(&self) -> Option<&str> {
        match &self.fixed {
            Fixed::Declared(e) => e.base_url,
            Fixed::Raw(r) => r.base_url.as_deref(),
        }
    }

    /// The scopes the token must cover.
    pub(crate) fn scopes(&self) -> &ScopeSet {
        match &self.fixed {
            Fixed::Declared(e) => &e.scopes,
            Fixed::Raw(r) => &r.scopes,
        }
    }

    /// Scopes to ask for when a person must authorize: for a declared endpoint, every
    /// scope of the API for this kind of user, so one authorization serves all its
    /// endpoints.
    pub(crate) fn ask(&self) -> &ScopeSet {
        match &self.fixed {
            Fixed::Declared(e) => &e.authorize_scopes,
            Fixed::Raw(r) => &r.scopes,
        }
    }

    /// The headers its declaration fixes (see [`headers`](super::headers)).
    pub(crate) fn fixed_headers(&self) -> &'static [(&'static str, &'static str)] {
        match &self.fixed {
            Fixed::Declared(e) => e.headers,
            Fixed::Raw(_) => &[],
        }
    }

    /// Its headers, the fixed ones first (the API's are the runtime's).
    pub(crate) fn all_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let own = self.headers.iter().map(|(n, v)| (&**n, &**v));
        self.fixed_headers().iter().copied().chain(own)
    }

    /// What an escape hatch's request fixes, to change; `None` for a declared one.
    fn raw_fixed(&mut self) -> Option<&mut RawFixed> {
        match &mut self.fixed {
            Fixed::Declared(_) => None,
            Fixed::Raw(r) => Some(r),
        }
    }

    /// Sets the scopes an escape hatch's request needs (and asks for).
    pub(crate) fn set_scopes(&mut self, scopes: ScopeSet) {
        if let Some(raw) = self.raw_fixed() {
            raw.scopes = scopes;
        }
    }

    /// Sends an escape hatch's request to the environment's base URL `name`.
    pub(crate) fn set_base_url(&mut self, name: &str) {
        if let Some(raw) = self.raw_fixed() {
            raw.base_url = Some(name.to_owned());
        }
    }
}

/// Its path and query buffers are kept for the next request (see [`spare`]).
impl Drop for Outgoing {
    fn drop(&mut self) {
        spare::give(std::mem::take(&mut self.path), self.query.take_buffer());
    }
}

/// What a request is for, never what it carries (a header's value, a query value, the
/// body, a URL's user info may each be a secret): header and parameter names, the
/// body's length.
impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.all_headers().map(|(name, _)| name).collect();
        f.debug_struct("Outgoing")
            .field("endpoint", &self.endpoint())
            .field("method", &self.method())
            .field("path", &raw::shown(&self.path))
            .field("base_url", &self.base_url())
            .field("scopes", self.scopes())
            .field("query", &self.query)
            .field("headers", &headers)
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}
