//! The URL a call goes to, and the few built last: the `url` crate parses every
//! character of a path it is given, so a call repeated with the same arguments (a page
//! polled, a status checked) takes a copy of the URL it built the time before.

use std::sync::{Arc, Mutex};

use url::Url;

use crate::call::Outgoing;
use crate::error::Error;
use crate::runtime::Runtime;
use crate::session::SessionKey;

/// How many URLs are kept: a few endpoints called in turn all find theirs.
const KEPT: usize = 8;

/// The longest URL the HTTP client sends (`http::Uri`'s limit); a longer one would fail
/// as a transport error, naming no argument.
const LONGEST_URL: usize = u16::MAX as usize - 1;

/// The URLs built last, newest last (a `Vec`: a lookup walks one slice, where a ring
/// buffer's two would cost code on every call). A lookup compares strings it already
/// has; a miss costs one copy of the path and query. `Debug` shows how many, never a URL: a query may
/// carry what must not be logged.
#[derive(Default)]
pub(crate) struct RecentUrls(Mutex<Vec<Recent>>);

impl std::fmt::Debug for RecentUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().map_or(0, |recent| recent.len());
        f.debug_struct("RecentUrls").field("kept", &kept).finish()
    }
}

struct Recent {
    environment: Arc<str>,
    base_url: Option<String>,
    path: String,
    query: super::query::Query,
    url: Url,
}

impl Recent {
    fn is_for(&self, key: &SessionKey, out: &Outgoing) -> bool {
        self.path == out.path
            && self.query == out.query
            && self.base_url.as_deref() == out.base_url()
            && self.environment == key.environment
    }
}

impl RecentUrls {
    fn find(&self, key: &SessionKey, out: &Outgoing) -> Option<Url> {
        let recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .iter()
            .rev()
            .find(|r| r.is_for(key, out))
            .map(|r| r.url.clone())
    }

    fn keep(&self, key: &SessionKey, out: &Outgoing, url: &Url) {
        let entry = Recent {
            environment: key.environment.clone(),
            base_url: out.base_url().map(str::to_owned),
            path: out.path.clone(),
            query: out.query.clone(),
            url: url.clone(),
        };
        let mut recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= KEPT {
            recent.remove(0);
        }
        recent.push(entry);
    }
}

impl Runtime {
    /// The URL `out` goes to: its path under the environment's base URL, or an absolute
    /// URL (a `Link` header's) on the environment's origin, where the token may go.
    pub(crate) fn target_url(&self, key: &SessionKey, out: &Outgoing) -> Result<Url, Error> {
        // A declared path begins with `/`: only another may be an absolute URL.
        if !out.path.starts_with('/') && super::is_absolute(&out.path) {
            return self.absolute_url(key, out);
        }
        match self.inner.api.recent_urls().find(key, out) {
            Some(url) => Ok(url),
            None => self.new_url(key, out),
        }
    }

    /// A URL not built lately, built and kept: out of line, so that a call that finds its
    /// URL runs less code.
    #[cold]
    #[inline(never)]
    fn new_url(&self, key: &SessionKey, out: &Outgoing) -> Result<Url, Error> {
        let url = self.relative_url(key, out)?;
        if url.as_str().len() > LONGEST_URL {
            return Err(Error::InvalidArgument {
                endpoint: out.endpoint().to_owned(),
                argument: "path and query".to_owned(),
                message: format!(
                    "make a URL of {} bytes, longer than an HTTP request carries here \
                     ({LONGEST_URL})",
                    url.as_str().len()
                ),
            });
        }
        self.inner.api.recent_urls().keep(key, out, &url);
        Ok(url)
    }

    fn relative_url(&self, key: &SessionKey, out: &Outgoing) -> Result<Url, Error> {
        // An empty path (the escape hatch's `?page=2`, a relative `Link`) is the base URL's.
        if !out.path.is_empty() && !out.path.starts_with('/') {
            // `javascript:x`, `HTTPS:` handled above; anything else that is not a path.
            return Err(Error::InvalidArgument {
                endpoint: out.endpoint().to_owned(),
                argument: "path".to_owned(),
                message: "is neither a path (`/...`) nor an http(s) URL".to_owned(),
            });
        }
        if out
            .path
            .split(['/', '\\'])
            .any(super::request::is_dot_segment)
        {
            // Arguments side by side, or beside a fixed `.` (`/files/{a}{b}`, `.{v}`); a
            // backslash separates segments too in an http(s) URL's path.
            return Err(Error::InvalidArgument {
                endpoint: out.endpoint().to_owned(),
                argument: "path".to_owned(),
                message: super::request::DOT_SEGMENT.to_owned(),
            });
        }
        let env = self.environment_named(&key.environment)?;
        let base = env.base_url_of(out.base_url())?;
        let mut url = base.clone();
        match base.path() {
            // The common base (an origin): the path as it is, without a copy.
            "" | "/" => url.set_path(&out.path),
            prefix => url.set_path(&format!("{}{}", prefix.trim_end_matches('/'), out.path)),
        }
        with_query(url, out)
    }

    #[cold]
    #[inline(never)]
    fn absolute_url(&self, key: &SessionKey, out: &Outgoing) -> Result<Url, Error> {
        let env = self.environment_named(&key.environment)?;
        let base = env.base_url_of(out.base_url())?;
        match Url::parse(&out.path).ok() {
            // Credentials in a URL would go out as a second `Authorization` header.
            Some(url)
                if url.origin() == base.origin()
                    && url.username().is_empty()
                    && url.password().is_none() =>
            {
                with_query(url, out)
            }
            url => Err(Error::ForeignUrl {
                endpoint: out.endpoint().to_owned(),
                origin: url.map_or_else(
                    || "an unreadable URL".to_owned(),
                    |u| u.origin().ascii_serialization(),
                ),
                expected: base.origin().ascii_serialization(),
            }),
        }
    }
}

fn with_query(mut url: Url, out: &Outgoing) -> Result<Url, Error> {
    match url.query() {
        _ if out.query.is_empty() => {}
        // The URL's own query first (an absolute URL's, or a base URL's).
        Some(own) if !own.is_empty() => {
            let query = format!("{own}&{}", out.query.as_str());
            url.set_query(Some(&query));
        }
        _ => url.set_query(Some(out.query.as_str())),
    }
    Ok(url)
}
