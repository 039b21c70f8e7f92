//! Review 16e: the call cache's promises (README "A call with a valid token reads nothing
//! from the store", `RuntimeBuilder::cache_ttl`), tried again after 16d's fixes: a token
//! kept as refused for good, and a dropped write that lands after the cache forgot.
//!
//! Tests whose doc comment begins `Found:` failed at the time of the review and say what
//! was found.

use std::sync::Arc;
use std::time::Duration;

use crate::cache_kit::{LONG, hello, not_authorized, runtime_on};
use async_trait::async_trait;
use oauth2_api::SessionKey;
use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::{MemoryStore, SessionStore, StoreError};
use oauth2_api_tests::backends::{FlakyStore, Hooked, StoreHooks};
use oauth2_api_tests::{Company, authorize};
use secrecy::ExposeSecret;

/// Found: a refused token is kept as refused for the runtime's life (`entries.rs`
/// `Entries::refuse`; nothing removes it once the renewal is written). A provider that
/// answers a renewal with the access token it already issued (WSO2 gateways, HMRC's
/// among them, hand back the still-valid token; many refresh grants do too) after a
/// passing 401 (a gateway's hiccup) leaves that token stored and accepted by the API,
/// yet refused for this runtime: every later call finds it refused in the store
/// (`renewal.rs` `access_token`: `is_refused`), never caches it, and renews it again, one
/// token request per call, for good. README: "A call with a valid token reads nothing
/// from the store".
#[tokio::test]
async fn review16e_a_token_given_back_by_its_renewal_is_not_renewed_on_every_call() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = runtime_on(&sandbox, store.clone(), LONG);
    let company = Company(1661);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    let issued = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    // The provider gives the same access token back to every renewal.
    let same = serde_json::json!({
        "access_token": issued.access_token.expose_secret(),
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": issued.refresh_token.as_ref().unwrap().expose_secret(),
        "scope": "hello",
    });
    for _ in 0..8 {
        sandbox.fail_next_token_request(TokenFault::Body(same.to_string()));
    }
    // A passing 401: the token is renewed (given back) and the call sent again.
    sandbox.fail_next_api_call(ApiFault::Status(401, "{}".to_owned()));
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    let refreshes = sandbox.counts().refresh_token;
    store.reads();
    for _ in 0..5 {
        assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    }
    let renewed_again = sandbox.counts().refresh_token - refreshes;
    let (loads, _) = store.reads();
    // The first call after a renewal reads the renewed token once, then keeps it.
    assert!(
        renewed_again == 0 && loads <= 1,
        "five calls with a valid, accepted token: {renewed_again} token requests and \
         {loads} session loads"
    );
}

/// Found: a write through `runtime.store()` whose future is dropped before the database
/// has done it (a `timeout` around it; PostgreSQL or SQLite go on with a statement
/// already sent) is forgotten when dropped (`cache/mod.rs` `ForgetAfter`), before it
/// lands. A call in between reads the old session, and remembers its token; the delete
/// then lands, and nothing forgets again: the deleted session's token is served for the
/// whole TTL (here an hour; with `Duration::MAX`, for good). README: "A write through
/// the runtime is seen even if its future is dropped midway".
#[tokio::test]
async fn review16e_a_dropped_write_that_lands_later_is_still_seen() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let late = Hooked::new(Arc::new(MemoryStore::new()), LateWrites);
    let runtime = runtime_on(&sandbox, late.clone(), LONG);
    let company = Company(1662);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let key = runtime.session_key(&company).await.unwrap();
    let delete = runtime.store().delete(&key);
    let dropped = tokio::time::timeout(Duration::from_millis(20), delete).await;
    assert!(dropped.is_err(), "dropped before the store answered");
    // A call before the delete lands: the session is still there.
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    tokio::time::sleep(LANDS_AFTER * 2).await;
    assert!(late.inner.load(&key).await.unwrap().is_none(), "it landed");
    let api_calls = sandbox.counts().api;
    let after = hello(&runtime, &company).await;
    assert!(
        not_authorized(&after) && sandbox.counts().api == api_calls,
        "the session is gone from the store, yet its token is served: {after:?}"
    );
}

/// How long after it is sent a [`LateWrites`] write lands.
const LANDS_AFTER: Duration = Duration::from_millis(150);

/// Session deletes sent at once that land a little later whether or not the caller
/// still waits, as a statement sent to a database does.
struct LateWrites;

#[async_trait]
impl StoreHooks for LateWrites {
    async fn delete(
        &self,
        inner: &Arc<dyn SessionStore>,
        key: &SessionKey,
    ) -> Result<(), StoreError> {
        let (store, key) = (inner.clone(), key.clone());
        let landing = tokio::spawn(async move {
            tokio::time::sleep(LANDS_AFTER).await;
            store.delete(&key).await
        });
        landing.await.unwrap()
    }
}
