//! Review 16b: the promises of README "Provider quirks" (header levels, `Authorization`,
//! the escape hatch's paths) and of "Security" (no secret in `Debug`/`Display`), tried as
//! an attacker and as a newcomer porting an API with keys in headers or query strings.
//!
//! Tests whose doc comment begins `Found (fixed):` failed at the time of the review and
//! say what was found; those that begin `Holds:` passed and stay as regressions. A
//! declared `Authorization` or `Host` header with a token is a compile error
//! (`oauth2-api/tests/ui/header-owned-by-the-runtime.rs`).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use oauth2_api::store::MemoryStore;
use oauth2_api::{Environment, Error, Method, OutgoingRequest, Provider};
use oauth2_api_tests::{Company, authorize, builder_for};
use serde_json::Value;

use crate::regressions_fast_path::{LONG, echo_config, echo_routes};
use crate::regressions_rate_and_spans::echo_runtime;
use crate::regressions_review16::received;

fn echo_of(answer: &oauth2_api::RawResponse) -> Value {
    serde_json::from_slice(&answer.body)
        .unwrap_or_else(|_| panic!("{} {}", answer.status, answer.text()))
}

/// A provider with one environment on `sandbox` whose base URL is `base` (the sandbox's
/// origin with what follows), and an API-level header `X-Api-Key`.
fn keyed_provider(sandbox: &oauth2_api::sandbox::Sandbox, base: &str) -> Provider {
    Provider::new("Keyed16b")
        .header("X-Api-Key", "api-level-secret-4b1e")
        .environment(Environment::new(
            "sandbox",
            format!("{}{base}", sandbox.url()),
            sandbox.auth_url(),
            sandbox.token_url(),
        ))
}

/// A runtime for [`keyed_provider`] on a sandbox serving `routes`, its token cached.
async fn keyed_runtime(routes: Router) -> (oauth2_api::sandbox::Sandbox, oauth2_api::Runtime) {
    let sandbox = oauth2_api::sandbox::Sandbox::serve(echo_config(), routes)
        .await
        .unwrap();
    let runtime = builder_for(keyed_provider(&sandbox, ""))
        .store(MemoryStore::new())
        .cache_ttl(LONG)
        .build()
        .unwrap();
    (sandbox, runtime)
}

/// Found (fixed): the escape hatch refuses a `.`/`..` segment "plain or encoded" (README
/// Security; `target.rs` splits the path on `/` only), but the `url` crate also treats
/// `\` as a segment separator in an http(s) path: `/nowhere/..\echo` is sent to `/echo`.
/// With a base URL that has a path (Xero's `/api.xro/2.0`), `/..\..\x` leaves it.
#[tokio::test]
async fn review16b_a_backslash_dot_segment_in_an_escape_hatch_path_is_refused() {
    let company = Company(1651);
    let (sandbox, runtime) = echo_runtime(&company, |b| b).await;
    let before = sandbox.counts().api;
    let mut sent = Vec::new();
    for path in [
        "/nowhere/..\\echo",
        "/nowhere/%2e%2e\\echo",
        "/a/b\\..\\..\\echo",
    ] {
        let answer = runtime
            .request(&company, Method::Get, path)
            .scopes(&["hello"])
            .send()
            .await;
        match answer {
            Err(Error::InvalidArgument { argument, .. }) if argument == "path" => {}
            other => sent.push(format!(
                "{path:?}: {:?}",
                other.map(|a| (a.status, a.text().chars().take(40).collect::<String>()))
            )),
        }
    }
    assert!(
        sent.is_empty(),
        "paths with a dot segment behind a backslash were sent, not refused \
         (InvalidArgument `path`): {sent:#?}; requests the API got: {}",
        sandbox.counts().api - before
    );
}

/// Found (fixed): `shown()` strips user info only from an absolute URL it can parse: an
/// absolute URL with credentials that does not parse (a space in the host, a port out of
/// range: a typo) is named whole, password included, in the request's `Debug` and in the
/// error's `Display` and `Debug` (the endpoint name is `GET <the URL>`).
#[tokio::test]
async fn review16b_an_unreadable_absolute_url_shows_no_password() {
    let company = Company(1652);
    let (_sandbox, runtime) = echo_runtime(&company, |b| b).await;
    let mut shown = Vec::new();
    for url in [
        "https://user:pw-secret-8d2c@exa mple.com/x",
        "https://user:pw-secret-8d2c@api.example.com:99999/x",
    ] {
        let request = runtime
            .request(&company, Method::Get, url)
            .scopes(&["hello"]);
        let debug = format!("{request:?}");
        let err = request.send().await.unwrap_err();
        let printed = format!("{debug}\n{err}\n{err:?}");
        if printed.contains("pw-secret-8d2c") {
            shown.push(printed);
        }
    }
    assert!(shown.is_empty(), "the URL's password is shown: {shown:#?}");
}

/// Found (fixed): a `Provider` with a key in an API-level header (`Provider::header`, the
/// declaration's `headers(...)`) or in a base URL's query, and a `RuntimeBuilder` holding
/// it or a base URL override with a key: their derived `Debug` prints both. The runtime's
/// own `Debug` hides them (review 16 fixed `ResolvedEnvironment`), the builder's and the
/// provider's, printed in the same `tracing::debug!(?builder)`, do not.
#[test]
fn review16b_a_providers_and_builders_debug_show_no_key() {
    let provider = Provider::new("Keyed16b")
        .header("X-Api-Key", "header-secret-0a7f")
        .environment(
            Environment::new(
                "sandbox",
                "https://api.example.com/?api_key=url-secret-51c3",
                "https://login.example.com/authorize",
                "https://login.example.com/token",
            )
            .named_base_url("files", "https://files.example.com/?key=named-secret-e690"),
        );
    let builder = builder_for(provider.clone()).base_url(
        "sandbox",
        "https://api2.example.com/?api_key=override-secret-2b94",
    );
    let printed = format!("{provider:?}\n{builder:?}");
    let secrets = [
        "header-secret-0a7f",
        "url-secret-51c3",
        "named-secret-e690",
        "override-secret-2b94",
    ];
    let shown: Vec<&str> = secrets
        .into_iter()
        .filter(|s| printed.contains(s))
        .collect();
    assert!(shown.is_empty(), "{shown:?} shown in:\n{printed}");
}

/// Found (fixed): a base URL refused by `build()` is quoted whole in `Error::Config`, its query
/// (an API key, which the runtime supports there) included: plain `http` off loopback (a
/// newcomer's first try with a staging host) or a URL that does not parse.
#[test]
fn review16b_a_refused_base_url_is_named_without_its_query() {
    let mut shown = Vec::new();
    for base in [
        "http://staging.example.com/v1?api_key=cfg-secret-93aa",
        "https://exa mple.com/v1?api_key=cfg-secret-93aa",
    ] {
        let provider = Provider::new("Keyed16b").environment(Environment::new(
            "sandbox",
            base,
            "https://login.example.com/authorize",
            "https://login.example.com/token",
        ));
        let err = builder_for(provider)
            .store(MemoryStore::new())
            .build()
            .unwrap_err();
        let printed = format!("{err}\n{err:?}");
        assert!(matches!(err, Error::Config(_)), "{printed}");
        if printed.contains("cfg-secret-93aa") {
            shown.push(printed);
        }
    }
    assert!(shown.is_empty(), "the key is shown: {shown:#?}");
}

/// Routes of a server on another origin that record the headers they get.
async fn recorder() -> (String, Arc<Mutex<Vec<HeaderMap>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    let app = Router::new().route(
        "/landing",
        get(move |headers: HeaderMap| {
            kept.lock().unwrap().push(headers);
            async { "[]" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, got)
}

/// Found (fixed): a provider with an API key in a header (the API's `headers(...)`,
/// `Provider::header`) or one a call adds, whose API answers a redirect to another origin
/// (a download on a CDN, GitHub's archive links, a compromised or misconfigured route):
/// the API client follows it and sends the key there. reqwest drops `Authorization`,
/// `Cookie` and `Proxy-Authorization` on a cross-origin redirect, nothing else; the
/// token is safe, the API key and the call's own credentials are not. (Token requests
/// never follow redirects; API calls do, and the README says nothing of it.)
#[tokio::test]
async fn review16b_api_level_and_call_headers_do_not_follow_a_redirect_elsewhere() {
    let (elsewhere, got) = recorder().await;
    let target = format!("{elsewhere}/landing");
    let routes = echo_routes("sandbox").route(
        "/download",
        get(move || {
            let target = target.clone();
            async move { (axum::http::StatusCode::FOUND, [("location", target)], "") }
        }),
    );
    let (sandbox, runtime) = keyed_runtime(routes).await;
    let company = Company(1654);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let answer = runtime
        .request(&company, Method::Get, "/download")
        .scopes(&["hello"])
        .header("X-Tenant-Secret", "call-secret-c11d")
        .send()
        .await
        .unwrap();
    let got = got.lock().unwrap().clone();
    let leaked: Vec<String> = got
        .iter()
        .flat_map(|h| h.iter())
        .filter(|(n, _)| ["x-api-key", "x-tenant-secret", "authorization"].contains(&n.as_str()))
        .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or("?")))
        .collect();
    assert!(
        leaked.is_empty(),
        "a redirect to {elsewhere} (answer {}) received {leaked:?}",
        answer.status
    );
    assert_eq!(
        answer.status, 302,
        "the redirect elsewhere is the caller's answer"
    );
}

/// A redirect on the API's own origin is still followed, token and headers with it (an
/// API that moved a route): only one to another origin stops.
#[tokio::test]
async fn review16b_a_redirect_on_the_apis_own_origin_is_followed() {
    let routes = echo_routes("sandbox").route(
        "/moved",
        get(|| async {
            (
                axum::http::StatusCode::FOUND,
                [("location", "/echo?moved=1")],
                "",
            )
        }),
    );
    let (sandbox, runtime) = keyed_runtime(routes).await;
    let company = Company(1658);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let answer = runtime
        .request(&company, Method::Get, "/moved")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let echo = echo_of(&answer);
    assert_eq!(echo["query"], "moved=1");
    assert_eq!(
        received(&echo, "x-api-key").len(),
        1,
        "the API's header went along"
    );
}

/// Found (fixed): a call-level `Host` header (`.header("Host", ..)`, a `#[header("Host")]`
/// argument, an endpoint's `headers`) is sent as given, with the session's bearer token:
/// the request reaches the environment's server but names another virtual host (another
/// tenant behind a shared front end or CDN). The token is never sent off the
/// environment's origin by URL (`ForeignUrl`); by `Host` it is. Refuse it, or send the
/// URL's own: it is refused.
#[tokio::test]
async fn review16b_a_call_level_host_header_does_not_redirect_the_token() {
    let company = Company(1655);
    let (sandbox, runtime) = echo_runtime(&company, |b| b).await;
    let before = sandbox.counts().api;
    let answer = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .header("Host", "other-tenant.example")
        .send()
        .await;
    match answer {
        Err(Error::InvalidArgument { argument, .. }) => assert_eq!(argument, "header Host"),
        other => panic!("a Host header went with the token: {other:?}"),
    }
    assert_eq!(sandbox.counts().api, before, "nothing was sent");
}

/// FAILS (low): the escape hatch with a path that is only a query (`"?page=2"`, what a
/// relative `Link` target may be, RFC 3986, and what the README's declared pagination
/// follows) is refused ("neither a path nor an http(s) URL"), where "appended to the
/// environment's base URL" reads as the base URL with that query.
#[tokio::test]
async fn review16b_an_escape_hatch_query_only_path_goes_to_the_base_url() {
    let company = Company(1656);
    let sandbox = oauth2_api::sandbox::Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let provider = Provider::new("Base16b").environment(Environment::new(
        "sandbox",
        format!("{}/echo", sandbox.url()),
        sandbox.auth_url(),
        sandbox.token_url(),
    ));
    let runtime = builder_for(provider)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let answer = runtime
        .request(&company, Method::Get, "?page=2")
        .scopes(&["hello"])
        .send()
        .await;
    match answer {
        Ok(answer) => assert_eq!(echo_of(&answer)["query"], "page=2"),
        Err(e) => panic!("`?page=2` under base URL .../echo: {e}"),
    }
}

/// Holds: escape-hatch paths as a newcomer writes them: a fragment that holds a `?`, a
/// `?` with nothing after it, an encoded `?` (stays in the path), an absolute URL with
/// its query and fragment plus `.query`; header names differing only in case across the
/// API level and the call level (the call's replace the API's; its two values are both
/// sent); the request's `Debug` names no value.
#[tokio::test]
async fn review16b_escape_hatch_paths_and_header_case_hold() {
    let sandbox = oauth2_api::sandbox::Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let runtime = builder_for(keyed_provider(&sandbox, ""))
        .store(MemoryStore::new())
        .cache_ttl(LONG)
        .build()
        .unwrap();
    let company = Company(1657);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let origin = sandbox.url();
    // (path, a `.query` added, the status, the query the echo route got)
    type Case<'a> = (String, Option<(&'a str, &'a str)>, u16, Value);
    let cases: Vec<Case<'_>> = vec![
        ("/echo?x=1#f?y=2".into(), None, 200, Value::from("x=1")),
        ("/echo#x?y=1".into(), None, 200, Value::Null),
        ("/echo?".into(), Some(("z", "3")), 200, Value::from("z=3")),
        ("/echo%3Fx=1".into(), None, 404, Value::Null),
        (
            format!("{origin}/echo?x=1#frag"),
            Some(("z", "3")),
            200,
            Value::from("x=1&z=3"),
        ),
    ];
    for (path, more, status, query) in cases {
        let mut request = runtime
            .request(&company, Method::Get, &path)
            .scopes(&["hello"]);
        if let Some((n, v)) = more {
            request = request.query(n, v);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status, status, "{path}: {}", answer.text());
        if status == 200 {
            assert_eq!(echo_of(&answer)["query"], query, "{path}");
        }
    }
    let request = runtime
        .request(
            &company,
            Method::Get,
            "/echo?api_key=given-secret-77f0#frag",
        )
        .scopes(&["hello"])
        .header("X-API-KEY", "call-secret-1")
        .header("x-api-key", "call-secret-2");
    let printed = format!("{request:?}");
    assert!(
        !printed.contains("given-secret-77f0") && !printed.contains("call-secret"),
        "{printed}"
    );
    let echo = echo_of(&request.send().await.unwrap());
    assert_eq!(
        (received(&echo, "x-api-key"), echo["query"].clone()),
        (
            vec!["call-secret-1".to_owned(), "call-secret-2".to_owned()],
            Value::from("api_key=given-secret-77f0")
        )
    );
}

/// Holds: with a request hook, the hook sees the API's header under the call's spelling
/// once (the call's replace it), cannot smuggle `Authorization` in any case, and what
/// the server gets is what the hook saw plus what it added.
#[tokio::test]
async fn review16b_a_hook_sees_the_call_level_header_once_whatever_its_case() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let kept = seen.clone();
    let sandbox = oauth2_api::sandbox::Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let runtime = builder_for(keyed_provider(&sandbox, ""))
        .store(MemoryStore::new())
        .cache_ttl(LONG)
        .request_hook(move |r: &mut OutgoingRequest<'_>| {
            kept.lock().unwrap().push(format!("{r:?}"));
            if r.url.path() == "/echo" && r.url.query() == Some("smuggle=1") {
                r.add_header("AUTHORIZATION", "Basic c211Z2dsZWQ=");
            }
            r.add_header("X-Trace", "t1");
            Ok(())
        })
        .build()
        .unwrap();
    let company = Company(1658);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let answer = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .header("x-API-key", "call-secret-3")
        .send()
        .await
        .unwrap();
    let echo = echo_of(&answer);
    assert_eq!(received(&echo, "x-api-key"), ["call-secret-3"]);
    assert_eq!(received(&echo, "x-trace"), ["t1"]);
    let printed = seen.lock().unwrap().join("\n");
    assert_eq!(
        printed.to_lowercase().matches("x-api-key").count(),
        1,
        "{printed}"
    );
    assert!(!printed.contains("call-secret-3"), "{printed}");
    let smuggled = runtime
        .request(&company, Method::Get, "/echo?smuggle=1")
        .scopes(&["hello"])
        .send()
        .await;
    assert!(
        matches!(&smuggled, Err(Error::InvalidArgument { argument, .. }) if argument == "header Authorization"),
        "{smuggled:?}"
    );
}

/// Holds: a call's `User-Agent` replaces the runtime's (one value sent), the runtime's
/// is sent otherwise; a path beginning `//` stays a path on the environment's origin.
#[tokio::test]
async fn review16b_user_agent_and_double_slash_paths_hold() {
    let company = Company(1659);
    let (_sandbox, runtime) = echo_runtime(&company, |b| b).await;
    let send = |ua: Option<&'static str>| {
        let mut request = runtime
            .request(&company, Method::Get, "/echo")
            .scopes(&["hello"]);
        if let Some(ua) = ua {
            request = request.header("user-AGENT", ua);
        }
        request.send()
    };
    let default = echo_of(&send(None).await.unwrap());
    let own = echo_of(&send(Some("my-app/1.0")).await.unwrap());
    assert_eq!(
        (
            received(&default, "user-agent"),
            received(&own, "user-agent")
        ),
        (
            vec![oauth2_api::DEFAULT_USER_AGENT.to_owned()],
            vec!["my-app/1.0".to_owned()]
        )
    );
    let answer = runtime
        .request(&company, Method::Get, "//evil.example/echo")
        .scopes(&["hello"])
        .send()
        .await;
    // Sent to the sandbox (which has no such route) or refused; never elsewhere.
    if let Ok(answer) = answer {
        assert_eq!(answer.status, 404, "{}", answer.text());
    }
}
