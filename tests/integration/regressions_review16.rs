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
fn received(echo: &Value, name: &str) -> Vec<String> {
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
    let found = (
        received(&raw, "accept"),
        received(&by_argument, "accept"),
    );
    assert_eq!(
        found,
        (
            vec!["application/vnd.github.raw".to_owned()],
            vec!["application/vnd.github.diff".to_owned()]
        ),
        "the Accept headers the server received (endpoint-fixed, then #[header] argument)"
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
/// it must reach `/echo` with `x=1`, or be refused. Found: the `?` is percent-encoded
/// into the path (`/echo%3Fx=1`), and the request silently goes to another path.
#[tokio::test]
async fn review16_an_escape_hatch_path_with_its_query_reaches_that_path_or_is_refused() {
    let company = Company(1602);
    let (_sandbox, runtime) = echo_runtime(&company, |b| b).await;
    let sent = runtime
        .request(&company, Method::Get, "/echo?x=1")
        .scopes(&["hello"])
        .send()
        .await;
    match sent {
        Err(Error::InvalidArgument { .. }) => {}
        Ok(answer) if answer.status == 200 => {
            let echo: Value = serde_json::from_slice(&answer.body).unwrap();
            assert_eq!(echo["query"], "x=1");
        }
        other => panic!(
            "`/echo?x=1` neither reached /echo with its query nor was refused: {}",
            match other {
                Ok(a) => format!("status {} ({})", a.status, String::from_utf8_lossy(&a.body)),
                Err(e) => format!("{e:?}"),
            }
        ),
    }
}

/// The escape hatch with an `Authorization` header of the caller's own (GitHub's
/// `token ...` habit, a Basic header for an endpoint that wants one): the request must
/// carry one `Authorization`, not the runtime's bearer token and the caller's side by
/// side (which one a server or proxy reads is up to it), or be refused.
#[tokio::test]
async fn review16_an_escape_hatch_authorization_header_is_not_sent_beside_the_token() {
    let company = Company(1603);
    let (_sandbox, runtime) = echo_runtime(&company, |b| b).await;
    let sent = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .header("Authorization", "token caller-own-credential")
        .send()
        .await;
    match sent {
        Err(Error::InvalidArgument { .. }) => {}
        Ok(answer) if answer.status == 200 => {
            let echo: Value = serde_json::from_slice(&answer.body).unwrap();
            let authorization = received(&echo, "authorization");
            assert_eq!(
                authorization.len(),
                1,
                "Authorization headers the server received: {:?}",
                authorization
                    .iter()
                    .map(|v| v.split(' ').next().unwrap_or_default())
                    .collect::<Vec<_>>()
            );
        }
        other => panic!("unexpected: {other:?}"),
    }
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
