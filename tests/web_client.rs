//! A minimal browser for the web-flow tests: an HTTP client with a cookie jar of its
//! own that does not follow redirects, so each step of a flow can be looked at. Two of
//! them are two people's browsers.
//!
//! Cookies are kept as RFC 6265 has it for host-only cookies: by host (not port) and
//! path prefix; `Max-Age=0` removes one.

use std::sync::Mutex;

use reqwest::header::{COOKIE, LOCATION, REFERER, SET_COOKIE};

#[derive(Clone, Debug)]
struct Cookie {
    host: String,
    path: String,
    name: String,
    value: String,
}

/// One browser: its own cookies.
#[derive(Debug)]
pub struct WebClient {
    client: reqwest::Client,
    jar: Mutex<Vec<Cookie>>,
}

impl Default for WebClient {
    fn default() -> Self {
        Self::new()
    }
}

impl WebClient {
    /// A browser with no cookie.
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            jar: Mutex::new(Vec::new()),
        }
    }

    /// `GET url`, sending and keeping cookies.
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.send(self.client.get(url), url).await
    }

    /// `POST url` from a form on `referer`.
    pub async fn post(&self, url: &str, referer: &str) -> reqwest::Response {
        self.send(self.client.post(url).header(REFERER, referer), url)
            .await
    }

    /// The names of the cookies held.
    pub fn cookie_names(&self) -> Vec<String> {
        self.jar().iter().map(|c| c.name.clone()).collect()
    }

    fn jar(&self) -> std::sync::MutexGuard<'_, Vec<Cookie>> {
        self.jar.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> reqwest::Response {
        let url = url::Url::parse(url).expect("a URL");
        let host = url.host_str().unwrap_or_default().to_owned();
        let sent: Vec<String> = self
            .jar()
            .iter()
            .filter(|c| c.host == host && path_matches(url.path(), &c.path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        let request = if sent.is_empty() {
            request
        } else {
            request.header(COOKIE, sent.join("; "))
        };
        let response = request.send().await.expect("the request is answered");
        for set in response.headers().get_all(SET_COOKIE) {
            self.keep(&host, &url, set.to_str().expect("ASCII"));
        }
        response
    }

    fn keep(&self, host: &str, url: &url::Url, set_cookie: &str) {
        let mut parts = set_cookie.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|p| p.split_once('='))
            .expect("name=value");
        let mut path = default_path(url.path());
        let mut remove = false;
        for attribute in parts {
            match attribute.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("path") => path = v.to_owned(),
                Some((k, v)) if k.eq_ignore_ascii_case("max-age") => remove = v == "0",
                _ => {}
            }
        }
        let mut jar = self.jar();
        jar.retain(|c| !(c.host == host && c.path == path && c.name == name));
        if !remove {
            jar.push(Cookie {
                host: host.to_owned(),
                path,
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
    }
}

fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request[cookie.len()..].starts_with('/')))
}

fn default_path(request: &str) -> String {
    match request.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request[..i].to_owned(),
    }
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION]
        .to_str()
        .expect("ASCII")
        .to_owned()
}
