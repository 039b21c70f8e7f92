//! Regressions of the token lifecycle found in review: a write whose answer is lost, a
//! refresh "already in progress" elsewhere, grants kept in memory while the store fails,
//! a row version at the top of BIGINT, 500 callers on two instances, and a malformed
//! access token beside a rotated refresh token. No grant is lost or revoked by mistake.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use oauth2_api::sandbox::{Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::{CasOutcome, MemoryStore};
use oauth2_api::{Error, ExposeSecret, Runtime, TokenError, TokenSet};
use oauth2_api_tests::backends::{Backend, FlakyStore};
use oauth2_api_tests::{
    Company, HANG_GUARD, authorize, expire_stored_token, held_refresh, hello_status,
    on_both_backends, sandbox_builder, sandbox_runtime, sandbox_runtime_on, stored_tokens,
    write_tokens,
};

/// The call answered 200 without revoking anything (a revocation would mean `revoked`;
/// the sandbox had seen `revocations` before), and the grant still works at the
/// provider: with its access token expired by hand, a call refreshes with the stored
/// refresh token and gets a 200.
async fn assert_grant_kept(
    sandbox: &Sandbox,
    runtime: &Runtime,
    user: &Company,
    revocations: u64,
    call: Result<u16, Error>,
    revoked: &str,
) {
    let revoked_now = sandbox.counts().revocation - revocations;
    assert_eq!(revoked_now, 0, "{revoked} (call gave {call:?})");
    assert_eq!(call.as_ref().ok(), Some(&200), "{call:?}");
    expire_stored_token(runtime, user).await;
    let before = sandbox.counts().refresh_token;
    let status = tokio::time::timeout(HANG_GUARD, hello_status(runtime, user))
        .await
        .expect("no hang");
    assert_eq!(
        status.as_ref().ok(),
        Some(&200),
        "the grant is lost: a refresh from the stored refresh token fails: {status:?}"
    );
    assert!(sandbox.counts().refresh_token > before);
}

/// A compare-and-swap that commits but reports a failure right after a rotation: the
/// retry reads the renewed tokens back and must take them as its own, not revoke them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ambiguous_write_after_a_rotation_keeps_the_grant() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let flaky = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = sandbox_runtime_on(&sandbox, flaky.clone());
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    expire_stored_token(&runtime, &user).await;
    let revocations = sandbox.counts().revocation;
    flaky.lose_write_answers(1);
    let first = tokio::time::timeout(HANG_GUARD, hello_status(&runtime, &user))
        .await
        .expect("no hang");
    let revoked = "the runtime revoked tokens after an ambiguous write";
    assert_grant_kept(&sandbox, &runtime, &user, revocations, first, revoked).await;
}

/// Another holder (an instance without our lease) refreshes with `refresh` at the token
/// endpoint: the tokens it would store.
async fn refresh_elsewhere(sandbox: &Sandbox, refresh: &str) -> TokenSet {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", refresh)
        .append_pair("client_id", "sandbox-client")
        .append_pair("client_secret", "sandbox-secret")
        .finish();
    let answer: serde_json::Value = reqwest::Client::new()
        .post(sandbox.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    TokenSet {
        access_token: answer["access_token"].as_str().unwrap().to_owned().into(),
        refresh_token: Some(answer["refresh_token"].as_str().unwrap().to_owned().into()),
        expires_at: Some(SystemTime::now() + Duration::from_secs(3600)),
        scopes: vec!["hello".to_owned()],
        token_type: "bearer".to_owned(),
    }
}

/// HMRC's "refresh already in progress": while our refresh waits, another holder's
/// refresh lands in the store. Those tokens are the grant's live ones and are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_in_progress_elsewhere_keeps_the_tokens_that_landed() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    expire_stored_token(&runtime, &user).await;
    let old = stored_tokens(&runtime, &user).await;
    // Our refresh is held at the provider and will be answered "in progress".
    let in_progress = Some(Box::new(TokenFault::RefreshInProgress));
    let (gate, call) = held_refresh(&sandbox, &runtime, &user, in_progress).await;
    let theirs = refresh_elsewhere(&sandbox, old.refresh_token.unwrap().expose_secret()).await;
    let written = write_tokens(&runtime, &user, theirs).await;
    assert!(matches!(written, CasOutcome::Written(_)), "{written:?}");
    let revocations = sandbox.counts().revocation;
    gate.notify_one();
    let status = tokio::time::timeout(HANG_GUARD, call)
        .await
        .expect("no hang")
        .unwrap();
    let revoked = "the other holder's fresh grant was revoked";
    assert_grant_kept(&sandbox, &runtime, &user, revocations, status, revoked).await;
}

/// Company 1 authorized through `first` (before that once more, stored, when
/// `reauthorized`) while its store refuses every write, so that the grant is only kept in
/// memory; `other` is another instance on the same data.
async fn a_grant_kept_in_memory(
    backend: &Backend,
    reauthorized: bool,
) -> (Sandbox, Runtime, Runtime, Company) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let flaky = FlakyStore::new(backend.open().await);
    let first = sandbox_runtime_on(&sandbox, flaky.clone());
    let other = sandbox_runtime_on(&sandbox, backend.open().await);
    let user = Company(1);
    if reauthorized {
        authorize(&sandbox, &first, &user, &["hello"]).await;
    }
    flaky.fail_writes(1000);
    authorize(&sandbox, &first, &user, &["hello"]).await;
    flaky.fail_writes(0);
    (sandbox, first, other, user)
}

/// A newer authorization made through another instance is not overwritten by a grant
/// kept in memory at the first instance's next call.
async fn a_kept_grant_does_not_overwrite_a_newer_authorization(backend: &Backend) {
    let (sandbox, first, other, user) = a_grant_kept_in_memory(backend, false).await;
    authorize(&sandbox, &other, &user, &["hello"]).await;
    let newer = stored_tokens(&other, &user).await;
    let _ = tokio::time::timeout(HANG_GUARD, hello_status(&first, &user)).await;
    let stored = stored_tokens(&other, &user).await;
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        newer.refresh_token.unwrap().expose_secret(),
        "an older grant kept in memory replaced the newer authorization"
    );
}
on_both_backends!(
    a_kept_grant_does_not_overwrite_a_newer_authorization,
    super::a_kept_grant_does_not_overwrite_a_newer_authorization
);

/// A disconnect through another instance is not undone by a re-authorization kept in
/// memory at the first instance's next call.
async fn a_disconnect_elsewhere_is_not_undone_by_a_kept_grant(backend: &Backend) {
    let (_sandbox, first, other, user) = a_grant_kept_in_memory(backend, true).await;
    other.disconnect(&user).await.unwrap();
    assert!(other.session(&user).await.unwrap().is_none());
    let _ = tokio::time::timeout(HANG_GUARD, hello_status(&first, &user)).await;
    assert!(
        other.session(&user).await.unwrap().is_none(),
        "the disconnect was undone: the session is back in the store"
    );
}
on_both_backends!(
    a_disconnect_elsewhere_is_not_undone_by_a_kept_grant,
    super::a_disconnect_elsewhere_is_not_undone_by_a_kept_grant
);

/// A version at the top of BIGINT is as damaged as one below 1: a new authorization
/// replaces the row, as another instance then sees.
async fn a_new_authorization_replaces_a_row_at_the_highest_version(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_runtime_on(&sandbox, backend.open().await);
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    let old = stored_tokens(&runtime, &user).await;
    backend
        .execute("UPDATE oauth2_api_session SET version = 9223372036854775807")
        .await;
    tokio::time::timeout(HANG_GUARD, authorize(&sandbox, &runtime, &user, &["hello"]))
        .await
        .expect("no hang");
    let other = sandbox_runtime_on(&sandbox, backend.open().await);
    let seen = other.session(&user).await;
    let seen = seen
        .as_ref()
        .map(|s| s.as_ref().and_then(|s| s.state.tokens.clone()));
    let replaced = matches!(&seen, Ok(Some(t))
        if t.access_token.expose_secret() != old.access_token.expose_secret());
    assert!(
        replaced,
        "the new authorization did not replace the row: {}",
        match &seen {
            Ok(Some(_)) => "the old grant is still stored".to_owned(),
            Ok(None) => "no session".to_owned(),
            Err(e) => format!("the row is now unreadable: {e}"),
        }
    );
}
on_both_backends!(
    a_new_authorization_replaces_a_row_at_the_highest_version,
    super::a_new_authorization_replaces_a_row_at_the_highest_version
);

/// 500 callers on an expired token, split over two instances on one SQLite file, with
/// renewals that live 1 or 2 s: each round is served by one refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_callers_on_two_instances_share_one_refresh() {
    for ttl in [1u64, 2] {
        let config = SandboxConfig {
            access_ttl: Duration::from_secs(ttl),
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config).await.unwrap();
        let backend = Backend::sqlite();
        let a = sandbox_runtime_on(&sandbox, backend.open().await);
        let b = sandbox_runtime_on(&sandbox, backend.open().await);
        let user = Company(1);
        authorize(&sandbox, &a, &user, &["hello"]).await;
        expire_stored_token(&a, &user).await;
        let before = sandbox.counts().refresh_token;
        let calls: Vec<_> = (0..500)
            .map(|i| {
                let runtime = if i % 2 == 0 { a.clone() } else { b.clone() };
                let user = user.clone();
                tokio::spawn(async move { runtime.token(&user, &["hello"]).await })
            })
            .collect();
        let mut errors = Vec::new();
        for call in calls {
            match tokio::time::timeout(HANG_GUARD, call).await {
                Ok(Ok(Ok(_))) => {}
                other => errors.push(format!("{other:?}")),
            }
        }
        let refreshes = sandbox.counts().refresh_token - before;
        assert!(
            errors.is_empty(),
            "ttl {ttl}: {:?}",
            &errors[..errors.len().min(3)]
        );
        assert_eq!(refreshes, 1, "ttl {ttl}s");
    }
}

/// A proxy in front of `sandbox`'s token endpoint that breaks the access token (CR LF)
/// of the next good answer while `corrupt` is set: its token URL.
async fn corrupting_proxy(sandbox: &Sandbox, corrupt: Arc<AtomicBool>) -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let upstream = sandbox.token_url();
    let forward = move |headers: HeaderMap, body: Bytes| async move {
        let mut request = reqwest::Client::new()
            .post(&upstream)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_vec());
        if let Some(auth) = headers.get("authorization") {
            request = request.header("authorization", auth.to_str().unwrap());
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let mut json: serde_json::Value = answer.json().await.unwrap();
        if status == 200 && corrupt.swap(false, Ordering::SeqCst) {
            let access = json["access_token"].as_str().unwrap().to_owned();
            json["access_token"] = format!("{access}\r\nX-Injected: 1").into();
        }
        (StatusCode::from_u16(status).unwrap(), axum::Json(json))
    };
    let router = axum::Router::new().route("/token", axum::routing::post(forward));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// An answer with a CR LF in its access token but a good rotated refresh token (broken
/// on the way by a proxy): refused as malformed, yet the rotated refresh token is kept,
/// so the next call refreshes without tripping the provider's reuse detection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_access_token_keeps_the_rotated_refresh_token() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let corrupt = Arc::new(AtomicBool::new(false));
    let proxy = corrupting_proxy(&sandbox, corrupt.clone()).await;
    let runtime = sandbox_builder(&sandbox)
        .token_url("sandbox", &proxy)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    expire_stored_token(&runtime, &user).await;
    corrupt.store(true, Ordering::SeqCst);
    let first = runtime.token(&user, &["hello"]).await;
    assert!(
        matches!(first, Err(Error::Token(TokenError::Malformed { .. }))),
        "{first:?}"
    );
    let second = tokio::time::timeout(HANG_GUARD, hello_status(&runtime, &user))
        .await
        .expect("no hang");
    assert_eq!(
        second.as_ref().ok(),
        Some(&200),
        "after one malformed answer the grant is gone ({} refreshes): {second:?}",
        sandbox.counts().refresh_token
    );
}
