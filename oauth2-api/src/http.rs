//! HTTP basics every layer shares: the methods an endpoint may use, bodies read up to a
//! limit, `Retry-After`, and reqwest errors described without their URL's query.

use std::fmt;
use std::time::Duration;

/// RFC 3986 unreserved characters stay; everything else is percent-encoded: a path
/// segment (`#` in a HMRC period key, `/`, `?`, spaces), a header value's parts.
pub(crate) const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Whether [`UNRESERVED`] leaves `byte` as it is: most path segments (an id, a VRN) are
/// copied whole, not encoded byte by byte.
pub(crate) fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// API calls follow redirects on their own origin only (at most ten): a redirect elsewhere
/// is the caller's answer to read. The HTTP client drops `Authorization` on one, but not
/// the API's and the call's own headers, which may carry a key.
pub(crate) fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(url::Url::origin);
        let same = first.is_some_and(|origin| origin == attempt.url().origin());
        match same && attempt.previous().len() <= 10 {
            true => attempt.follow(),
            false => attempt.stop(),
        }
    })
}

/// `builder` with reqwest's proxy support off when the environment names no proxy
/// (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, in either case): reqwest would send every
/// request direct anyway, after checking each one's host against the (empty) proxy rules,
/// which parses the host as an IP address on every call. On macOS and Windows reqwest may
/// also read the system's proxy settings (a feature another crate can turn on), so there
/// it is left as it is.
pub(crate) fn direct_unless_proxied(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let system_settings = cfg!(any(target_os = "macos", windows));
    match system_settings || names_a_proxy(|name| std::env::var_os(name)) {
        true => builder,
        false => builder.no_proxy(),
    }
}

fn names_a_proxy(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]
        .into_iter()
        .any(|name| var(name).is_some() || var(&name.to_lowercase()).is_some())
}

/// An HTTP method an endpoint may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    pub(crate) fn as_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Patch => http::Method::PATCH,
            Method::Delete => http::Method::DELETE,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_http().as_str())
    }
}

/// Why a capped body read stopped.
pub(crate) enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// The most of an announced `Content-Length` reserved before the bytes arrive.
const TRUSTED_LENGTH: u64 = 1 << 20;

/// Reads `response`'s body, stopping with [`BodyError::TooLarge`] as soon as it is longer
/// than `limit` (announced or as it arrives), so nothing past the limit is buffered.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<bytes::Bytes, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    // A body that comes in one chunk (most answers) is kept as it came; a second chunk
    // joins them.
    let mut first: Option<bytes::Bytes> = None;
    let mut joined = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        let read = first.as_ref().map_or(joined.len(), bytes::Bytes::len);
        if chunk.len() > limit - read {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            earlier => {
                if let Some(earlier) = earlier {
                    // What the server announced is believed up to a point: a lying
                    // length must not reserve what never arrives.
                    let expected = announced.min(TRUSTED_LENGTH) as usize;
                    joined.reserve(expected.max(earlier.len() + chunk.len()));
                    joined.extend_from_slice(&earlier);
                }
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.into()))
}

/// The wait a `Retry-After` header asks for (RFC 9110 §10.2.3): a number of seconds, or
/// an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`), a date already past being no wait.
/// `None` when there is no such header or it is neither.
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds is still a wait asked for: the longest.
        return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A sentence for a reqwest error that names no URL query (it could carry a code).
pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer's body could not be read"
    } else if e.is_redirect() {
        "redirect refused"
    } else {
        "the request failed"
    };
    match e.url() {
        Some(url) => format!(
            "{what} ({}://{}{})",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        None => what.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any proxy variable, in either case, even empty, leaves reqwest's proxy support on.
    #[test]
    fn proxies_stay_on_when_the_environment_names_one() {
        let only = |set: &'static str| move |name: &str| (name == set).then(Default::default);
        assert!(!names_a_proxy(|_| None));
        for name in [
            "HTTP_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "http_proxy",
        ] {
            assert!(names_a_proxy(only(name)), "{name}");
        }
        assert!(!names_a_proxy(only("NO_PROXY")));
    }

    #[test]
    fn is_unreserved_agrees_with_the_set() {
        for byte in 0..=u8::MAX {
            let encoded = percent_encoding::percent_encode(&[byte], UNRESERVED).to_string();
            let plain = encoded.as_bytes() == [byte];
            assert_eq!(is_unreserved(byte), plain, "byte {byte}");
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        // Too many seconds for a u64 is the longest wait, not none.
        let beyond = "99999999999999999999999";
        headers.insert(http::header::RETRY_AFTER, beyond.parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::MAX));
        for odd in ["-1", "+5", "1.5", ""] {
            headers.insert(http::header::RETRY_AFTER, odd.parse().unwrap());
            assert_eq!(retry_after(&headers), None, "{odd:?}");
        }
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let mut headers = http::HeaderMap::new();
        let at = std::time::SystemTime::now() + Duration::from_secs(30);
        let date = httpdate::fmt_http_date(at);
        headers.insert(http::header::RETRY_AFTER, date.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        headers.insert(http::header::RETRY_AFTER, past.parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    }
}
