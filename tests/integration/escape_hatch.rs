//! The escape hatch with absolute URLs: what a `Link` header gives is followed on the
//! environment's origin, and refused elsewhere before any token is fetched.

use oauth2_api::sandbox::SandboxConfig;
use oauth2_api::{Error, Method};
use oauth2_api_tests::{Company, authorize, sandbox_runtime};

#[tokio::test]
async fn an_absolute_url_on_the_environments_origin_is_followed() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let url = format!("{}/hello/user", sandbox.url());
    let answer = runtime
        .request(&company, Method::Get, &url)
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.text().contains("Hello User"), "{}", answer.text());
}

#[tokio::test]
async fn an_absolute_url_elsewhere_is_refused_before_a_token_is_fetched() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(2);
    let port = sandbox.addr().port();
    for url in [
        format!("http://localhost:{port}/hello/user"),
        format!("http://127.0.0.1:{}/hello/user", port.wrapping_add(1)),
        "https://evil.example/hello/user?x=secret".to_owned(),
    ] {
        let err = runtime
            .request(&company, Method::Get, &url)
            .scopes(&["hello"])
            .send()
            .await
            .unwrap_err();
        let Error::ForeignUrl {
            origin, expected, ..
        } = &err
        else {
            panic!("expected ForeignUrl for {url}, got {err:?}");
        };
        assert_eq!(*expected, format!("http://127.0.0.1:{port}"));
        assert!(!origin.contains("secret") && !err.to_string().contains("secret"));
    }
    let counts = sandbox.counts();
    assert_eq!(
        (counts.api, counts.authorize),
        (0, 0),
        "nothing was sent, no authorization asked"
    );
}
