//! The call's fast path against what tries to break it: the call cache (environment and
//! token found in one lookup) under long and endless times to live, environment switches
//! racing calls, refusals of a cached token, the application's token.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Extension, Json, Router};
use oauth2_api::sandbox::{Sandbox, SandboxConfig, SandboxGrant};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Application, AuthorizationReason, Environment, Method, Runtime};
use oauth2_api_tests::{Company, authorize, builder_for, hello_status, sandbox_builder};
use serde_json::{Value, json};

use crate::regressions_call_paths::{Listen, Written, listen};

pub(crate) const LONG: Duration = Duration::from_secs(3600);

/// Routes that echo what arrived: the raw query, the headers, and which API answered.
pub(crate) fn echo_routes(name: &'static str) -> Router {
    Router::new()
        .route(
            "/echo",
            get(
                move |RawQuery(query): RawQuery, headers: HeaderMap| async move {
                    let headers: Vec<(String, String)> = headers
                        .iter()
                        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                        .collect();
                    Json(json!({ "api": name, "query": query, "headers": headers }))
                },
            ),
        )
        .route(
            "/wider",
            get(|Extension(grant): Extension<SandboxGrant>| async move {
                grant.require("admin")?;
                Ok::<_, axum::response::Response>(Json(json!({})))
            }),
        )
}

pub(crate) fn echo_config() -> SandboxConfig {
    SandboxConfig {
        scopes: vec!["hello".to_owned(), "admin".to_owned()],
        ..SandboxConfig::default()
    }
}

/// The plain sandbox and a runtime on it (memory store, an hour's call cache).
pub(crate) async fn long_cache_sandbox() -> (Sandbox, Runtime) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .cache_ttl(LONG)
        .build()
        .unwrap();
    (sandbox, runtime)
}

/// The echo sandbox, a runtime on it (memory store, an hour's call cache), and
/// `company` authorized there for `hello`.
pub(crate) async fn echo_authorized(company: &Company) -> (Sandbox, Runtime) {
    let sandbox = Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .cache_ttl(LONG)
        .build()
        .unwrap();
    authorize(&sandbox, &runtime, company, &["hello"]).await;
    (sandbox, runtime)
}

pub(crate) async fn echo(runtime: &Runtime, user: &Company, query: &[(&str, &str)]) -> Value {
    let mut request = runtime
        .request(user, Method::Get, "/echo")
        .scopes(&["hello"]);
    for (n, v) in query {
        request = request.query(n, v);
    }
    let answer = request.send().await.unwrap();
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

/// `cache_ttl(Duration::MAX)` ("remember until a write") must not panic a call (an
/// instant plus the time to live would overflow).
#[tokio::test]
async fn a_cache_ttl_of_duration_max_does_not_panic_a_call() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .cache_ttl(Duration::MAX)
        .build()
        .unwrap();
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let call = tokio::spawn({
        let runtime = runtime.clone();
        let company = company.clone();
        async move { hello_status(&runtime, &company).await }
    });
    let joined = call.await;
    assert!(
        joined.is_ok(),
        "the call panicked: {:?}",
        joined.err().map(|e| e.is_panic())
    );
    assert_eq!(joined.unwrap().unwrap(), 200);
}

/// The same with `u64::MAX` seconds (what `Duration::from_secs(u64::MAX)` gives).
#[tokio::test]
async fn a_huge_cache_ttl_does_not_panic_environment_of() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .cache_ttl(Duration::from_secs(u64::MAX))
        .build()
        .unwrap();
    let company = Company(2);
    // `Runtime::token` goes through the cached environment read too.
    let joined = tokio::spawn({
        let runtime = runtime.clone();
        async move { runtime.token(&company, &["hello"]).await.map(|_| ()) }
    })
    .await;
    assert!(joined.is_ok(), "Runtime::token panicked");
}

/// Two echo sandboxes as the environments `sandbox` and `production` of one runtime
/// (memory store, an hour's call cache).
async fn two_environments() -> (Sandbox, Sandbox, Runtime) {
    let sandbox = Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let production = Sandbox::serve(echo_config(), echo_routes("production"))
        .await
        .unwrap();
    let provider = oauth2_api_tests::sandbox_provider(&sandbox).environment(Environment::new(
        "production",
        production.url(),
        production.auth_url(),
        production.token_url(),
    ));
    let runtime = builder_for(provider)
        .store(MemoryStore::new())
        .cache_ttl(LONG)
        .build()
        .unwrap();
    (sandbox, production, runtime)
}

/// Two environments, each with its own cached token: every call after a switch goes
/// to the environment chosen, with that environment's token, even while other calls
/// of the same user run concurrently and fill the cache.
#[tokio::test]
async fn switching_environments_under_concurrent_calls_never_crosses_tokens() {
    let (sandbox, production, runtime) = two_environments().await;
    let company = Company(4);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    runtime
        .select_environment(&company, "production")
        .await
        .unwrap();
    authorize(&production, &runtime, &company, &["hello"]).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut background = Vec::new();
    for _ in 0..4 {
        let (runtime, company, stop) = (runtime.clone(), company.clone(), stop.clone());
        background.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Each answer comes from the API of the token's own environment
                // (a token of the other one would be refused by the sandbox: 401 →
                // renewal → AuthorizationRequired or a mismatch below).
                let answer = runtime
                    .request(&company, Method::Get, "/echo")
                    .scopes(&["hello"])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status, 200);
            }
        }));
    }
    for round in 0..40 {
        let env = if round % 2 == 0 {
            "sandbox"
        } else {
            "production"
        };
        runtime.select_environment(&company, env).await.unwrap();
        let answer = echo(&runtime, &company, &[]).await;
        assert_eq!(answer["api"], env, "round {round}");
        tokio::task::yield_now().await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in background {
        task.await.unwrap();
    }
    assert_eq!(
        (
            sandbox.counts().refresh_token,
            production.counts().refresh_token
        ),
        (0, 0),
        "no token was refused"
    );
}

/// The store written directly (`Runtime::store().set_environment`) with a switch; the
/// default environment's `None` entry must not be served afterwards.
#[tokio::test]
async fn an_environment_written_through_the_store_is_seen_at_once() {
    let (sandbox, _production, runtime) = two_environments().await;
    let company = Company(5);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(echo(&runtime, &company, &[]).await["api"], "sandbox");
    runtime
        .store()
        .set_environment(
            runtime.provider(),
            &oauth2_api::ApiUser::user_ref(&company),
            "production",
        )
        .await
        .unwrap();
    let err = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    let required = err
        .authorization_required()
        .expect("production has no session");
    assert_eq!(&*required.session.environment, "production");
}

/// A 401 for a cached token rereads the store and renews once.
#[tokio::test]
async fn a_refused_cached_token_is_renewed_once_and_resent() {
    let (sandbox, runtime) = long_cache_sandbox().await;
    let company = Company(6);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    sandbox.expire_access_tokens();
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    let counts = sandbox.counts();
    assert_eq!((counts.refresh_token, counts.api), (1, 4));
}

/// The application's own token (client credentials) is cached, refused, renewed.
#[tokio::test]
async fn the_application_token_is_cached_and_renewed_on_401() {
    let (sandbox, runtime) = long_cache_sandbox().await;
    let call = || async {
        runtime
            .request(&Application, Method::Get, "/hello/application")
            .send()
            .await
            .unwrap()
            .status
    };
    assert_eq!(call().await, 200);
    assert_eq!(call().await, 200);
    sandbox.expire_access_tokens();
    assert_eq!(call().await, 200);
    let counts = sandbox.counts();
    assert_eq!((counts.client_credentials, counts.api), (2, 4));
}

/// insufficient_scope for a cached token: authorization asked for the wider scope, the
/// token kept for what it covers.
#[tokio::test]
async fn insufficient_scope_with_a_cached_token_asks_for_more_and_keeps_the_token() {
    let company = Company(7);
    let (sandbox, runtime) = echo_authorized(&company).await;
    echo(&runtime, &company, &[]).await;
    let err = runtime
        .request(&company, Method::Get, "/wider")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    let required = err.authorization_required().expect("more scopes");
    assert_eq!(required.reason, AuthorizationReason::InsufficientScope);
    echo(&runtime, &company, &[]).await;
    assert_eq!(sandbox.counts().refresh_token, 0);
}

/// With a subscriber at DEBUG, calls take the general path (each in its span): a cached
/// token, a 401 renewed once, a throttled answer retried, and each call's span closes
/// with the status it ended with.
#[tokio::test]
async fn under_a_subscriber_calls_renew_retry_and_record_their_status() {
    let written = Written::default();
    let _listening = listen(Listen::At(tracing::Level::DEBUG), &written);
    let (sandbox, runtime) = long_cache_sandbox().await;
    let company = Company(8);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    sandbox.expire_access_tokens();
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    sandbox.fail_next_api_call(oauth2_api::sandbox::ApiFault::Throttled(0));
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    let counts = sandbox.counts();
    assert_eq!((counts.refresh_token, counts.api), (1, 5));
    let logs = written.text();
    // Each call's span closed with the status it ended with.
    assert_eq!(written.statuses(), ["200", "200", "200"], "{logs}");
    assert!(logs.contains("throttled: retrying"), "{logs}");
}
