//! Pending authorizations stay few however often a user begins one, so beginning stays
//! as cheap as the first time; an identical request reuses the one it began.

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::SqliteStore;
use oauth2_api_tests::{Company, sandbox_builder};

/// Pending authorizations kept per session (`store::MAX_PENDING_PER_SESSION`).
const KEPT: usize = 16;

#[tokio::test]
async fn a_user_beginning_over_and_over_leaves_a_bounded_number_of_rows() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.db");
    let runtime = sandbox_builder(&sandbox)
        .store(SqliteStore::open(&file).await.unwrap())
        .build()
        .unwrap();
    let company = Company(51);
    let mut last = None;
    // As the redirect middleware would for as many distinct query strings.
    for i in 0..300 {
        let request = runtime
            .begin_authorization(&company, &["hello"], Some(&format!("/vat?page={i}")))
            .await
            .unwrap();
        last = Some(request.state);
    }
    let pending = runtime.pending_authorizations(&company).await.unwrap();
    assert_eq!(
        pending.len(),
        KEPT,
        "what the next beginning reads stays bounded"
    );
    assert_eq!(
        pending.last().map(|p| &p.state),
        last.as_ref(),
        "the newest are kept"
    );
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM oauth2_api_pending")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(
        rows as usize, KEPT,
        "older ones are deleted, not only hidden"
    );
    // The newest still completes.
    let newest = runtime
        .begin_authorization(&company, &["hello"], Some("/vat?page=299"))
        .await
        .unwrap();
    assert_eq!(
        Some(&newest.state),
        last.as_ref(),
        "an identical request reuses it"
    );
    let callback = sandbox.approve(newest.url.as_str()).await.unwrap();
    runtime
        .complete_authorization(&oauth2_api::CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_identical_request_with_scopes_in_another_order_reuses_its_state() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(oauth2_api::store::MemoryStore::new())
        .build()
        .unwrap();
    let company = Company(52);
    let first = runtime
        .begin_authorization(&company, &["read:vat", "hello"], Some("/vat"))
        .await
        .unwrap();
    let again = runtime
        .begin_authorization(&company, &["hello", "read:vat"], Some("/vat"))
        .await
        .unwrap();
    assert_eq!(again.state, first.state);
    let elsewhere = runtime
        .begin_authorization(&company, &["hello", "read:vat"], Some("/other"))
        .await
        .unwrap();
    assert_ne!(
        elsewhere.state, first.state,
        "another return target is another request"
    );
    assert_eq!(
        runtime
            .pending_authorizations(&company)
            .await
            .unwrap()
            .len(),
        2
    );
}
