//! Return targets: only paths of the application, refused when the authorization is
//! begun (nothing stored), and a real browser never leaves the application's origin.

use std::sync::atomic::Ordering;

use oauth2_api::sandbox::SandboxConfig;
use oauth2_api_tests::{Company, chromium, evil_site, final_page, sandbox_runtime, skip_or_fail};

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
