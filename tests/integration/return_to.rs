//! Return targets: only paths of the application, refused when the authorization is
//! begun (nothing stored), and a real browser never leaves the application's origin.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use oauth2_api::sandbox::SandboxConfig;
use oauth2_api_tests::{Company, sandbox_runtime, skip_or_fail};

/// What an attacker would put in a `?next=`: each is another site to some browser or
/// server, or breaks the `Location` header.
const HOSTILE: &[&str] = &[
    "/\t/evil.example",
    "/\t\\evil.example",
    "/\r\nSet-Cookie: session=evil",
    "/\nevil.example",
    "/\r/evil.example",
    "/\0evil",
    "/\\evil.example",
    "\\\\evil.example",
    "//evil.example",
    "///evil.example",
    "/%09/evil.example",
    "/%2F%2Fevil.example",
    "/%2fevil.example",
    "/%5Cevil.example",
    "/%5c%5cevil.example",
    "/%252F%252Fevil.example",
    "/%0D%0ALocation:%20https://evil.example",
    "/%00",
    "https://evil.example",
    "HTTPS://evil.example/x",
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "",
    "/\u{FF0F}evil.example",
    "/\u{2215}evil.example",
    "/\u{29F8}evil.example",
];

#[tokio::test]
async fn hostile_return_targets_are_refused_when_begun_and_nothing_is_stored() {
    let (_sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(41);
    for target in HOSTILE {
        let refused = runtime
            .begin_authorization(&company, &["hello"], Some(target))
            .await;
        let err = refused.expect_err(&format!("{target:?} must be refused"));
        assert!(
            err.to_string().contains("return target is refused"),
            "{target:?}: {err}"
        );
        assert!(
            !err.to_string().contains("evil"),
            "the target is not echoed: {err}"
        );
    }
    assert!(
        runtime
            .pending_authorizations(&company)
            .await
            .unwrap()
            .is_empty(),
        "nothing was stored"
    );
    for fine in ["/vat?year=2017", "/search?q=a%2Fb", "/caf%C3%A9#top"] {
        runtime
            .begin_authorization(&company, &["hello"], Some(fine))
            .await
            .unwrap_or_else(|e| panic!("{fine}: {e}"));
    }
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A stand-in for evil.example: counts the requests it gets.
async fn evil_site() -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = axum::Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { "EVIL SITE" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (port, hits)
}

/// Headless Chromium opens `url` (evil.example resolving to `evil_port`) and prints the
/// DOM of the page it ends on.
async fn final_page(chromium: &str, url: &str, evil_port: u16) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!(
            "--host-resolver-rules=MAP evil.example 127.0.0.1:{evil_port}"
        ))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .expect("Chromium finishes")
        .expect("Chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An application that begins an authorization with its `?next=` as the return target
/// (`/connect`, as in `web_security`), the sandbox approving at once.
#[tokio::test]
async fn a_real_browser_stays_on_the_application_with_hostile_return_targets() {
    let Some(chromium) = chromium() else {
        skip_or_fail(
            "Chromium",
            "no `chromium` on PATH (Debian package `chromium`)",
        );
        return;
    };
    let sandbox = oauth2_api::sandbox::Sandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let (base, _runtime) = super::web_security::serve(
        &sandbox,
        oauth2_api::store::MemoryStore::new(),
        oauth2_api::web::callback_router,
    )
    .await;
    let (evil_port, evil_hits) = evil_site().await;
    for target in ["/\t/evil.example", "/\t\\evil.example", "/\\evil.example"] {
        let next: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let dom = final_page(chromium, &format!("{base}/connect?next={next}"), evil_port).await;
        assert_eq!(
            evil_hits.load(Ordering::SeqCst),
            0,
            "{target:?} led to evil.example"
        );
        assert!(dom.contains("refused here"), "{target:?}: ends on {dom}");
    }
}
