//! The token lifecycle against races between instances and a failing or damaged store,
//! each on SQLite and on PostgreSQL: a grant is never lost, a disconnect is final.

use std::time::{Duration, SystemTime};

use oauth2_api::sandbox::{Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::TokenCipher;
use oauth2_api::{AuthorizationReason, Environment, ExposeSecret, Provider, Runtime};
use oauth2_api_tests::backends::{Backend, FlakyStore};
use oauth2_api_tests::{
    Company, authorize, builder_for, expire_stored_token, held_refresh, hello_status,
    on_both_backends, refreshes_reach, sandbox_builder, sandbox_runtime_on, stored_tokens,
};

/// A sandbox, two instances on `backend`, and a user authorized through the first whose
/// token is due for a refresh.
async fn two_instances_due(backend: &Backend) -> (Sandbox, Runtime, Runtime, Company) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_runtime_on(&sandbox, backend.open().await);
    let other = sandbox_runtime_on(&sandbox, backend.open().await);
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    expire_stored_token(&runtime, &user).await;
    (sandbox, runtime, other, user)
}

fn is_expired(tokens: &oauth2_api::TokenSet) -> bool {
    tokens.expires_at.is_some_and(|at| at <= SystemTime::now())
}

async fn failed_writes_after_a_rotation_keep_the_grant(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let flaky = FlakyStore::new(backend.open().await);
    let runtime = sandbox_runtime_on(&sandbox, flaky.clone());
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;

    // One failure: the bounded retry stores the rotated token.
    expire_stored_token(&runtime, &user).await;
    flaky.fail_writes(1);
    assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
    assert_eq!(flaky.failures_left(), 0);
    assert!(!is_expired(&stored_tokens(&runtime, &user).await));

    // Failing past the backoff: kept in memory and used, stored at the next call.
    expire_stored_token(&runtime, &user).await;
    flaky.fail_writes(1000);
    assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
    assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
    assert_eq!(
        sandbox.counts().refresh_token,
        2,
        "no refresh from a dead token"
    );
    flaky.fail_writes(0);
    assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
    assert!(!is_expired(&stored_tokens(&runtime, &user).await));

    // Another instance refreshes from what was stored: the rotated token is the live one
    // (the sandbox revokes the whole grant when a used refresh token comes back).
    let other = sandbox_runtime_on(&sandbox, backend.open().await);
    expire_stored_token(&other, &user).await;
    assert_eq!(hello_status(&other, &user).await.unwrap(), 200);
    assert_eq!(sandbox.counts().refresh_token, 3);
}
on_both_backends!(
    failed_writes_after_a_rotation_keep_the_grant,
    super::failed_writes_after_a_rotation_keep_the_grant
);

async fn failed_writes_after_a_code_exchange_keep_the_grant(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let flaky = FlakyStore::new(backend.open().await);
    let runtime = sandbox_runtime_on(&sandbox, flaky.clone());
    let (first, second) = (Company(1), Company(2));
    flaky.fail_writes(1);
    authorize(&sandbox, &runtime, &first, &["hello"]).await;
    assert_eq!(flaky.failures_left(), 0);
    stored_tokens(&runtime, &first).await;

    flaky.fail_writes(1000);
    authorize(&sandbox, &runtime, &second, &["hello"]).await;
    assert_eq!(hello_status(&runtime, &second).await.unwrap(), 200);
    flaky.fail_writes(0);
    assert_eq!(hello_status(&runtime, &second).await.unwrap(), 200);
    let other = sandbox_runtime_on(&sandbox, backend.open().await);
    assert_eq!(hello_status(&other, &second).await.unwrap(), 200);
}
on_both_backends!(
    failed_writes_after_a_code_exchange_keep_the_grant,
    super::failed_writes_after_a_code_exchange_keep_the_grant
);

async fn a_stale_invalid_grant_does_not_wipe_a_newer_authorization(backend: &Backend) {
    let (sandbox, runtime, other, user) = two_instances_due(backend).await;
    let refused = Some(Box::new(TokenFault::InvalidGrant));
    let (gate, call) = held_refresh(&sandbox, &runtime, &user, refused).await;
    // Meanwhile the person authorizes again, through another instance.
    authorize(&sandbox, &other, &user, &["hello"]).await;
    let newer = stored_tokens(&other, &user).await;
    gate.notify_one();
    assert_eq!(
        call.await.unwrap().unwrap(),
        200,
        "the newer grant serves the call"
    );
    let stored = stored_tokens(&runtime, &user).await;
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        newer.refresh_token.unwrap().expose_secret()
    );
}
on_both_backends!(
    a_stale_invalid_grant_does_not_wipe_a_newer_authorization,
    super::a_stale_invalid_grant_does_not_wipe_a_newer_authorization
);

/// A provider on `sandbox` without a revocation URL: a disconnect cannot revoke, so only
/// the client keeps the late refresh from coming back.
fn without_revocation(sandbox: &Sandbox) -> Provider {
    Provider::new("HMRC").environment(Environment::new(
        "sandbox",
        sandbox.url(),
        sandbox.auth_url(),
        sandbox.token_url(),
    ))
}

async fn a_refresh_finishing_after_a_disconnect_is_discarded(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let build = |store| builder_for(without_revocation(&sandbox)).shared_store(store);
    let runtime = build(backend.open().await).build().unwrap();
    let other = build(backend.open().await).build().unwrap();
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    expire_stored_token(&runtime, &user).await;
    let (gate, call) = held_refresh(&sandbox, &runtime, &user, None).await;
    other.disconnect(&user).await.unwrap();
    gate.notify_one();
    let err = call.await.unwrap().unwrap_err();
    let required = err
        .authorization_required()
        .expect("authorization required");
    assert_eq!(required.reason, AuthorizationReason::NotAuthorized);
    assert!(
        runtime.session(&user).await.unwrap().is_none(),
        "the disconnect stands"
    );
}
on_both_backends!(
    a_refresh_finishing_after_a_disconnect_is_discarded,
    super::a_refresh_finishing_after_a_disconnect_is_discarded
);

async fn a_refresh_finishing_after_a_new_authorization_is_discarded(backend: &Backend) {
    let (sandbox, runtime, other, user) = two_instances_due(backend).await;
    let (gate, call) = held_refresh(&sandbox, &runtime, &user, None).await;
    authorize(&sandbox, &other, &user, &["hello"]).await;
    let newer = stored_tokens(&other, &user).await;
    let revocations = sandbox.counts().revocation;
    gate.notify_one();
    assert_eq!(call.await.unwrap().unwrap(), 200);
    let stored = stored_tokens(&runtime, &user).await;
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        newer.refresh_token.unwrap().expose_secret(),
        "the new authorization's grant stays"
    );
    assert_eq!(
        sandbox.counts().revocation,
        revocations + 1,
        "the late one is revoked"
    );
    assert_eq!(hello_status(&other, &user).await.unwrap(), 200);
}
on_both_backends!(
    a_refresh_finishing_after_a_new_authorization_is_discarded,
    super::a_refresh_finishing_after_a_new_authorization_is_discarded
);

async fn a_row_version_below_one_is_written_over(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_runtime_on(&sandbox, backend.open().await);
    let user = Company(1);
    for version in [0, -3] {
        authorize(&sandbox, &runtime, &user, &["hello"]).await;
        expire_stored_token(&runtime, &user).await;
        backend
            .execute(&format!(
                "UPDATE oauth2_api_session SET version = {version}"
            ))
            .await;
        let call = tokio::time::timeout(Duration::from_secs(20), hello_status(&runtime, &user));
        assert_eq!(call.await.expect("no endless retry").unwrap(), 200);
        assert!(!is_expired(&stored_tokens(&runtime, &user).await));
        backend
            .execute(&format!(
                "UPDATE oauth2_api_session SET version = {version}"
            ))
            .await;
        let again = authorize(&sandbox, &runtime, &user, &["hello"]);
        tokio::time::timeout(Duration::from_secs(20), again)
            .await
            .expect("a new authorization over it completes");
    }
}
on_both_backends!(
    a_row_version_below_one_is_written_over,
    super::a_row_version_below_one_is_written_over
);

async fn a_refresh_slower_than_the_lease_is_still_single(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let lease = Duration::from_millis(300);
    let build = |store| {
        sandbox_builder(&sandbox)
            .shared_store(store)
            .lease_ttl(lease)
    };
    let first = build(backend.open().await).build().unwrap();
    let second = build(backend.open().await).build().unwrap();
    let user = Company(1);
    authorize(&sandbox, &first, &user, &["hello"]).await;
    expire_stored_token(&first, &user).await;
    // The token answer takes more than three leases.
    sandbox.fail_next_token_request(TokenFault::Delay(lease * 3 + lease / 2));
    let one = tokio::spawn({
        let (runtime, user) = (first.clone(), user.clone());
        async move { hello_status(&runtime, &user).await }
    });
    refreshes_reach(&sandbox, 1).await;
    let two = hello_status(&second, &user).await;
    assert_eq!(one.await.unwrap().unwrap(), 200);
    assert_eq!(two.unwrap(), 200);
    assert_eq!(
        sandbox.counts().refresh_token,
        1,
        "one refresh for both instances"
    );
}
on_both_backends!(
    a_refresh_slower_than_the_lease_is_still_single,
    super::a_refresh_slower_than_the_lease_is_still_single
);

fn cipher(byte: u8) -> TokenCipher {
    TokenCipher::new("k", [byte; 32]).unwrap()
}

async fn an_unreadable_session_can_be_cleared_and_replaced(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_runtime_on(&sandbox, backend.open_sealed(Some(cipher(1))).await);
    let wrong_key = sandbox_runtime_on(&sandbox, backend.open_sealed(Some(cipher(2))).await);
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    assert!(
        wrong_key.session(&user).await.is_err(),
        "sealed with another key"
    );
    wrong_key
        .disconnect(&user)
        .await
        .expect("a disconnect needs no reading");
    assert!(runtime.session(&user).await.unwrap().is_none());

    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    backend
        .execute("UPDATE oauth2_api_session SET access_token = 'garbage', scopes = 'not json'")
        .await;
    assert!(runtime.session(&user).await.is_err(), "damaged cells");
    // A new authorization replaces the damaged row without reading it.
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
}
on_both_backends!(
    an_unreadable_session_can_be_cleared_and_replaced,
    super::an_unreadable_session_can_be_cleared_and_replaced
);

async fn a_disconnect_drops_tokens_kept_in_memory(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let flaky = FlakyStore::new(backend.open().await);
    let runtime = sandbox_runtime_on(&sandbox, flaky.clone());
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    expire_stored_token(&runtime, &user).await;
    flaky.fail_writes(1000);
    assert_eq!(hello_status(&runtime, &user).await.unwrap(), 200);
    let revocations = sandbox.counts().revocation;
    runtime.disconnect(&user).await.unwrap();
    assert!(
        sandbox.counts().revocation > revocations,
        "the kept grant is revoked"
    );
    flaky.fail_writes(0);
    let err = hello_status(&runtime, &user).await.unwrap_err();
    let required = err
        .authorization_required()
        .expect("authorization required");
    assert_eq!(required.reason, AuthorizationReason::NotAuthorized);
    assert!(runtime.session(&user).await.unwrap().is_none());
}
on_both_backends!(
    a_disconnect_drops_tokens_kept_in_memory,
    super::a_disconnect_drops_tokens_kept_in_memory
);
