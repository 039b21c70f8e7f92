//! Beginning and completing the authorization-code grant against the sandbox.

use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{CallbackError, CallbackParams, Error, ExposeSecret};
use oauth2_api_tests::{Company, sandbox_builder, sandbox_runtime};

fn params(url: &str) -> CallbackParams {
    CallbackParams::from_url(url).expect("callback parses")
}

#[tokio::test]
async fn the_authorization_url_carries_state_pkce_and_scopes() {
    let (_sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let request = runtime
        .begin_authorization(&Company(1), &["read:vat", "write:vat"], Some("/vat"))
        .await
        .unwrap();
    let query: std::collections::HashMap<_, _> = request.url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "sandbox-client");
    assert_eq!(query["scope"], "read:vat write:vat");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["state"], request.state);
    assert!(
        !query.contains_key("client_secret"),
        "the secret never goes to the browser"
    );
    // 32 random bytes, base64url: 43 characters, 256 bits.
    assert!(
        request.state.len() >= 43,
        "state has at least 128 bits: {}",
        request.state
    );
    let pending = runtime.pending_authorizations(&Company(1)).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].return_to.as_deref(), Some("/vat"));
}

#[tokio::test]
async fn two_pending_states_for_one_user_both_complete() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(2);
    let first = runtime
        .begin_authorization(&company, &["hello"], Some("/a"))
        .await
        .unwrap();
    let second = runtime
        .begin_authorization(&company, &["read:vat"], Some("/b"))
        .await
        .unwrap();
    assert_ne!(first.state, second.state);
    let cb1 = sandbox.approve(first.url.as_str()).await.unwrap();
    let cb2 = sandbox.approve(second.url.as_str()).await.unwrap();
    let done2 = runtime.complete_authorization(&params(&cb2)).await.unwrap();
    assert_eq!(done2.return_to.as_deref(), Some("/b"));
    assert_eq!(done2.scopes, ["read:vat"]);
    let done1 = runtime.complete_authorization(&params(&cb1)).await.unwrap();
    assert_eq!(done1.return_to.as_deref(), Some("/a"));
    let session = runtime.session(&company).await.unwrap().unwrap();
    assert_eq!(
        session.state.tokens.unwrap().scopes,
        ["hello"],
        "the last completed grant is kept"
    );
    assert!(runtime.is_authorized(&company, &["hello"]).await.unwrap());
}

#[tokio::test]
async fn a_replayed_state_fails_and_changes_nothing() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(3);
    let request = runtime
        .begin_authorization(&company, &["hello"], None)
        .await
        .unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    runtime
        .complete_authorization(&params(&callback))
        .await
        .unwrap();
    let before = runtime.session(&company).await.unwrap().unwrap();

    let err = runtime
        .complete_authorization(&params(&callback))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::StateAlreadyUsed)),
        "{err:?}"
    );
    let after = runtime.session(&company).await.unwrap().unwrap();
    assert_eq!(after.version, before.version, "the session was not written");
    assert_eq!(
        sandbox.counts().authorization_code,
        1,
        "the code was not exchanged again"
    );
}

#[tokio::test]
async fn unknown_tampered_and_missing_states_are_told_apart() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let request = runtime
        .begin_authorization(&Company(4), &["hello"], None)
        .await
        .unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    let tampered = callback.replace(&request.state, &format!("{}x", request.state));
    let err = runtime
        .complete_authorization(&params(&tampered))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::UnknownState)),
        "{err:?}"
    );

    let err = runtime
        .complete_authorization(&params("http://127.0.0.1/cb?code=abc"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::MissingState)),
        "{err:?}"
    );

    let no_code = format!("http://127.0.0.1/cb?state={}", request.state);
    let err = runtime
        .complete_authorization(&params(&no_code))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::MissingCode)),
        "{err:?}"
    );

    // None of these consumed the state: the real callback still completes.
    runtime
        .complete_authorization(&params(&callback))
        .await
        .unwrap();
    assert!(runtime.last_error(&Company(4)).await.unwrap().is_none());
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .state_ttl(Duration::from_millis(50))
        .build()
        .unwrap();
    let request = runtime
        .begin_authorization(&Company(5), &["hello"], None)
        .await
        .unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    let err = runtime
        .complete_authorization(&params(&callback))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::StateExpired)),
        "{err:?}"
    );
    assert!(
        runtime.session(&Company(5)).await.unwrap().is_none(),
        "no session was created"
    );
    assert_eq!(sandbox.counts().authorization_code, 0);
}

#[tokio::test]
async fn a_state_for_another_user_is_refused_without_consuming_it() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let request = runtime
        .begin_authorization(&Company(6), &["hello"], None)
        .await
        .unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    let err = runtime
        .complete_authorization_for(&Company(7), &params(&callback))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::StateMismatch("user"))),
        "{err:?}"
    );
    assert!(runtime.session(&Company(7)).await.unwrap().is_none());
    runtime
        .complete_authorization_for(&Company(6), &params(&callback))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_denied_authorization_is_a_typed_error_recorded_on_the_session() {
    let (_sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(8);
    let request = runtime
        .begin_authorization(&company, &["hello"], None)
        .await
        .unwrap();
    let denied = format!(
        "http://127.0.0.1:8765/oauth2/callback?error=access_denied&error_description=the+user+refused&state={}",
        request.state
    );
    let err = runtime
        .complete_authorization(&params(&denied))
        .await
        .unwrap_err();
    match &err {
        Error::AuthorizationDenied {
            error, description, ..
        } => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("the user refused"));
        }
        other => panic!("expected AuthorizationDenied, got {other:?}"),
    }
    assert_eq!(err.provider_code(), Some("access_denied"));
    let last = runtime
        .last_error(&company)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(last.kind, "access_denied");
    assert!(!runtime.is_authorized(&company, &["hello"]).await.unwrap());
}

#[tokio::test]
async fn a_code_the_token_endpoint_rejects_is_recorded_and_keeps_tokens() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(9);
    oauth2_api_tests::authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let before = oauth2_api_tests::stored_tokens(&runtime, &company).await;

    let request = runtime
        .begin_authorization(&company, &["hello", "read:vat"], None)
        .await
        .unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    sandbox.fail_next_token_request(oauth2_api::sandbox::TokenFault::InvalidGrant);
    let err = runtime
        .complete_authorization(&params(&callback))
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("invalid_grant"), "{err}");
    let session = runtime.session(&company).await.unwrap().unwrap();
    assert_eq!(session.state.last_error.unwrap().kind, "invalid_grant");
    let after = session.state.tokens.expect("the earlier grant is kept");
    assert_eq!(
        after.access_token.expose_secret(),
        before.access_token.expose_secret()
    );
}
