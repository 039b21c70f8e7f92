//! Faults at the token endpoint and the API: a typed error, a consistent session, a
//! bounded wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::MemoryStore;
use oauth2_api::{
    Application, Credentials, Environment, Error, ExposeSecret, Method, Provider, Runtime,
    TokenError,
};
use oauth2_api_tests::{Company, authorize, sandbox_runtime};

/// A server that answers every request with headers and one byte of body, then stalls.
async fn stalling_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{";
                let _ = socket.write_all(head.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    url
}

fn runtime_at(base: &str, token: &str) -> Runtime {
    let provider = Provider::new("HMRC").environment(Environment::new(
        "sandbox",
        base,
        format!("{base}/auth"),
        token,
    ));
    Runtime::builder(provider)
        .credentials(Credentials::new("id").secret("secret"))
        .store(MemoryStore::new())
        .token_timeout(Duration::from_millis(300))
        .api_timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_slow_token_body_times_out() {
    let slow = stalling_server().await;
    let runtime = runtime_at(&slow, &format!("{slow}/token"));
    let err = runtime.token(&Application, &[]).await.unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::Transport { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("timed out") || err.to_string().contains("body"),
        "{err}"
    );
    assert!(
        runtime
            .session(&Application)
            .await
            .unwrap()
            .is_none_or(|s| s.state.tokens.is_none())
    );
}

#[tokio::test]
async fn a_slow_api_body_times_out() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let slow = stalling_server().await;
    let runtime = Runtime::builder(Provider::new("HMRC").environment(Environment::new(
        "sandbox",
        &slow,
        sandbox.auth_url(),
        sandbox.token_url(),
    )))
    .credentials(Credentials::new("sandbox-client").secret("sandbox-secret"))
    .store(MemoryStore::new())
    .api_timeout(Duration::from_millis(300))
    .build()
    .unwrap();
    let err = runtime
        .request(&Application, Method::Get, "/hello/application")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(
        runtime
            .session(&Application)
            .await
            .unwrap()
            .unwrap()
            .state
            .tokens
            .is_some(),
        "the token stays"
    );
}

#[tokio::test]
async fn html_and_broken_json_from_the_token_endpoint() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    sandbox.fail_next_token_request(TokenFault::Raw(
        200,
        "text/html",
        "<html>maintenance</html>".into(),
    ));
    let err = runtime.token(&Application, &[]).await.unwrap_err();
    match &err {
        Error::Token(TokenError::Malformed { detail, .. }) => {
            assert!(detail.contains("text/html"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    sandbox.fail_next_token_request(TokenFault::Raw(
        200,
        "application/json",
        r#"{"access_token":"tok"#.into(),
    ));
    assert!(matches!(
        runtime.token(&Application, &[]).await.unwrap_err(),
        Error::Token(TokenError::Malformed { .. })
    ));
    sandbox.fail_next_token_request(TokenFault::Raw(400, "text/html", "<html>bad</html>".into()));
    assert_eq!(
        runtime.token(&Application, &[]).await.unwrap_err().status(),
        Some(400)
    );
    runtime
        .token(&Application, &[])
        .await
        .expect("and the next answer is fine");
}

#[tokio::test]
async fn redirects_are_never_followed_on_token_requests() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new()
        .route(
            "/token",
            axum::routing::post(|| async { axum::response::Redirect::temporary("/elsewhere") }),
        )
        .route(
            "/elsewhere",
            axum::routing::post(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { "{}" }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let runtime = runtime_at(&base, &format!("{base}/token"));
    let err = runtime.token(&Application, &[]).await.unwrap_err();
    assert_eq!(err.status(), Some(307), "{err:?}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the client's credentials went nowhere else"
    );
}

#[tokio::test]
async fn a_dropped_caller_does_not_lose_the_rotated_refresh_token() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let tokens = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    let old_refresh = tokens
        .refresh_token
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned();
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;

    // The refresh answer takes 300 ms; the caller gives up after 50.
    sandbox.fail_next_token_request(TokenFault::Delay(Duration::from_millis(300)));
    let call = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send();
    assert!(
        tokio::time::timeout(Duration::from_millis(50), call)
            .await
            .is_err(),
        "the caller went away"
    );

    // The refresh runs on, detached, and stores its result.
    let mut stored = old_refresh.clone();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let tokens = oauth2_api_tests::stored_tokens(&runtime, &company).await;
        stored = tokens.refresh_token.unwrap().expose_secret().to_owned();
        if stored != old_refresh {
            break;
        }
    }
    assert_ne!(stored, old_refresh, "the rotated refresh token was stored");
    let answer = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        sandbox.counts().refresh_token,
        1,
        "no second refresh: the first one's result was kept"
    );
}

#[tokio::test]
async fn invalid_client_on_refresh_keeps_the_session() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(2);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    sandbox.fail_next_token_request(TokenFault::InvalidClient);
    let err = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("invalid_client"));
    let session = runtime.session(&company).await.unwrap().unwrap();
    assert!(
        session.state.tokens.is_some(),
        "a client problem is not the grant's: keep it"
    );
    assert_eq!(session.state.last_error.unwrap().kind, "invalid_client");
}
