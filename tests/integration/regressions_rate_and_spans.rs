//! Around the call: the rate limit (a request that cannot be built takes no place and
//! does not wait), request hooks on each attempt, the call span's status (open endpoints
//! too, never the application's own span), `Retry-After` beyond a u64.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Application, Error, Method, Runtime, RuntimeBuilder};
use oauth2_api_tests::{Company, authorize, sandbox_builder};

use crate::regressions_call_paths::{Listen, Written, counts, listen};
use crate::regressions_fast_path::{LONG, echo_authorized, echo_config, echo_routes};

/// A runtime on the echo sandbox with `more` applied, `company` authorized for `hello`
/// and its token cached.
pub(crate) async fn echo_runtime(
    company: &Company,
    more: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder,
) -> (Sandbox, Runtime) {
    let sandbox = Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let runtime = more(
        sandbox_builder(&sandbox)
            .store(MemoryStore::new())
            .cache_ttl(LONG),
    )
    .build()
    .unwrap();
    authorize(&sandbox, &runtime, company, &["hello"]).await;
    (sandbox, runtime)
}

/// A request whose hook refuses it (or whose hook adds a header that cannot be one)
/// is never sent: it must not take a place under the rate limit, nor wait for one.
#[tokio::test]
async fn a_request_refused_while_being_built_takes_no_place_under_the_rate_limit() {
    let mut failures = Vec::new();
    for bad_header in [false, true] {
        let company = Company(20);
        let refuse = Arc::new(AtomicBool::new(false));
        let flag = refuse.clone();
        let window = Duration::from_millis(1500);
        let (sandbox, runtime) = echo_runtime(&company, |b| {
            b.rate_limit(1, window)
                .request_hook(move |r: &mut oauth2_api::OutgoingRequest<'_>| {
                    if !flag.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    if bad_header {
                        r.add_header("X-Stamp", "bad\r\nvalue");
                        return Ok(());
                    }
                    Err(Error::Config("the hook refuses".to_owned()))
                })
        })
        .await;
        let echo = || async {
            runtime
                .request(&company, Method::Get, "/echo")
                .scopes(&["hello"])
                .send()
                .await
        };
        // Let the authorization's own requests out of the window.
        tokio::time::sleep(window).await;
        let start = Instant::now();
        assert_eq!(echo().await.unwrap().status, 200);
        let api = sandbox.counts().api;
        refuse.store(true, Ordering::SeqCst);
        let refused_at = Instant::now();
        let refused = echo().await;
        let refused_after = refused_at.elapsed();
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(sandbox.counts().api, api, "nothing sent");
        refuse.store(false, Ordering::SeqCst);
        assert_eq!(echo().await.unwrap().status, 200);
        let total = start.elapsed();
        if !(refused_after < Duration::from_millis(500) && total < window * 2) {
            failures.push(format!(
                "bad_header={bad_header}: the refused request waited {refused_after:?} for \
                 the rate limit, and the next call came {total:?} after the first (one \
                 window is {window:?}): the refused request took a place"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The same for an absolute URL on another origin, with a cached token (the fast path
/// refuses it in `build_request`, after the limiter): refused at once, no place taken.
#[tokio::test]
async fn a_foreign_url_takes_no_place_under_the_rate_limit() {
    let company = Company(21);
    let window = Duration::from_millis(1500);
    let (sandbox, runtime) = echo_runtime(&company, |b| b.rate_limit(1, window)).await;
    tokio::time::sleep(window).await;
    let start = Instant::now();
    let ok = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .send()
        .await;
    assert_eq!(ok.unwrap().status, 200);
    let refused_at = Instant::now();
    let foreign = runtime
        .request(&company, Method::Get, "http://127.0.0.1:9/steal")
        .scopes(&["hello"])
        .send()
        .await;
    let refused_after = refused_at.elapsed();
    assert!(
        matches!(foreign, Err(Error::ForeignUrl { .. })),
        "{foreign:?}"
    );
    let again = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .send()
        .await;
    assert_eq!(again.unwrap().status, 200);
    let total = start.elapsed();
    assert_eq!(sandbox.counts().api, 2);
    assert!(
        refused_after < Duration::from_millis(500) && total < window * 2,
        "the foreign URL waited {refused_after:?}; the next call came {total:?} after the first"
    );
}

/// A call whose token is cached (the common path, which sends what it built at once)
/// still waits its turn: the second call in the window is not sent until the window
/// moves on.
#[tokio::test]
async fn a_call_with_a_cached_token_waits_its_turn_under_the_rate_limit() {
    let company = Company(22);
    let window = Duration::from_millis(1500);
    let (sandbox, runtime) = echo_runtime(&company, |b| b.rate_limit(1, window)).await;
    tokio::time::sleep(window).await;
    let echo = || {
        runtime
            .request(&company, Method::Get, "/echo")
            .scopes(&["hello"])
            .send()
    };
    assert_eq!(echo().await.unwrap().status, 200);
    let early = tokio::time::timeout(window / 3, echo()).await;
    assert!(early.is_err(), "a second call went out inside the window");
    assert_eq!(sandbox.counts().api, 1, "the waiting call was sent");
    assert_eq!(echo().await.unwrap().status, 200);
    assert_eq!(sandbox.counts().api, 2);
}

/// A request hook runs for each attempt: again on a throttled resend, which waits its
/// turn under the rate limit.
#[tokio::test]
async fn a_request_hook_runs_for_each_attempt() {
    let company = Company(40);
    let stamps = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let kept = stamps.clone();
    let window = Duration::from_millis(400);
    let (sandbox, runtime) = echo_runtime(&company, |b| {
        b.rate_limit(1, window)
            .retry(oauth2_api::RetryPolicy::default().base_delay(Duration::from_millis(1)))
            .request_hook(move |_r: &mut oauth2_api::OutgoingRequest<'_>| {
                kept.lock().unwrap().push(Instant::now());
                Ok(())
            })
    })
    .await;
    tokio::time::sleep(window).await;
    sandbox.fail_next_api_call(ApiFault::Throttled(0));
    let answer = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let stamps = stamps.lock().unwrap().clone();
    assert_eq!(stamps.len(), 2);
}

/// An open endpoint (no token, `send_open`): the same answer with and without a
/// subscriber, and under one the call's span records the status, as every other call's
/// does.
#[tokio::test]
async fn an_open_endpoint_is_the_same_with_and_without_a_subscriber() {
    use oauth2_api_examples::declarations::hmrc_hello::HelloWorldClient;
    let mut seen = Vec::new();
    for how in [Listen::Nothing, Listen::At(tracing::Level::DEBUG)] {
        let written = Written::default();
        let _guard = listen(how, &written);
        let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
        let runtime = HelloWorldClient::builder()
            .credentials(oauth2_api_tests::sandbox_client(
                oauth2_api_tests::REDIRECT_URL,
            ))
            .all_urls_at(sandbox.url())
            .store(MemoryStore::new())
            .retry(oauth2_api::RetryPolicy::default().base_delay(Duration::from_millis(1)))
            .build()
            .unwrap();
        let client = HelloWorldClient::new(runtime);
        let sent = client
            .hello_world()
            .await
            .map(|m| m.message)
            .map_err(|e| e.to_string());
        seen.push((sent, counts(&sandbox), written.statuses()));
    }
    assert_eq!(seen[0].0, seen[1].0, "{seen:?}");
    assert_eq!(seen[0].1, seen[1].1, "{seen:?}");
    assert_eq!(seen[1].2, ["200"], "{seen:?}");
}

/// An application span with a `status` field of its own around a call whose call span
/// the subscriber filters out (DEBUG for the application, so that calls take the traced
/// path, WARN for oauth2_api): the runtime must not write the API's status into the
/// application's span.
#[tokio::test]
async fn the_api_status_is_not_written_into_the_applications_span() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    let written = Written::default();
    let writer = written.clone();
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::DEBUG)
        .with_target("oauth2_api", tracing::Level::WARN);
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_filter(filter),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let company = Company(50);
    let (_sandbox, runtime) = echo_authorized(&company).await;
    let span = tracing::info_span!("handler", status = tracing::field::Empty);
    async {
        crate::regressions_fast_path::echo(&runtime, &company, &[]).await;
    }
    .instrument_in(span)
    .await;
    let logs = written.text();
    assert!(
        !logs.contains("status=200"),
        "the API's status was recorded on the application's span: {logs}"
    );
}

trait InstrumentIn: std::future::Future + Sized {
    fn instrument_in(self, span: tracing::Span) -> tracing::instrument::Instrumented<Self> {
        tracing::Instrument::instrument(self, span)
    }
}
impl<F: std::future::Future> InstrumentIn for F {}

/// `Retry-After` larger than a `u64` of seconds (valid: `delay-seconds = 1*DIGIT`) asks
/// for a wait longer than any `max_delay`: the policy says the answer is then returned
/// as it is, not retried at once as if no wait had been asked for.
#[tokio::test]
async fn a_retry_after_beyond_u64_is_not_read_as_no_retry_after() {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let route = get(move || {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            match n {
                0 => (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "99999999999999999999999")],
                    "slow down",
                )
                    .into_response(),
                _ => (StatusCode::OK, "done").into_response(),
            }
        }
    });
    let sandbox = Sandbox::serve(
        SandboxConfig::default(),
        Router::new().route("/limited", route),
    )
    .await
    .unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let answer = runtime
        .request(&Application, Method::Get, "/limited")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (answer.status, calls.load(Ordering::SeqCst)),
        (429, 1),
        "the server asked for a wait longer than max_delay"
    );
}
