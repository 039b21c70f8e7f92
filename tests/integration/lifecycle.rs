//! The token lifecycle against hostile answers: absurd lifetimes, short lifetimes and
//! single flight, oversized bodies, echoing error pages, `insufficient_scope`, control
//! characters. (Store races and faults: `lifecycle_stores.rs`.)

use std::time::{Duration, SystemTime};

use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::MemoryStore;
use oauth2_api::{
    Application, AuthorizationReason, CallbackParams, Error, ExposeSecret, Method, TokenError,
};
use oauth2_api_tests::{
    Company, approved_callback, authorize, expire_stored_token, hello_status, sandbox_builder,
    sandbox_runtime, stored_tokens,
};

fn token_answer(access: &str, refresh: &str, expires_in: &str) -> TokenFault {
    TokenFault::Body(format!(
        r#"{{"access_token":"{access}","refresh_token":"{refresh}","token_type":"bearer","expires_in":{expires_in}}}"#
    ))
}

const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

#[tokio::test]
async fn absurd_lifetimes_neither_panic_nor_drop_the_rotated_refresh_token() {
    for lifetime in ["18446744073709551615", "1e308", r#""1e400""#] {
        let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
        let user = Company(1);
        authorize(&sandbox, &runtime, &user, &["hello"]).await;
        expire_stored_token(&runtime, &user).await;
        sandbox.fail_next_token_request(token_answer("renewed", "rotated", lifetime));
        let tokens = runtime.token(&user, &["hello"]).await.expect(lifetime);
        assert_eq!(tokens.access_token.expose_secret(), "renewed");
        let stored = stored_tokens(&runtime, &user).await;
        let refresh = stored
            .refresh_token
            .expect("the rotated refresh token is kept");
        assert_eq!(refresh.expose_secret(), "rotated", "{lifetime}");
        assert!(
            stored.expires_at.unwrap() > SystemTime::now() + YEAR,
            "{lifetime}"
        );
    }
}

#[tokio::test]
async fn an_absurd_lifetime_at_the_callback_still_authorizes() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let user = Company(1);
    let (_, callback) = approved_callback(&sandbox, &runtime, &user, &["hello"]).await;
    sandbox.fail_next_token_request(token_answer("issued", "first", "1e308"));
    let params = CallbackParams::from_url(&callback).unwrap();
    runtime
        .complete_authorization(&params)
        .await
        .expect("completes");
    let stored = stored_tokens(&runtime, &user).await;
    assert_eq!(stored.access_token.expose_secret(), "issued");
}

/// 100 calls at once on an expired token whose renewal lives `ttl` (below the 60 s
/// margin): one refresh, counted at the server.
async fn hundred_callers_one_refresh(ttl: Duration) {
    let config = SandboxConfig {
        access_ttl: ttl,
        ..SandboxConfig::default()
    };
    let (sandbox, runtime) = sandbox_runtime(config).await;
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    // A code exchange answering a short lifetime is used, not refreshed at once.
    for _ in 0..3 {
        assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
    }
    assert_eq!(sandbox.counts().refresh_token, 0, "lifetime {ttl:?}");
    expire_stored_token(&runtime, &user).await;
    let calls = (0..100).map(|_| {
        let (runtime, user) = (runtime.clone(), user.clone());
        tokio::spawn(async move { hello_status(&runtime, &user).await })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap().unwrap(), 200);
    }
    assert_eq!(sandbox.counts().refresh_token, 1, "lifetime {ttl:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lifetime_below_the_margin_is_renewed_once_for_a_hundred_callers() {
    for seconds in [2, 30] {
        hundred_callers_one_refresh(Duration::from_secs(seconds)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zero_or_negative_lifetime_is_renewed_once_for_a_hundred_callers() {
    for lifetime in ["0", "-30"] {
        let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
        let user = Company(1);
        authorize(&sandbox, &runtime, &user, &["hello"]).await;
        expire_stored_token(&runtime, &user).await;
        sandbox.fail_next_token_request(token_answer("renewed", "rotated", lifetime));
        let calls = (0..100).map(|_| {
            let (runtime, user) = (runtime.clone(), user.clone());
            tokio::spawn(async move { runtime.token(&user, &["hello"]).await })
        });
        for call in calls.collect::<Vec<_>>() {
            let tokens = call.await.unwrap().unwrap();
            assert_eq!(tokens.access_token.expose_secret(), "renewed");
        }
        assert_eq!(sandbox.counts().refresh_token, 1, "expires_in {lifetime}");
    }
}

/// A server answering every request with `status` and a 256 MiB body (chunked, or
/// announcing `announced` bytes): far past any cap.
async fn endless_server(status: u16, announced: Option<u64>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let length = match announced {
                    Some(n) => format!("content-length: {n}"),
                    None => "transfer-encoding: chunked".to_owned(),
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{length}\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let spaces = vec![b' '; 16 * 1024];
                let mut chunk = format!("{:x}\r\n", spaces.len()).into_bytes();
                chunk.extend_from_slice(&spaces);
                chunk.extend_from_slice(b"\r\n");
                let piece = if announced.is_some() { &spaces } else { &chunk };
                // Endless as far as any cap is concerned, but bounded, so a client that
                // buffers it all fails its assertions instead of taking the machine's memory.
                let mut sent = 0;
                while sent < 256 << 20 && socket.write_all(piece).await.is_ok() {
                    sent += piece.len();
                }
            });
        }
    });
    url
}

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    kib * 1024
}

#[tokio::test]
async fn an_endless_or_huge_token_answer_is_a_typed_error_without_buffering() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let before = resident_bytes();
    for (status, announced) in [(200, None), (200, Some(1 << 30)), (500, None)] {
        let server = endless_server(status, announced).await;
        let runtime = sandbox_builder(&sandbox)
            .token_url("sandbox", format!("{server}/token"))
            .store(MemoryStore::new())
            .build()
            .unwrap();
        let err = runtime.token(&Application, &[]).await.unwrap_err();
        assert!(
            matches!(err, Error::Token(TokenError::TooLarge { limit: 65536, .. })),
            "{status} {announced:?}: {err:?}"
        );
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 64 << 20, "resident memory grew by {grown} bytes");
}

#[tokio::test]
async fn an_endless_api_answer_stops_at_the_limit() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let before = resident_bytes();
    for status in [200, 500] {
        let server = endless_server(status, None).await;
        let runtime = sandbox_builder(&sandbox)
            .base_url("sandbox", &server)
            .max_response_bytes(1 << 20)
            .store(MemoryStore::new())
            .build()
            .unwrap();
        let err = runtime
            .request(&Application, Method::Get, "/data")
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ResponseTooLarge { limit: 1048576, .. }),
            "{status}: {err:?}"
        );
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 64 << 20, "resident memory grew by {grown} bytes");
}

fn assert_hides(err: &Error, secrets: &[&str]) {
    let shown = format!("{err:?} {err}");
    for secret in secrets {
        assert!(!shown.contains(secret), "`{secret}` shown in {shown}");
    }
    assert!(
        shown.contains("[redacted]"),
        "the echo is still there: {shown}"
    );
}

#[tokio::test]
async fn an_error_page_echoing_the_refresh_request_shows_no_secret() {
    for body_auth in [false, true] {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
        let mut provider = oauth2_api_tests::sandbox_provider(&sandbox);
        if body_auth {
            provider = provider.client_auth(oauth2_api::ClientAuth::RequestBody);
        }
        let runtime = oauth2_api_tests::builder_for(provider)
            .store(MemoryStore::new())
            .build()
            .unwrap();
        let user = Company(1);
        authorize(&sandbox, &runtime, &user, &["hello"]).await;
        expire_stored_token(&runtime, &user).await;
        let refresh = stored_tokens(&runtime, &user).await.refresh_token.unwrap();
        sandbox.fail_next_token_request(TokenFault::Echo(500));
        let err = runtime.token(&user, &["hello"]).await.unwrap_err();
        assert!(matches!(
            err,
            Error::Token(TokenError::Status { status: 500, .. })
        ));
        let basic = "c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=";
        assert_hides(&err, &[refresh.expose_secret(), "sandbox-secret", basic]);
    }
}

#[tokio::test]
async fn an_error_page_echoing_the_code_exchange_shows_no_secret() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let user = Company(1);
    let (request, callback) = approved_callback(&sandbox, &runtime, &user, &["hello"]).await;
    let pending = runtime.store().peek_pending(&request.state).await.unwrap();
    let verifier = pending.unwrap().pkce_verifier;
    let params = CallbackParams::from_url(&callback).unwrap();
    let url = url::Url::parse(&callback).unwrap();
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    sandbox.fail_next_token_request(TokenFault::Echo(502));
    let err = runtime.complete_authorization(&params).await.unwrap_err();
    assert_hides(&err, &[&code, verifier.expose_secret(), "sandbox-secret"]);
}

#[tokio::test]
async fn insufficient_scope_keeps_the_grant_and_asks_for_more() {
    for status in [401, 403] {
        let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
        let user = Company(1);
        authorize(&sandbox, &runtime, &user, &["hello"]).await;
        let before = stored_tokens(&runtime, &user).await;
        let challenge = r#"Bearer realm="api", error="insufficient_scope", scope="write:vat""#;
        sandbox.fail_next_api_call(ApiFault::Challenge(status, challenge.to_owned()));
        let err = hello_status(&runtime, &user).await.unwrap_err();
        let required = err
            .authorization_required()
            .expect("authorization required");
        assert_eq!(required.reason, AuthorizationReason::InsufficientScope);
        assert!(
            required.scopes.iter().any(|s| s == "write:vat"),
            "{required:?}"
        );
        assert!(required.scopes.iter().any(|s| s == "hello"), "{required:?}");
        assert_eq!(sandbox.counts().refresh_token, 0, "no refresh wasted");
        let after = stored_tokens(&runtime, &user).await;
        assert_eq!(
            after.access_token.expose_secret(),
            before.access_token.expose_secret()
        );
        assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
    }
}

#[tokio::test]
async fn a_token_with_control_characters_is_a_malformed_answer() {
    for access in [r"bad\r\nX-Injected: 1", r"nul\u0000byte", r"line\nfeed"] {
        let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
        let user = Company(1);
        authorize(&sandbox, &runtime, &user, &["hello"]).await;
        expire_stored_token(&runtime, &user).await;
        sandbox.fail_next_token_request(token_answer(access, "rotated", "3600"));
        let err = hello_status(&runtime, &user).await.unwrap_err();
        assert!(
            matches!(err, Error::Token(TokenError::Malformed { .. })),
            "{access}: {err:?}"
        );
        // Nothing unusable is stored, and the refresh token that came with it is kept
        // (after a rotation it is the grant's only live one).
        let stored = stored_tokens(&runtime, &user).await;
        let sent = stored.access_token.expose_secret();
        assert!(!sent.chars().any(char::is_control), "{access}");
        assert!(stored.expires_at.is_some_and(|at| at <= SystemTime::now()));
        let refresh = stored.refresh_token.unwrap();
        assert_eq!(refresh.expose_secret(), "rotated", "{access}");
    }
}

#[tokio::test]
async fn a_rotated_refresh_token_beside_a_broken_access_token_keeps_the_grant() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    expire_stored_token(&runtime, &user).await;
    // The sandbox rotates for real; the answer's access token arrives broken.
    sandbox.fail_next_token_request(TokenFault::BreakAccessToken);
    let err = hello_status(&runtime, &user).await.unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::Malformed { .. })),
        "{err:?}"
    );
    // The next call refreshes with the rotated token: the grant is alive.
    assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
    assert_eq!(sandbox.counts().refresh_token, 2);
}
