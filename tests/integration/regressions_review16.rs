//! Review 16 (per-call overhead work): what the call path promises, tried on the paths the
//! overhead benchmark does not take: headers an API fixes, an endpoint fixes and a hook
//! adds; the escape hatch used as a newcomer would (a path with its query, an
//! `Authorization` header of its own); what a request hook may print.
//!
//! Tests named `review16_*`; those that fail at the time of the review say what they
//! found in their message.

use std::sync::{Arc, Mutex};

use oauth2_api::store::MemoryStore;
use oauth2_api::{Error, Method, OutgoingRequest, RuntimeBuilder, oauth2_api};
use oauth2_api_tests::{Company, REDIRECT_URL, authorize, sandbox_client};
use serde_json::Value;

use crate::regressions_fast_path::{LONG, echo_config, echo_routes};
use crate::regressions_rate_and_spans::echo_runtime;

/// A GitHub-style API: every call asks for GitHub's JSON media type, one endpoint asks
/// for the raw one instead (as GitHub's contents API is used), one takes it as an argument.
#[oauth2_api(
    provider = "GitHubLike",
    base_url = "https://api.github.com",
    auth_url = "https://github.com/login/oauth/authorize",
    token_url = "https://github.com/login/oauth/access_token",
    headers("Accept" = "application/vnd.github+json", "X-GitHub-Api-Version" = "2022-11-28")
)]
pub trait GitHubLike {
    #[endpoint(method = GET, path = "/echo", scope = "hello", user = Company)]
    async fn plain(&self) -> Result<Value, Error>;

    #[endpoint(method = GET, path = "/echo", scope = "hello", user = Company,
               headers("Accept" = "application/vnd.github.raw"))]
    async fn raw_contents(&self) -> Result<Value, Error>;

    #[endpoint(method = GET, path = "/echo", scope = "hello", user = Company)]
    async fn with_accept(&self, #[header("Accept")] accept: &str) -> Result<Value, Error>;

    #[endpoint(method = GET, path = "/echo", scope = "hello", user = Company)]
    async fn with_accepts(&self, #[header("Accept")] accept: Vec<&str>) -> Result<Value, Error>;
}

async fn github_like(
    more: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder,
) -> (oauth2_api::sandbox::Sandbox, GitHubLikeClient, Company) {
    let config = oauth2_api::sandbox::SandboxConfig {
        auth_path: "/login/oauth/authorize".to_owned(),
        token_path: "/login/oauth/access_token".to_owned(),
        ..echo_config()
    };
    let sandbox = oauth2_api::sandbox::Sandbox::serve(config, echo_routes("sandbox"))
        .await
        .unwrap();
    let builder = GitHubLikeClient::builder()
        .credentials(sandbox_client(REDIRECT_URL))
        .all_urls_at(sandbox.url())
        .store(MemoryStore::new())
        .cache_ttl(LONG);
    let client = GitHubLikeClient::new(more(builder).build().unwrap());
    let company = Company(1601);
    authorize(&sandbox, client.runtime(), &company, &["hello"]).await;
    (sandbox, client, company)
}

/// The values of header `name` (lower case) the echo route received.
pub(crate) fn received(echo: &Value, name: &str) -> Vec<String> {
    echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap().to_owned())
        .collect()
}

/// An endpoint that fixes `Accept` (GitHub's raw media type) on an API that fixes
/// another for every call: the server must get the endpoint's, once. Found: both are
/// sent, the API's first, so a server reading the first `Accept` answers JSON.
#[tokio::test]
async fn review16_an_endpoints_fixed_header_replaces_the_apis_own() {
    let (_sandbox, client, company) = github_like(|b| b).await;
    let plain = client.plain(&company).await.unwrap();
    assert_eq!(received(&plain, "accept"), ["application/vnd.github+json"]);
    let raw = client.raw_contents(&company).await.unwrap();
    let by_argument = client
        .with_accept(&company, "application/vnd.github.diff")
        .await
        .unwrap();
    let found = (received(&raw, "accept"), received(&by_argument, "accept"));
    assert_eq!(
        found,
        (
            vec!["application/vnd.github.raw".to_owned()],
            vec!["application/vnd.github.diff".to_owned()]
        ),
        "the Accept headers the server received (endpoint-fixed, then #[header] argument)"
    );
}

/// The values one level gives a name are all sent (a sequence argument), replacing the
/// API's; with a request hook the same merge is what the hook sees and what is sent; an
/// `Authorization` a hook adds is refused beside the token (a declared one does not
/// compile).
#[tokio::test]
async fn review16_header_levels_merge_alike_with_and_without_hooks() {
    let seen = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    for hooked in [false, true] {
        let kept = seen.clone();
        let (sandbox, client, company) = github_like(move |b| match hooked {
            false => b,
            true => b.request_hook(move |r: &mut OutgoingRequest<'_>| {
                let shown = format!("{r:?}").to_lowercase();
                let names = shown.split("headers: [").nth(1).unwrap_or_default();
                let names = names.split(']').next().unwrap_or_default();
                let accept = names.matches("\"accept\"").count().to_string();
                kept.lock()
                    .unwrap()
                    .push(vec![r.endpoint.to_owned(), accept]);
                if r.endpoint == "plain" {
                    r.add_header("authorization", "token from-a-hook");
                }
                Ok(())
            }),
        })
        .await;
        let raw = client.raw_contents(&company).await.unwrap();
        let both = client.with_accepts(&company, vec!["a/b", "c/d"]).await;
        assert_eq!(
            (received(&raw, "accept"), received(&both.unwrap(), "accept")),
            (
                vec!["application/vnd.github.raw".to_owned()],
                vec!["a/b".to_owned(), "c/d".to_owned()]
            ),
            "hooked: {hooked}"
        );
        let before = sandbox.counts().api;
        if hooked {
            let by_hook = client.plain(&company).await;
            assert!(
                matches!(by_hook, Err(Error::InvalidArgument { .. })),
                "{by_hook:?}"
            );
        }
        assert_eq!(
            sandbox.counts().api,
            before,
            "hooked: {hooked}: a refused call was sent"
        );
    }
    let seen = seen.lock().unwrap().clone();
    let accepts: Vec<&str> = seen.iter().take(2).map(|s| s[1].as_str()).collect();
    assert_eq!(accepts, ["1", "2"], "`accept` names the hook saw: {seen:?}");
}

/// A request hook may replace a header (`set_header`) or remove one (`remove_header`),
/// the API's included: the server gets what the hook left, once.
#[tokio::test]
async fn review16_a_request_hook_replaces_and_removes_headers() {
    let (_sandbox, client, company) = github_like(|b| {
        b.request_hook(|r: &mut OutgoingRequest<'_>| {
            r.set_header("accept", "application/vnd.github.v3.diff");
            assert!(r.remove_header("x-github-api-version"));
            assert!(!r.remove_header("x-absent"));
            Ok(())
        })
    })
    .await;
    let echo = client.plain(&company).await.unwrap();
    assert_eq!(
        (
            received(&echo, "accept"),
            received(&echo, "x-github-api-version")
        ),
        (vec!["application/vnd.github.v3.diff".to_owned()], vec![])
    );
}

/// A request hook that adds a header only when the request has none of that name (what
/// `has_header` is for): the API's own headers are sent with the request, so the hook
/// must see them. Found: `has_header("Accept")` is false for the API-level `Accept`, and
/// the hook's default goes out beside it.
#[tokio::test]
async fn review16_a_request_hook_sees_the_headers_the_api_fixes() {
    let seen = Arc::new(Mutex::new(Vec::<(String, bool)>::new()));
    let kept = seen.clone();
    let (_sandbox, client, company) = github_like(move |b| {
        b.request_hook(move |r: &mut OutgoingRequest<'_>| {
            let has = r.has_header("Accept");
            kept.lock().unwrap().push((r.endpoint.to_owned(), has));
            if !has {
                r.add_header("Accept", "application/json");
            }
            Ok(())
        })
    })
    .await;
    let plain = client.plain(&company).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        (seen, received(&plain, "accept")),
        (
            vec![("plain".to_owned(), true)],
            vec!["application/vnd.github+json".to_owned()]
        ),
        "(what the hook saw, the Accept headers the server received)"
    );
}

/// The escape hatch with a path that carries its query (`"/echo?x=1"`, as a newcomer
/// copies one from an API's docs; `shown()` strips such a query from errors and spans):
/// it reaches `/echo` with `x=1`, the parameters of `.query` after it, and a fragment is
/// not sent. Found: the `?` was percent-encoded into the path (`/echo%3Fx=1`), and the
/// request silently went to another path.
#[tokio::test]
async fn review16_an_escape_hatch_path_with_its_query_reaches_that_path() {
    let company = Company(1602);
    let (_sandbox, runtime) = echo_runtime(&company, |b| b).await;
    let mut seen = Vec::new();
    for (path, more) in [
        ("/echo?x=1", None),
        ("/echo?x=1&y=a%20b#top", Some(("z", 3))),
    ] {
        let mut request = runtime
            .request(&company, Method::Get, path)
            .scopes(&["hello"]);
        if let Some((name, value)) = more {
            request = request.query(name, value);
        }
        let answer = request.send().await.unwrap();
        let echo: Value = serde_json::from_slice(&answer.body).unwrap();
        // The echo route answers `/echo` alone: a 200 is that path.
        seen.push((answer.status, echo["query"].clone()));
    }
    assert_eq!(
        seen,
        [
            (200, Value::from("x=1")),
            (200, Value::from("x=1&y=a%20b&z=3"))
        ]
    );
}

/// The escape hatch with an `Authorization` header of the caller's own (GitHub's
/// `token ...` habit, a Basic header): the runtime's bearer token and the caller's would
/// go side by side (which one a server or proxy reads is up to it). It is refused, in any
/// case, before anything is sent.
#[tokio::test]
async fn review16_an_escape_hatch_authorization_header_is_refused() {
    let company = Company(1603);
    let (sandbox, runtime) = echo_runtime(&company, |b| b).await;
    let before = sandbox.counts().api;
    for name in ["Authorization", "authorization"] {
        let sent = runtime
            .request(&company, Method::Get, "/echo")
            .scopes(&["hello"])
            .header(name, "token caller-own-credential")
            .send()
            .await;
        match sent {
            Err(Error::InvalidArgument { argument, .. }) => {
                assert_eq!(argument, "header Authorization")
            }
            other => panic!("{name}: expected InvalidArgument, got {other:?}"),
        }
    }
    assert_eq!(sandbox.counts().api, before, "nothing was sent");
}

/// A request hook that logs the request it is given (`tracing::debug!(?request)`, the
/// first thing a newcomer writes in a hook): its `Debug` must not show what a request
/// carries (a header's value, a query value), as `Outgoing`'s and `RawRequest`'s do not.
/// Found: `OutgoingRequest`'s derived `Debug` prints the full URL with its query values
/// and every header value.
#[tokio::test]
async fn review16_a_request_hooks_view_of_the_request_shows_no_value_in_debug() {
    let company = Company(1604);
    let printed = Arc::new(Mutex::new(String::new()));
    let kept = printed.clone();
    let (_sandbox, runtime) = echo_runtime(&company, move |b| {
        b.request_hook(move |r: &mut OutgoingRequest<'_>| {
            *kept.lock().unwrap() = format!("{r:?}");
            Ok(())
        })
    })
    .await;
    let answer = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .query("api_key", "query-secret-5f1d")
        .header("X-Api-Key", "header-secret-9c2e")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let printed = printed.lock().unwrap().clone();
    let shown: Vec<&str> = ["query-secret-5f1d", "header-secret-9c2e"]
        .into_iter()
        .filter(|secret| printed.contains(secret))
        .collect();
    assert!(shown.is_empty(), "{shown:?} in {printed}");
}

/// A provider that says "throttled" with a 200 (`x-ratelimit-remaining: 0`, read by a
/// `throttle_classifier`), to a person whose token is cached: the call is resent after
/// the wait and the caller gets the second answer, on the fast path (nothing listening)
/// and the general one (DEBUG) alike; a success is not final when a classifier is set.
#[tokio::test]
async fn review16_a_classifier_that_throttles_a_200_is_obeyed_on_both_paths() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::routing::get;

    use crate::regressions_call_paths::{Listen, Written, listen};

    let mut seen = Vec::new();
    for how in [Listen::Nothing, Listen::At(tracing::Level::DEBUG)] {
        let written = Written::default();
        let _guard = listen(how, &written);
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let routes = echo_routes("sandbox").route(
            "/limited",
            get(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    // The first call of the test warms the cache; the second is throttled.
                    let remaining = if n == 1 { "0" } else { "10" };
                    (
                        [("x-ratelimit-remaining", remaining)],
                        axum::Json(serde_json::json!({ "n": n })),
                    )
                }
            }),
        );
        let sandbox = oauth2_api::sandbox::Sandbox::serve(echo_config(), routes)
            .await
            .unwrap();
        let runtime = oauth2_api_tests::sandbox_builder(&sandbox)
            .store(MemoryStore::new())
            .cache_ttl(LONG)
            .throttle_classifier(|status: u16, headers: &axum::http::HeaderMap| {
                let exhausted = headers
                    .get("x-ratelimit-remaining")
                    .is_some_and(|v| v == "0");
                (status == 200 && exhausted).then_some(oauth2_api::Throttled {
                    retry_after: Some(std::time::Duration::from_millis(5)),
                })
            })
            .build()
            .unwrap();
        let company = Company(1605);
        authorize(&sandbox, &runtime, &company, &["hello"]).await;
        let call = || async {
            let answer = runtime
                .request(&company, Method::Get, "/limited")
                .scopes(&["hello"])
                .send()
                .await
                .unwrap();
            let body: Value = serde_json::from_slice(&answer.body).unwrap();
            (answer.status, body["n"].as_u64().unwrap())
        };
        let warm = call().await;
        let throttled = call().await;
        seen.push((how, warm, throttled, hits.load(Ordering::SeqCst)));
    }
    for (how, warm, throttled, hits) in &seen {
        assert_eq!(
            (*warm, *throttled, *hits),
            ((200, 0), (200, 2), 3),
            "{how:?}: (warm call, throttled call, requests the API got)"
        );
    }
}

/// A listing across two environments' APIs: pages saying where they come from, the next
/// one by a relative `Link` (`?page=2`, which RFC 8288 allows and the README follows).
#[oauth2_api(
    provider = "Listing16",
    environment(
        name = "sandbox",
        base_url = "https://sandbox.invalid",
        auth_url = "https://sandbox.invalid/oauth/authorize",
        token_url = "https://sandbox.invalid/oauth/token"
    ),
    environment(
        name = "production",
        base_url = "https://production.invalid",
        auth_url = "https://production.invalid/oauth/authorize",
        token_url = "https://production.invalid/oauth/token"
    )
)]
pub trait Listing16 {
    #[endpoint(method = GET, path = "/items", scope = "hello", user = Company, paginate(link))]
    async fn items(&self, #[query] page: u32) -> Result<Vec<Value>, Error>;
}

fn listing_routes(api: &'static str) -> axum::Router {
    use axum::extract::Query;
    use axum::routing::get;
    axum::Router::new().route(
        "/items",
        get(
            move |Query(q): Query<std::collections::BTreeMap<String, String>>| async move {
                let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let next = format!("<?page={}>; rel=\"next\"", page + 1);
                let link = if page < 3 { next } else { String::new() };
                (
                    [("link", link)],
                    axum::Json(serde_json::json!([{ "api": api, "page": page }])),
                )
            },
        ),
    )
}

/// A listing begun in one environment continues there, or ends: the user choosing
/// another environment between two pages must not make the next page (a relative `Link`
/// of the first environment's API) come from the other environment's API with its token.
/// Holds at the time of the review: the `Link` is resolved when its page is read, so the
/// next request is an absolute URL of the first environment, refused (`ForeignUrl`) in
/// the second.
#[tokio::test]
async fn review16_a_listing_stays_in_the_environment_it_began_in() {
    use oauth2_api::sandbox::Sandbox;
    let sandbox = Sandbox::serve(echo_config(), listing_routes("sandbox"))
        .await
        .unwrap();
    let production = Sandbox::serve(echo_config(), listing_routes("production"))
        .await
        .unwrap();
    let mut builder = Listing16Client::builder()
        .credentials(sandbox_client(REDIRECT_URL))
        .store(MemoryStore::new())
        .cache_ttl(LONG);
    for (env, server) in [
        (Listing16Env::Sandbox, &sandbox),
        (Listing16Env::Production, &production),
    ] {
        builder = builder
            .base_url(env, server.url())
            .auth_url(env, server.auth_url())
            .token_url(env, server.token_url());
    }
    let client = Listing16Client::new(builder.build().unwrap());
    let company = Company(1606);
    let runtime = client.runtime();
    authorize(&sandbox, runtime, &company, &["hello"]).await;
    runtime
        .select_environment(&company, "production")
        .await
        .unwrap();
    authorize(&production, runtime, &company, &["hello"]).await;
    runtime
        .select_environment(&company, "sandbox")
        .await
        .unwrap();

    let mut pages = client.items_pages(&company, 1);
    let first = pages.next().await.unwrap().unwrap();
    runtime
        .select_environment(&company, "production")
        .await
        .unwrap();
    let second = pages.next().await.map(|p| p.map(|p| p.body));
    let from = |items: &Vec<Value>| format!("{}:{}", items[0]["api"], items[0]["page"]);
    match second {
        None | Some(Err(_)) => {}
        Some(Ok(items)) => assert_eq!(
            (from(&first.body), from(&items)),
            ("\"sandbox\":1".to_owned(), "\"sandbox\":2".to_owned()),
            "(first page, second page) of one listing"
        ),
    }
}

/// A base URL that carries a key in its query (the runtime supports one: a request's
/// query is added after the base URL's own): the key goes out with every request, so it
/// is a secret, and a runtime's `Debug` (also inside `RawRequest`'s) must not print it.
#[tokio::test]
async fn review16_a_runtimes_debug_shows_no_base_url_query_value() {
    let company = Company(1607);
    let sandbox = oauth2_api::sandbox::Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let provider = oauth2_api::Provider::new("Keyed16").environment(oauth2_api::Environment::new(
        "sandbox",
        format!("{}/?api_key=base-secret-77aa", sandbox.url()),
        sandbox.auth_url(),
        sandbox.token_url(),
    ));
    let runtime = oauth2_api_tests::builder_for(provider)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let answer = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .query("x", 1)
        .send()
        .await
        .unwrap();
    let echo: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        echo["query"], "api_key=base-secret-77aa&x=1",
        "the key is sent"
    );
    let printed = format!(
        "{runtime:?} {:?}",
        runtime.request(&company, Method::Get, "/echo")
    );
    assert!(!printed.contains("base-secret-77aa"), "{printed}");
}
