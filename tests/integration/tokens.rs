//! Getting usable tokens: refresh, single flight, rotation, client credentials, faults.

use std::time::{Duration, SystemTime};

use oauth2_api::sandbox::{Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::{MemoryStore, SqliteStore};
use oauth2_api::{
    Application, AuthorizationReason, Error, ExposeSecret, Method, Runtime, SessionState,
    TokenError,
};
use oauth2_api_tests::{Company, authorize, sandbox_builder, sandbox_runtime};

async fn hello_user(runtime: &Runtime, user: &Company) -> Result<String, Error> {
    let answer = runtime
        .request(user, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    Ok(answer.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_on_an_expired_token_refresh_once() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;

    let calls = (0..50).map(|_| {
        let (runtime, company) = (runtime.clone(), company.clone());
        tokio::spawn(async move { hello_user(&runtime, &company).await })
    });
    for call in futures_join(calls).await {
        assert!(call.unwrap().unwrap().contains("Hello User"));
    }
    assert_eq!(
        sandbox.counts().refresh_token,
        1,
        "exactly one refresh request"
    );
    assert_eq!(sandbox.counts().api, 50);
}

async fn futures_join<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await);
    }
    out
}

#[tokio::test]
async fn a_rotated_refresh_token_survives_a_restart_of_the_store() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    let company = Company(2);
    {
        let runtime = sandbox_builder(&sandbox)
            .store(SqliteStore::open(&path).await.unwrap())
            .build()
            .unwrap();
        authorize(&sandbox, &runtime, &company, &["hello"]).await;
        oauth2_api_tests::expire_stored_token(&runtime, &company).await;
        hello_user(&runtime, &company).await.unwrap();
        assert_eq!(sandbox.counts().refresh_token, 1);
    }
    // A new process: a new store handle on the same file, a new runtime.
    let runtime = sandbox_builder(&sandbox)
        .store(SqliteStore::open(&path).await.unwrap())
        .build()
        .unwrap();
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    // With the old (used) refresh token the sandbox would see a reuse and revoke the grant.
    hello_user(&runtime, &company)
        .await
        .expect("the rotated refresh token was persisted");
    assert_eq!(sandbox.counts().refresh_token, 2);
    assert!(runtime.last_error(&company).await.unwrap().is_none());
}

#[tokio::test]
async fn invalid_grant_on_refresh_requires_authorization_and_is_recorded() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(3);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    sandbox.fail_next_token_request(TokenFault::InvalidGrant);

    let err = hello_user(&runtime, &company).await.unwrap_err();
    let required = err.authorization_required().expect("AuthorizationRequired");
    assert_eq!(required.reason, AuthorizationReason::RefreshRejected);
    assert_eq!(required.scopes, ["hello"]);
    assert!(required.url.as_str().starts_with(&sandbox.auth_url()));
    let session = runtime.session(&company).await.unwrap().unwrap();
    assert!(
        session.state.tokens.is_none(),
        "the refused tokens are cleared"
    );
    assert_eq!(session.state.last_error.unwrap().kind, "invalid_grant");

    // Authorizing again through the URL the error carries completes the loop.
    let callback = sandbox.approve(required.url.as_str()).await.unwrap();
    runtime
        .complete_authorization(&oauth2_api::CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
    hello_user(&runtime, &company).await.unwrap();
}

#[tokio::test]
async fn a_refresh_answer_without_refresh_token_keeps_the_old_one() {
    let config = SandboxConfig {
        rotate_refresh_tokens: false,
        omit_refresh_token_on_refresh: true,
        ..SandboxConfig::default()
    };
    let (sandbox, runtime) = sandbox_runtime(config).await;
    let company = Company(4);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let first = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    for _ in 0..2 {
        oauth2_api_tests::expire_stored_token(&runtime, &company).await;
        hello_user(&runtime, &company).await.unwrap();
    }
    let now = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    assert_eq!(
        now.refresh_token.unwrap().expose_secret(),
        first.refresh_token.unwrap().expose_secret()
    );
    assert_ne!(
        now.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    assert_eq!(sandbox.counts().refresh_token, 2);
}

#[tokio::test]
async fn the_application_uses_client_credentials_and_reuses_the_token() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    for _ in 0..3 {
        let answer = runtime
            .request(&Application, Method::Get, "/hello/application")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.text(), r#"{"message":"Hello Application"}"#);
    }
    assert_eq!(sandbox.counts().client_credentials, 1);
    let err = runtime
        .begin_authorization(&Application, &["hello"], None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[tokio::test]
async fn an_expired_client_credentials_token_is_replaced_silently() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    runtime.token(&Application, &["hello"]).await.unwrap();
    let key = runtime.session_key(&Application).await.unwrap();
    let session = runtime.store().load(&key).await.unwrap().unwrap();
    let mut tokens = session.state.tokens.unwrap();
    tokens.expires_at = Some(SystemTime::now());
    runtime
        .store()
        .compare_and_swap(
            &key,
            session.version,
            &SessionState {
                tokens: Some(tokens),
                last_error: None,
            },
        )
        .await
        .unwrap();
    runtime.token(&Application, &["hello"]).await.unwrap();
    assert_eq!(sandbox.counts().client_credentials, 2);
}

/// Token answers as real providers write them: each becomes a usable token set.
#[tokio::test]
async fn tolerant_token_parsing() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let cases = [
        (
            r#"{"access_token":"t1","token_type":"Bearer","expires_in":"3600"}"#,
            Some(3600),
            "bearer",
        ),
        (
            r#"{"access_token":"t2","expires_in":120}"#,
            Some(120),
            "bearer",
        ),
        (
            r#"{"access_token":"t3","token_type":"bearer"}"#,
            None,
            "bearer",
        ),
        (
            r#"{"access_token":"t4","token_type":"BEARER","expires_in":null,"refresh_token":null}"#,
            None,
            "bearer",
        ),
        (
            r#"{"access_token":"t5","token_type":"bearer","expires_in":"3600.0","scope":"hello"}"#,
            Some(3600),
            "bearer",
        ),
    ];
    for (i, (body, lifetime, token_type)) in cases.into_iter().enumerate() {
        let key = runtime.session_key(&Application).await.unwrap();
        runtime.store().delete(&key).await.unwrap();
        sandbox.fail_next_token_request(TokenFault::Body(body.to_owned()));
        let before = SystemTime::now();
        let tokens = runtime
            .token(&Application, &["hello"])
            .await
            .unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(tokens.access_token.expose_secret(), &format!("t{}", i + 1));
        assert_eq!(tokens.token_type, token_type);
        assert_eq!(
            tokens.scopes,
            ["hello"],
            "absent scope keeps what was asked"
        );
        match lifetime {
            Some(secs) => {
                let at = tokens.expires_at.expect("an expiry");
                let left = at.duration_since(before).unwrap().as_secs();
                assert!(
                    left <= secs && left + 5 >= secs,
                    "case {i}: {left} s left of {secs}"
                );
            }
            None => assert_eq!(tokens.expires_at, None, "case {i}"),
        }
    }
}

#[tokio::test]
async fn token_endpoint_faults_are_typed_and_keep_the_session() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(5);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    let stored = || async {
        oauth2_api_tests::stored_tokens(&runtime, &company)
            .await
            .refresh_token
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    let refresh_before = stored().await;

    sandbox.fail_next_token_request(TokenFault::StatusRetryAfter(503, 7));
    let err = hello_user(&runtime, &company).await.unwrap_err();
    match &err {
        Error::Token(TokenError::Status {
            status: 503,
            retry_after,
            ..
        }) => {
            assert_eq!(*retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected a 503 token error, got {other:?}"),
    }
    assert_eq!(
        runtime.last_error(&company).await.unwrap().unwrap().kind,
        "http_503"
    );

    sandbox.fail_next_token_request(TokenFault::Status(500));
    let err = hello_user(&runtime, &company).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");

    sandbox.fail_next_token_request(TokenFault::Body(
        r#"{"token_type":"bearer","refresh_token":"leak-me"}"#.to_owned(),
    ));
    let err = hello_user(&runtime, &company).await.unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::Malformed { .. })),
        "{err:?}"
    );
    assert!(
        !format!("{err} {err:?}").contains("leak-me"),
        "a malformed answer's tokens stay out of errors"
    );

    sandbox.fail_next_token_request(TokenFault::InvalidClient);
    let err = hello_user(&runtime, &company).await.unwrap_err();
    assert_eq!(err.provider_code(), Some("invalid_client"));

    assert_eq!(
        stored().await,
        refresh_before,
        "no fault changed the stored refresh token"
    );
    hello_user(&runtime, &company)
        .await
        .expect("the session recovers once the endpoint does");
    assert!(
        runtime.last_error(&company).await.unwrap().is_none(),
        "success clears the last error"
    );
}

#[tokio::test]
async fn a_slow_token_endpoint_times_out() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .token_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    sandbox.fail_next_token_request(TokenFault::Delay(Duration::from_secs(2)));
    let err = runtime.token(&Application, &["hello"]).await.unwrap_err();
    match &err {
        Error::Token(TokenError::Transport { message, .. }) => {
            assert!(message.contains("timed out"), "{message}")
        }
        other => panic!("expected a transport timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let port = oauth2_api_tests::free_port();
    let provider = oauth2_api::Provider::new("HMRC").environment(oauth2_api::Environment::new(
        "sandbox",
        format!("http://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}/auth"),
        format!("http://127.0.0.1:{port}/token"),
    ));
    let runtime = Runtime::builder(provider)
        .credentials(oauth2_api::Credentials::new("id").secret("secret"))
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let err = runtime.token(&Application, &[]).await.unwrap_err();
    assert!(
        matches!(err, Error::Token(TokenError::Transport { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn disconnect_revokes_and_forgets() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(6);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let tokens = runtime.token(&company, &["hello"]).await.unwrap();
    runtime.disconnect(&company).await.unwrap();
    assert_eq!(sandbox.counts().revocation, 1);
    assert!(runtime.session(&company).await.unwrap().is_none());
    let direct = reqwest_get(
        &format!("{}/hello/user", sandbox.url()),
        tokens.access_token.expose_secret(),
    )
    .await;
    assert_eq!(direct, 401, "the revoked token no longer works at the API");
    let err = hello_user(&runtime, &company).await.unwrap_err();
    assert_eq!(
        err.authorization_required().unwrap().reason,
        AuthorizationReason::NotAuthorized
    );
}

async fn reqwest_get(url: &str, bearer: &str) -> u16 {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// GitHub answers a refused token request with 200 and an error object: the provider's
/// code is kept, not reported as a malformed answer.
#[tokio::test]
async fn a_token_error_answered_with_200_is_the_providers_error() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(6);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    sandbox.fail_next_token_request(TokenFault::Body(
        r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#
            .to_owned(),
    ));
    let err = hello_user(&runtime, &company).await.unwrap_err();
    match &err {
        Error::Token(TokenError::Rejected { code, .. }) => {
            assert_eq!(code, "bad_verification_code");
        }
        other => panic!("expected the provider's refusal, got {other:?}"),
    }
    assert_eq!(err.provider_code(), Some("bad_verification_code"));
    hello_user(&runtime, &company)
        .await
        .expect("the session is kept: the next refresh succeeds");
}
