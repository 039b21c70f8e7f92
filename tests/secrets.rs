//! No secret in any log line, `Debug` or `Display`: a whole flow (authorize, exchange,
//! call, refresh, revoke, and failures) under a TRACE subscriber capturing everything.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use oauth2_api::sandbox::{Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::SqliteStore;
use oauth2_api::{
    Application, CallbackParams, Credentials, ExposeSecret, Method, Runtime, SessionState,
};
use oauth2_api_tests::{Company, REDIRECT_URL, sandbox_builder};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every secret seen during the flow, and everything printed about it.
#[derive(Default)]
struct Audit {
    secrets: Vec<(String, String)>,
    printed: Vec<String>,
}

impl Audit {
    fn secret(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 8, "{what} is too short to search for");
        self.secrets.push((what.to_owned(), value.to_owned()));
    }
    fn print(&mut self, value: &(impl std::fmt::Debug + ?Sized)) {
        self.printed.push(format!("{value:?}"));
    }
    fn print_error(&mut self, e: &oauth2_api::Error) {
        self.printed.push(format!("{e} / {e:?}"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            self.printed.push(format!("{s} / {s:?}"));
            source = s.source();
        }
    }
}

// The only test of this binary: the global subscriber sees every task and thread.
#[tokio::test]
async fn no_secret_reaches_logs_debug_or_display() {
    let capture = capture_every_log_line();
    let mut audit = Audit::default();
    audit.secret("client secret", "sandbox-secret");

    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.db")).await.unwrap();
    let builder = sandbox_builder(&sandbox);
    audit.print(&builder);
    let runtime = builder.store(store).build().unwrap();
    audit.print(&runtime);
    audit.print(
        &Credentials::new("sandbox-client")
            .secret("sandbox-secret")
            .redirect_url(REDIRECT_URL),
    );
    let company = Company(1);

    let params = authorize(&runtime, &sandbox, &company, &mut audit).await;
    call_then_refresh(&runtime, &company, &mut audit).await;
    application_token_and_failures(&runtime, &sandbox, &params, &mut audit).await;
    revoke(&runtime, &company, &mut audit).await;
    nothing_leaked(&capture, &audit);
}

/// Installs the process's TRACE subscriber, writing into the returned capture.
fn capture_every_log_line() -> Capture {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this process");
    capture
}

/// Authorize: the PKCE verifier and the code. Returns the callback, used up.
async fn authorize(
    runtime: &Runtime,
    sandbox: &Sandbox,
    company: &Company,
    audit: &mut Audit,
) -> CallbackParams {
    let request = runtime
        .begin_authorization(company, &["hello"], None)
        .await
        .unwrap();
    let pending = runtime
        .store()
        .peek_pending(&request.state)
        .await
        .unwrap()
        .unwrap();
    audit.secret("PKCE verifier", pending.pkce_verifier.expose_secret());
    audit.print(&pending);
    audit.print(&request);
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    let params = CallbackParams::from_url(&callback).unwrap();
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    audit.secret("authorization code", &code);
    audit.print(&params);
    let done = runtime.complete_authorization(&params).await.unwrap();
    audit.print(&done);
    let replay = runtime.complete_authorization(&params).await.unwrap_err();
    audit.print_error(&replay);
    params
}

/// A call, then a refresh: the access and refresh tokens, before and after.
async fn call_then_refresh(runtime: &Runtime, company: &Company, audit: &mut Audit) {
    let session = runtime.session(company).await.unwrap().unwrap();
    let tokens = session.state.tokens.clone().unwrap();
    audit.secret("access token", tokens.access_token.expose_secret());
    audit.secret(
        "refresh token",
        tokens.refresh_token.as_ref().unwrap().expose_secret(),
    );
    audit.print(&session);
    let answer = runtime
        .request(company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    audit.print(&answer);
    let key = runtime.session_key(company).await.unwrap();
    let mut expired = tokens.clone();
    expired.expires_at = Some(SystemTime::now() - Duration::from_secs(1));
    runtime
        .store()
        .compare_and_swap(
            &key,
            session.version,
            &SessionState {
                tokens: Some(expired),
                last_error: None,
            },
        )
        .await
        .unwrap();
    runtime
        .request(company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    let refreshed = oauth2_api_tests::stored_tokens(runtime, company).await;
    audit.secret(
        "refreshed access token",
        refreshed.access_token.expose_secret(),
    );
    audit.secret(
        "rotated refresh token",
        refreshed.refresh_token.as_ref().unwrap().expose_secret(),
    );
    audit.print(&refreshed);
}

/// The application's token, and failures whose answers hold tokens.
async fn application_token_and_failures(
    runtime: &Runtime,
    sandbox: &Sandbox,
    params: &CallbackParams,
    audit: &mut Audit,
) {
    let app = runtime.token(&Application, &["hello"]).await.unwrap();
    audit.secret("client-credentials token", app.access_token.expose_secret());
    let key = runtime.session_key(&Application).await.unwrap();
    runtime.store().delete(&key).await.unwrap();
    sandbox.fail_next_token_request(TokenFault::Body(
        r#"{"access_token":"leaked-access-token-1","expires_in":"x","token_type":7}"#.into(),
    ));
    audit.secret("token in a malformed answer", "leaked-access-token-1");
    let malformed = runtime.token(&Application, &["hello"]).await.unwrap_err();
    audit.print_error(&malformed);
    sandbox.fail_next_token_request(TokenFault::InvalidGrant);
    let denied = runtime.complete_authorization(params).await.unwrap_err();
    audit.print_error(&denied);
}

/// Revoke, then a call that needs authorization again.
async fn revoke(runtime: &Runtime, company: &Company, audit: &mut Audit) {
    runtime.disconnect(company).await.unwrap();
    let gone = runtime
        .request(company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    audit.print_error(&gone);
}

/// The log holds the whole flow, and no secret is in it or in anything printed.
fn nothing_leaked(capture: &Capture, audit: &Audit) {
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.lines().count() > 50,
        "the subscriber captured the flow ({} lines)",
        logs.lines().count()
    );
    assert!(
        logs.contains("oauth2_api.call") && logs.contains("oauth2_api.token"),
        "spans are in the log"
    );
    let printed = audit.printed.join("\n");
    for (what, secret) in &audit.secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "the {what} appears in the TRACE log"
        );
        assert!(
            !printed.contains(secret.as_str()),
            "the {what} appears in a Debug or Display: {printed}"
        );
    }
}
