//! Throttling as providers say it: `Retry-After` as an HTTP date, and a classifier for
//! answers that are not 429 (GitHub's 403 with `x-ratelimit-remaining: 0`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Application, Method, RetryPolicy, Runtime, RuntimeBuilder, Throttled};
use oauth2_api_tests::{builder_for, sandbox_provider};

/// A route that answers `first` once, then 200.
fn once_then_ok(first: fn() -> (StatusCode, HeaderMap)) -> (Router, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let route = get(move || {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            match n {
                0 => first().into_response(),
                _ => (StatusCode::OK, "done").into_response(),
            }
        }
    });
    (Router::new().route("/limited", route), calls)
}

async fn runtime_on(
    routes: Router,
    more: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder,
) -> (Sandbox, Runtime) {
    let sandbox = Sandbox::serve(SandboxConfig::default(), routes)
        .await
        .unwrap();
    let builder = builder_for(sandbox_provider(&sandbox))
        .store(MemoryStore::new())
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)));
    (sandbox, more(builder).build().unwrap())
}

async fn status_of(runtime: &Runtime) -> u16 {
    let answer = runtime
        .request(&Application, Method::Get, "/limited")
        .send()
        .await;
    answer.unwrap().status
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let (routes, calls) = once_then_ok(|| {
        let mut headers = HeaderMap::new();
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        headers.insert("retry-after", past.parse().unwrap());
        (StatusCode::TOO_MANY_REQUESTS, headers)
    });
    let (_sandbox, runtime) = runtime_on(routes, |b| b).await;
    assert_eq!(status_of(&runtime).await, 200);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a date already past is no wait"
    );
}

fn github_limited() -> (StatusCode, HeaderMap) {
    let mut headers = HeaderMap::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
    headers.insert("x-ratelimit-reset", now.to_string().parse().unwrap());
    (StatusCode::FORBIDDEN, headers)
}

/// GitHub's rule, as an application writes it.
fn github(status: u16, headers: &HeaderMap) -> Option<Throttled> {
    let header = |name: &str| headers.get(name)?.to_str().ok()?.parse::<u64>().ok();
    if status != 403 || header("x-ratelimit-remaining") != Some(0) {
        return None;
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    let reset = header("x-ratelimit-reset")?;
    Some(Throttled {
        retry_after: Some(Duration::from_secs(reset.saturating_sub(now))),
    })
}

#[tokio::test]
async fn a_classifier_makes_a_403_with_an_exhausted_rate_limit_throttling() {
    let (routes, calls) = once_then_ok(github_limited);
    let (_sandbox, runtime) = runtime_on(routes, |b| b).await;
    assert_eq!(status_of(&runtime).await, 403, "not throttling by default");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let (routes, calls) = once_then_ok(github_limited);
    let (_sandbox, runtime) = runtime_on(routes, |b| b.throttle_classifier(github)).await;
    assert_eq!(status_of(&runtime).await, 200);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "retried once the limit reset"
    );
}
