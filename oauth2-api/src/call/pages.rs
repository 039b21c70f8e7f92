//! Declared pagination: each page is one call with the whole token handling; the next
//! request comes from the answer (a `Link` header, a cursor in the body) or from the
//! request (the next page number or offset).

use std::collections::HashSet;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::request::Request;
use super::{Outgoing, RawResponse, Response};
use crate::error::Error;
use crate::runtime::Runtime;
use crate::user::UserRef;

/// How a declared endpoint pages, as a `static` in generated code.
#[derive(Debug)]
pub struct Paginate {
    /// Where the next page comes from.
    pub style: PageStyle,
    /// The field of the body holding the items (`data`, `meta.items`); `None` when the
    /// body is the list of items.
    pub items: Option<&'static str>,
}

/// Where the next page comes from.
#[derive(Debug)]
pub enum PageStyle {
    /// The `Link` header's `rel="next"` URL (RFC 8288): absolute, or relative to the
    /// environment's base URL; followed only on the environment's origin.
    Link,
    /// The page number in the query parameter `param` (the first page is 1); `size`
    /// names the query parameter giving the page size, when the request sends one.
    Page {
        /// The page number's query parameter.
        param: &'static str,
        /// The page size's query parameter.
        size: Option<&'static str>,
    },
    /// The offset of the first item in the query parameter `param` (from 0).
    Offset {
        /// The offset's query parameter.
        param: &'static str,
        /// The page size's query parameter.
        limit: Option<&'static str>,
    },
    /// A cursor read from the body's `field`, sent back in the query parameter `param`.
    Cursor {
        /// The cursor's field in the body (`next_cursor`, `meta.next`).
        field: &'static str,
        /// The query parameter it is sent in.
        param: &'static str,
    },
}

/// One request of a paginated listing, with what is needed to send it.
struct Cursor {
    runtime: Runtime,
    /// `None` for an open endpoint.
    user: Option<UserRef>,
    out: Outgoing,
    paginate: &'static Paginate,
    /// Fingerprints of the requests sent and the pages read so far: a server that points
    /// back to a page already read (a repeated cursor, a `Link` to itself, page numbers
    /// it ignores) ends the listing instead of paging forever.
    seen: HashSet<u64>,
}

type Fetch<T> = Pin<Box<dyn Future<Output = (Result<Response<T>, Error>, Option<Cursor>)> + Send>>;

/// The pages of a paginated endpoint, each with its status and headers: a [`Stream`] of
/// `Result<Response<T>, E>`, ending after the last page or the first error. Generated as
/// `{endpoint}_pages`; [`Pages::items`] gives the items one by one.
#[must_use = "pages are fetched only when the stream is polled"]
pub struct Pages<T, E = Error> {
    next: Option<Cursor>,
    pending: Option<Fetch<T>>,
    decode: PageDecode<T>,
    convert: fn(Error) -> E,
}

/// How a page's items are decoded: [`page_items`] of the declared list type.
pub type PageDecode<T> = fn(Value) -> Result<T, serde_json::Error>;

/// A page's items decoded as `T`. Generated code names it for the declared list type
/// (a function pointer, not a bound on the streams): a type that cannot be decoded is
/// reported once, where the declaration names it.
pub fn page_items<T: DeserializeOwned>(items: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(items)
}

impl<T, E> std::fmt::Debug for Pages<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("endpoint", &self.next.as_ref().map(|c| c.out.endpoint()))
            .field("fetching", &self.pending.is_some())
            .finish()
    }
}

/// Starts paging through `request`'s endpoint (what generated code calls): each page's
/// items decoded by `decode`, an error converted by `convert` (the declared error type).
pub fn pages<T, E>(
    runtime: &Runtime,
    user: Option<UserRef>,
    request: Request,
    paginate: &'static Paginate,
    decode: PageDecode<T>,
    convert: fn(Error) -> E,
) -> Pages<T, E>
where
    T: Send + 'static,
{
    let cursor = Cursor {
        runtime: runtime.clone(),
        user,
        out: request.out,
        paginate,
        seen: HashSet::new(),
    };
    let pending: Option<Fetch<T>> = match request.error {
        // An argument that cannot be sent is the stream's one item.
        Some(error) => Some(Box::pin(async move { (Err(*error), None) })),
        None => Some(Box::pin(fetch(cursor, decode))),
    };
    Pages {
        next: None,
        pending,
        decode,
        convert,
    }
}

impl<T: Send + 'static, E> Stream for Pages<T, E> {
    type Item = Result<Response<T>, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match this.next.take() {
                Some(cursor) => this.pending = Some(Box::pin(fetch(cursor, this.decode))),
                None => return Poll::Ready(None),
            }
        }
        let Some(pending) = this.pending.as_mut() else {
            return Poll::Ready(None);
        };
        let (page, next) = std::task::ready!(pending.as_mut().poll(cx));
        this.pending = None;
        this.next = next;
        Poll::Ready(Some(page.map_err(this.convert)))
    }
}

impl<T: Send + 'static, E> Pages<T, E> {
    /// The next page, `None` after the last (no `StreamExt` needed).
    pub async fn next(&mut self) -> Option<Result<Response<T>, E>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The first page's items: what the declared method returns.
    pub async fn first(mut self) -> Result<T, E> {
        match self.next().await {
            Some(page) => page.map(Response::into_body),
            None => Err((self.convert)(Error::Internal(
                "a listing ended before its first page",
            ))),
        }
    }

    /// The items of every page, one by one.
    pub fn items(self) -> Items<T, E>
    where
        T: IntoIterator,
    {
        Items {
            pages: self,
            current: None,
        }
    }
}

/// The items of a paginated endpoint across its pages: a [`Stream`] of `Result<Item, E>`,
/// ending after the last page or the first error. Generated as `{endpoint}_items`.
#[must_use = "pages are fetched only when the stream is polled"]
pub struct Items<T: IntoIterator, E = Error> {
    pages: Pages<T, E>,
    current: Option<T::IntoIter>,
}

impl<T: IntoIterator, E> std::fmt::Debug for Items<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items").field("pages", &self.pages).finish()
    }
}

impl<T, E> Stream for Items<T, E>
where
    T: IntoIterator + Send + 'static,
    T::IntoIter: Unpin,
{
    type Item = Result<T::Item, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.current.as_mut().and_then(Iterator::next) {
                return Poll::Ready(Some(Ok(item)));
            }
            match std::task::ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(page)) => this.current = Some(page.body.into_iter()),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl<T, E> Items<T, E>
where
    T: IntoIterator + Send + 'static,
    T::IntoIter: Unpin,
{
    /// The next item, `None` after the last (no `StreamExt` needed).
    pub async fn next(&mut self) -> Option<Result<T::Item, E>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Every item of every page, or the first error.
    pub async fn collect(mut self) -> Result<Vec<T::Item>, E> {
        let mut all = Vec::new();
        while let Some(item) = self.next().await {
            all.push(item?);
        }
        Ok(all)
    }
}

/// Sends one page's request; the page, and the request for the next one if any.
async fn fetch<T>(
    mut cursor: Cursor,
    decode: PageDecode<T>,
) -> (Result<Response<T>, Error>, Option<Cursor>) {
    let sent = match &cursor.user {
        Some(user) => cursor.runtime.send(user.clone(), &cursor.out).await,
        None => cursor.runtime.send_open(&cursor.out).await,
    };
    let answer = match sent {
        Ok(answer) if answer.is_success() => answer,
        Ok(answer) => {
            let error = cursor.runtime.decode_error(&answer, cursor.out.endpoint());
            return (Err(error.into()), None);
        }
        Err(e) => return (Err(e), None),
    };
    let request = fingerprint(&(&cursor.out.path, &cursor.out.query));
    let page = fingerprint(&answer.body);
    // The page's own request: a relative `Link` is resolved against it (RFC 3986).
    let asked = cursor.out.clone();
    let (body, more) = match read_page(&answer, &mut cursor, decode) {
        Ok(read) => read,
        Err(e) => return (Err(e), None),
    };
    let linked = matches!(cursor.paginate.style, PageStyle::Link);
    if more && linked && !super::is_absolute(&cursor.out.path) {
        // A relative `Link` target. The other styles keep the declared path, which each
        // request puts under the endpoint's base URL, its path included (`/api.xro/2.0`):
        // resolving it here would drop that path.
        if let Err(e) = resolve_link(&mut cursor, &asked).await {
            return (Err(e), None);
        }
    }
    // The page just read must be new, and so must the request for the next one.
    let next = fingerprint(&(&cursor.out.path, &cursor.out.query));
    cursor.seen.insert(request);
    if !cursor.seen.insert(page.rotate_left(1)) || (more && cursor.seen.contains(&next)) {
        let endpoint = cursor.out.endpoint().to_owned();
        return (Err(Error::RepeatedPage { endpoint }), None);
    }
    let page = Response::new(answer.status, answer.headers, body);
    (Ok(page), more.then_some(cursor))
}

/// A fingerprint of a request or a page, to tell one seen before.
fn fingerprint(value: &impl Hash) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// A relative `Link` target (RFC 8288 allows one), resolved against the URL of the page
/// that sent it (`asked`), as RFC 3986 says: `?page=2`, `next`, `/v1/items?page=2`.
async fn resolve_link(cursor: &mut Cursor, asked: &Outgoing) -> Result<(), Error> {
    let runtime = &cursor.runtime;
    let key = match &cursor.user {
        Some(user) => runtime.call_key(user.clone()).await?,
        None => runtime.key_in(runtime.default_environment(), UserRef::anonymous()),
    };
    let base = runtime.target_url(&key, asked)?;
    let url = base
        .join(&cursor.out.path)
        .map_err(|source| Error::BadLink {
            endpoint: cursor.out.endpoint().to_owned(),
            source,
        })?;
    cursor.out.path = url.into();
    Ok(())
}

/// Decodes a page's items and turns `cursor` into the next page's request; `true` when
/// there is one.
fn read_page<T>(
    answer: &RawResponse,
    cursor: &mut Cursor,
    decode: PageDecode<T>,
) -> Result<(T, bool), Error> {
    let endpoint = cursor.out.endpoint();
    let mut body: Value = answer.json(endpoint)?;
    let items = match cursor.paginate.items {
        Some(field) => field_mut(&mut body, field).map_or(Value::Null, Value::take),
        None => body.clone(),
    };
    let count = items.as_array().map(Vec::len);
    let decoded = decode(items).map_err(|source| Error::Decode {
        endpoint: endpoint.to_string(),
        body: answer.excerpt(1024),
        source,
    })?;
    let out = &mut cursor.out;
    let more = match &cursor.paginate.style {
        PageStyle::Link => match next_link(&answer.headers) {
            Some(url) => {
                out.path = url;
                out.query.clear();
                true
            }
            None => false,
        },
        // A page or offset past `u64::MAX` cannot be asked for: the pages end there.
        PageStyle::Page { param, size } => {
            let page = query_number(out, param).unwrap_or(1).checked_add(1);
            let full = is_full(count, *size, out) && page.is_some();
            if let Some(page) = page {
                set_query(out, param, page);
            }
            full
        }
        PageStyle::Offset { param, limit } => {
            let offset = query_number(out, param).unwrap_or(0);
            let next = offset.checked_add(count.unwrap_or(0) as u64);
            let full = is_full(count, *limit, out) && next.is_some();
            if let Some(next) = next {
                set_query(out, param, next);
            }
            full
        }
        PageStyle::Cursor { field, param } => {
            match field_mut(&mut body, field).and_then(|v| scalar(v.take())) {
                Some(next) => {
                    set_query(out, param, next);
                    true
                }
                None => false,
            }
        }
    };
    Ok((decoded, more))
}

/// Whether a page of `count` items may have a successor: not when it is empty, nor when
/// it is shorter than the page size the request asked for.
fn is_full(count: Option<usize>, size: Option<&str>, out: &Outgoing) -> bool {
    match (count, size.and_then(|s| query_number(out, s))) {
        (None | Some(0), _) => false,
        (Some(n), Some(size)) => n as u64 >= size,
        (Some(_), None) => true,
    }
}

/// A field of a JSON body, by a dotted path (`meta.next_cursor`).
fn field_mut<'v>(body: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    path.split('.').try_fold(body, |v, key| v.get_mut(key))
}

/// A cursor's value as sent: a non-empty string or a number.
fn scalar(value: Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn query_number(out: &Outgoing, name: &str) -> Option<u64> {
    out.query.first(name)?.parse().ok()
}

/// Sets the query parameter `name`, replacing the value the previous page sent.
fn set_query(out: &mut Outgoing, name: &str, value: impl ToString) {
    out.query.set(name, &value.to_string());
}

/// The `rel="next"` target of the `Link` headers (RFC 8288 §3): `<url>; rel="next"`, the
/// relation possibly unquoted or among several (`rel="next last"`).
pub(crate) fn next_link(headers: &http::HeaderMap) -> Option<String> {
    let values = headers.get_all(http::header::LINK);
    for value in values.iter().filter_map(|v| v.to_str().ok()) {
        let mut rest = value;
        while let Some(start) = rest.find('<') {
            let after = &rest[start + 1..];
            let end = after.find('>')?;
            let params = &after[end + 1..];
            let params = &params[..params.find('<').unwrap_or(params.len())];
            let is_next = params.split([';', ',']).any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("rel")
                        && v.trim()
                            .trim_matches('"')
                            .split_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            if is_next {
                return Some(after[..end].to_owned());
            }
            rest = &after[end + 1..];
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(value: &str) -> Option<String> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::LINK, value.parse().unwrap());
        next_link(&headers)
    }

    #[test]
    fn reads_the_next_link() {
        let github = r#"<https://api.github.com/user/repos?page=3>; rel="next", <https://api.github.com/user/repos?page=50>; rel="last""#;
        assert_eq!(
            link(github).as_deref(),
            Some("https://api.github.com/user/repos?page=3")
        );
        let reversed =
            r#"<https://a.example/x?page=1>; rel="prev", <https://a.example/x?page=3>; rel=next"#;
        assert_eq!(
            link(reversed).as_deref(),
            Some("https://a.example/x?page=3")
        );
        let several = r#"<https://a.example/y,z>; title="a, b"; rel="next last""#;
        assert_eq!(link(several).as_deref(), Some("https://a.example/y,z"));
        assert_eq!(link(r#"<https://a.example/x>; rel="last""#), None);
        assert_eq!(link(r#"<https://a.example/x>; rel="nextish""#), None);
        assert_eq!(link("garbage <without end"), None);
    }
}
