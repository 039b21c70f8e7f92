//! The authorize-and-retry flows end to end: the desktop authorizer (against the sandbox,
//! the oidc-provider peer and a real headless browser), the axum redirect-and-return flow
//! across two instances, timeout, cancel, denial, and the quickstart's second run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SqliteStore};
use oauth2_api::{
    AuthorizationRequired, Authorized, Authorizer, Browser, Error, LoopbackAuthorizer, Method,
    RawResponse, Runtime,
};
use oauth2_api_tests::web_client::{WebClient, location};
use oauth2_api_tests::{
    Company, Peer, free_port, peer_runtime_at, peers_dir, sandbox_provider, skip_or_fail,
};

fn loopback_redirect() -> String {
    format!("http://127.0.0.1:{}/oauth2/callback", free_port())
}

fn sandbox_runtime_with_redirect(sandbox: &Sandbox, redirect: &str) -> Runtime {
    Runtime::builder(sandbox_provider(sandbox))
        .credentials(oauth2_api_tests::sandbox_client(redirect))
        .store(MemoryStore::new())
        .build()
        .unwrap()
}

async fn hello_user(runtime: &Runtime, company: &Company) -> Result<RawResponse, Error> {
    runtime
        .request(company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
}

#[tokio::test]
async fn the_desktop_authorizer_completes_the_flow_against_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_runtime_with_redirect(&sandbox, &loopback_redirect());
    let company = Company(1);
    let authorizer = LoopbackAuthorizer::new().browser(Browser::Follow);
    let answer = runtime
        .authorize_and_retry(&authorizer)
        .run(|| hello_user(&runtime, &company))
        .await
        .unwrap();
    assert_eq!(answer.text(), r#"{"message":"Hello User"}"#);
    assert_eq!(sandbox.counts().authorization_code, 1);
    assert_eq!(sandbox.counts().api, 1, "one call after authorizing");
}

/// The peer's headless driver as the "browser": it plays the person (with `extra`
/// arguments such as `--deny`) and follows the last redirect to our listener.
fn peer_driver(extra: &[&str]) -> LoopbackAuthorizer {
    let driver = peers_dir().join("authorize.mjs").display().to_string();
    let mut args = vec![driver, "{url}".to_owned(), "--follow".to_owned()];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    LoopbackAuthorizer::new().browser(Browser::Command {
        program: "node".into(),
        args,
    })
}

#[tokio::test]
async fn the_desktop_authorizer_completes_the_flow_against_the_peer() {
    let redirect = loopback_redirect();
    let Some(peer) = Peer::start(&[("EXTRA_REDIRECT_URIS", &redirect)]) else {
        return;
    };
    let runtime = peer_runtime_at(&peer, MemoryStore::new(), &redirect);
    let authorizer = peer_driver(&[]);
    let company = Company(2);
    let answer = runtime
        .authorize_and_retry(&authorizer)
        .timeout(Duration::from_secs(60))
        .run(|| hello_user(&runtime, &company))
        .await
        .unwrap();
    assert_eq!(answer.text(), r#"{"message":"Hello User"}"#);
}

#[tokio::test]
async fn a_denial_ends_with_a_clear_error_and_no_retry() {
    let redirect = loopback_redirect();
    let Some(peer) = Peer::start(&[("EXTRA_REDIRECT_URIS", &redirect)]) else {
        return;
    };
    let runtime = peer_runtime_at(&peer, MemoryStore::new(), &redirect);
    let authorizer = peer_driver(&["--deny"]);
    let company = Company(3);
    let calls = AtomicUsize::new(0);
    let err = runtime
        .authorize_and_retry(&authorizer)
        .timeout(Duration::from_secs(60))
        .run(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            hello_user(&runtime, &company)
        })
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("access_denied"), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry after a denial");
    assert_eq!(
        runtime.last_error(&company).await.unwrap().unwrap().kind,
        "access_denied"
    );
}

#[tokio::test]
async fn nobody_authorizing_times_out_and_changes_nothing() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_runtime_with_redirect(&sandbox, &loopback_redirect());
    let company = Company(4);
    let authorizer = LoopbackAuthorizer::new().browser(Browser::Print);
    let err = runtime
        .authorize_and_retry(&authorizer)
        .timeout(Duration::from_millis(200))
        .run(|| hello_user(&runtime, &company))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(runtime.session(&company).await.unwrap().is_none());
}

#[tokio::test]
async fn a_cancelled_authorization_returns_cancelled() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_runtime_with_redirect(&sandbox, &loopback_redirect());
    let authorizer = LoopbackAuthorizer::new().browser(Browser::Print);
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let company = Company(5);
    let flow = runtime
        .authorize_and_retry(&authorizer)
        .cancel_on(async {
            let _ = cancelled.await;
        })
        .run(|| hello_user(&runtime, &company));
    cancel.send(()).unwrap();
    assert!(matches!(flow.await.unwrap_err(), Error::Cancelled));
}

/// Counts authorizations; never expected to be asked.
struct Counting(AtomicUsize);

#[oauth2_api::async_trait]
impl Authorizer for Counting {
    async fn authorize(&self, _: &Runtime, _: &AuthorizationRequired) -> Result<Authorized, Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(Error::Cancelled)
    }
}

#[tokio::test]
async fn other_errors_pass_through_without_authorizing() {
    let (sandbox, runtime) = oauth2_api_tests::sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(6);
    oauth2_api_tests::authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let authorizer = Counting(AtomicUsize::new(0));
    let answer = runtime
        .authorize_and_retry(&authorizer)
        .run(|| async {
            let answer = runtime
                .request(&company, Method::Get, "/organisations/vat/1/obligations")
                .scopes(&["hello"])
                .send()
                .await?;
            Err::<(), _>(Error::from(answer.error("obligations")))
        })
        .await
        .unwrap_err();
    assert_eq!(answer.status(), Some(403));
    assert_eq!(authorizer.0.load(Ordering::SeqCst), 0);
}

/// Authorizes for real, then the grant is lost at once (revoked elsewhere).
struct Fickle<'a> {
    sandbox: &'a Sandbox,
    count: AtomicUsize,
}

#[oauth2_api::async_trait]
impl Authorizer for Fickle<'_> {
    async fn authorize(
        &self,
        runtime: &Runtime,
        required: &AuthorizationRequired,
    ) -> Result<Authorized, Error> {
        self.count.fetch_add(1, Ordering::SeqCst);
        let callback = self
            .sandbox
            .approve(required.url.as_str())
            .await
            .map_err(Error::Config)?;
        let done = runtime
            .complete_authorization(&oauth2_api::CallbackParams::from_url(&callback)?)
            .await?;
        runtime.store().delete(&required.session).await?;
        Ok(done)
    }
}

#[tokio::test]
async fn it_never_loops() {
    let (sandbox, runtime) = oauth2_api_tests::sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(7);
    let fickle = Fickle {
        sandbox: &sandbox,
        count: AtomicUsize::new(0),
    };
    let calls = AtomicUsize::new(0);
    let err = runtime
        .authorize_and_retry(&fickle)
        .run(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            hello_user(&runtime, &company)
        })
        .await
        .unwrap_err();
    assert!(
        err.authorization_required().is_some(),
        "the second refusal is returned: {err:?}"
    );
    assert_eq!(
        (
            fickle.count.load(Ordering::SeqCst),
            calls.load(Ordering::SeqCst)
        ),
        (1, 2)
    );
}

#[tokio::test]
async fn the_quickstart_second_run_needs_no_authorization() {
    let dir = tempfile::tempdir().unwrap();
    let first = oauth2_api_examples::quickstart::run(dir.path(), Browser::Follow)
        .await
        .unwrap();
    assert!(first.authorized_now);
    assert_eq!(
        (first.application.as_str(), first.user.as_str()),
        ("Hello Application", "Hello User")
    );
    let second = oauth2_api_examples::quickstart::run(dir.path(), Browser::Follow)
        .await
        .unwrap();
    assert!(!second.authorized_now, "the stored session is used");
    assert_eq!(second.user, "Hello User");
}

/// A real browser: headless Chromium follows the sandbox's redirect to the listener.
#[tokio::test]
async fn a_real_headless_browser_completes_the_flow() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        skip_or_fail(
            "Chromium",
            "no `chromium` on PATH (Debian package `chromium`)",
        );
        return;
    };
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_runtime_with_redirect(&sandbox, &loopback_redirect());
    let profile = tempfile::tempdir().unwrap();
    let authorizer = LoopbackAuthorizer::new().browser(Browser::Command {
        program: chromium.into(),
        args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        .map(String::from)
        .into_iter()
        .chain([
            format!("--user-data-dir={}", profile.path().display()),
            "{url}".into(),
        ])
        .collect(),
    });
    let company = Company(8);
    let answer = runtime
        .authorize_and_retry(&authorizer)
        .timeout(Duration::from_secs(60))
        .run(|| hello_user(&runtime, &company))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        sandbox.counts().authorize,
        1,
        "the browser requested the authorization page"
    );
}

/// Serves `router` on a free loopback port; returns its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// One instance of a web application: a VAT page that calls the API, a form that posts.
fn web_app(runtime: Runtime) -> axum::Router {
    use axum::extract::State;
    use axum::routing::{get, post};
    async fn page(State(runtime): State<Runtime>) -> Result<String, Error> {
        let answer = runtime
            .request(&Company(9), Method::Get, "/hello/user")
            .scopes(&["hello"])
            .send()
            .await?;
        Ok(answer.text())
    }
    async fn submit(State(runtime): State<Runtime>) -> Result<String, Error> {
        let answer = runtime
            .request(&Company(10), Method::Get, "/hello/user")
            .scopes(&["hello"])
            .send()
            .await?;
        Ok(format!("submitted: {}", answer.text()))
    }
    axum::Router::new()
        .route("/vat", get(page))
        .route("/vat/submit", post(submit))
        .layer(axum::middleware::from_fn_with_state(
            runtime.clone(),
            oauth2_api::web::redirect_to_authorize,
        ))
        .with_state(runtime.clone())
        .merge(oauth2_api::web::callback_router(runtime))
}

#[tokio::test]
async fn the_web_flow_begins_on_one_instance_and_completes_on_another() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    // Instance B's address is the registered redirect URL; A and B share one SQLite file.
    let b_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = format!("http://{}", b_listener.local_addr().unwrap());
    let instance = |store| {
        Runtime::builder(sandbox_provider(&sandbox))
            .credentials(oauth2_api_tests::sandbox_client(format!(
                "{b}/oauth2/callback"
            )))
            .store(store)
            .build()
            .unwrap()
    };
    let a = serve(web_app(instance(SqliteStore::open(&db).await.unwrap()))).await;
    let b_app = web_app(instance(SqliteStore::open(&db).await.unwrap()));
    tokio::spawn(async move { axum::serve(b_listener, b_app).await });

    let browser = WebClient::new();
    // GET on A: not authorized → 303 to the provider.
    let r = browser.get(&format!("{a}/vat?year=2017")).await;
    assert_eq!(r.status(), 303);
    let provider = location(&r);
    assert!(provider.starts_with(&sandbox.auth_url()), "{provider}");
    // The provider approves and sends the browser to B's callback.
    let r = browser.get(&provider).await;
    let callback = location(&r);
    assert!(
        callback.starts_with(&format!("{b}/oauth2/callback?")),
        "{callback}"
    );
    // B completes the state A began, and sends the person back to the page asked for.
    let r = browser.get(&callback).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/vat?year=2017");
    let r = browser.get(&format!("{a}/vat?year=2017")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"message":"Hello User"}"#);
    // The callback again: a replay, refused with a page.
    let r = browser.get(&callback).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("already used"));
}

#[tokio::test]
async fn a_post_that_needed_authorization_comes_back_to_its_page_not_replayed() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let runtime = Runtime::builder(sandbox_provider(&sandbox))
        .credentials(oauth2_api_tests::sandbox_client(format!(
            "{base}/oauth2/callback"
        )))
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let app = web_app(runtime);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let browser = WebClient::new();
    let r = browser
        .post(&format!("{base}/vat/submit"), &format!("{base}/vat/form"))
        .await;
    assert_eq!(r.status(), 303);
    let r = browser.get(&location(&r)).await;
    let r = browser.get(&location(&r)).await;
    assert_eq!(
        location(&r),
        "/vat/form",
        "back to the form, the POST is not replayed"
    );
    assert_eq!(sandbox.counts().api, 0, "the submission was never sent");
}
