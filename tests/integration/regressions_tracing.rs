//! The runtime's tracing under an application's subscribers (found by an outside review).

use std::time::Duration;

use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{ExposeSecret, Method, Runtime};
use oauth2_api_tests::{Company, authorize, sandbox_builder, stored_tokens};

use crate::regressions_call_paths::Written;

fn fmt_into(written: &Written, filter: &str) -> tracing::subscriber::DefaultGuard {
    let writer = written.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_default(subscriber)
}

/// A sandbox, a runtime on a memory store that retries throttled calls at once, and
/// company `id` authorized for `hello`.
async fn authorized(id: u32) -> (Sandbox, Runtime, Company) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .retry(oauth2_api::RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    let company = Company(id);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    (sandbox, runtime, company)
}

/// The access and refresh token of `tokens`, as text.
fn secrets_of(tokens: &oauth2_api::TokenSet) -> Vec<String> {
    let refresh = tokens.refresh_token.as_ref();
    std::iter::once(tokens.access_token.expose_secret().to_owned())
        .chain(refresh.map(|r| r.expose_secret().to_owned()))
        .collect()
}

/// README, Errors, **Tracing.**: "the runtime's events at `INFO` and above ... name their
/// session". Under an application's usual INFO subscriber no call span exists, so an
/// INFO event must carry the session itself. The throttled retry's does not.
#[tokio::test]
async fn the_throttled_retry_event_at_info_names_its_session() {
    let written = Written::default();
    let _guard = fmt_into(&written, "info");
    let (sandbox, runtime, company) = authorized(7).await;
    sandbox.fail_next_api_call(ApiFault::Throttled(0));
    let answer = (runtime.request(&company, Method::Get, "/hello/user"))
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let logs = written.text();
    let line = logs
        .lines()
        .find(|l| l.contains("throttled: retrying"))
        .unwrap_or_else(|| panic!("no throttled event at INFO: {logs}"));
    assert!(
        line.contains("session="),
        "an INFO event of the runtime that does not name its session: {line}"
    );
}

/// Nothing secret at TRACE: a 401 renewed and resent, a throttled resend, an error
/// answer, for a person and for the application.
#[tokio::test]
async fn no_secret_in_any_span_or_event_at_trace() {
    let written = Written::default();
    let _guard = fmt_into(&written, "trace");
    let (sandbox, runtime, company) = authorized(8).await;
    let mut secrets = secrets_of(&stored_tokens(&runtime, &company).await);
    for fault in [
        ApiFault::Challenge(401, r#"Bearer error="invalid_token""#.to_owned()),
        ApiFault::Throttled(0),
        ApiFault::Status(500, "{}".to_owned()),
    ] {
        sandbox.fail_next_api_call(fault);
        let _ = (runtime.request(&company, Method::Get, "/hello/user"))
            .scopes(&["hello"])
            .send()
            .await;
    }
    let _ = runtime
        .request(&oauth2_api::Application, Method::Get, "/hello/application")
        .send()
        .await;
    secrets.extend(secrets_of(&stored_tokens(&runtime, &company).await));
    secrets.push("sandbox-secret".to_owned());
    secrets.push("c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=".to_owned());
    let logs = written.text();
    assert!(logs.contains("oauth2_api.call"), "{logs}");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret} at TRACE:\n{logs}"
        );
    }
}

/// `info,oauth2_api=debug` (the API's spans only) and per-layer filters: each call's
/// span records the status it returned, also after a renewal and a throttled resend.
#[tokio::test]
async fn the_status_is_recorded_under_an_env_filter_for_the_api_only() {
    let written = Written::default();
    let _guard = fmt_into(&written, "info,oauth2_api=debug");
    let (sandbox, runtime, company) = authorized(9).await;
    let mut got = Vec::new();
    for fault in [
        None,
        Some(ApiFault::Challenge(
            401,
            r#"Bearer error="invalid_token""#.to_owned(),
        )),
        Some(ApiFault::Throttled(0)),
        Some(ApiFault::Status(503, "{}".to_owned())),
    ] {
        if let Some(fault) = fault {
            sandbox.fail_next_api_call(fault);
        }
        let answer = (runtime.request(&company, Method::Get, "/hello/user"))
            .scopes(&["hello"])
            .send()
            .await
            .unwrap();
        got.push(answer.status.to_string());
    }
    assert_eq!(written.statuses(), got, "{}", written.text());
}
