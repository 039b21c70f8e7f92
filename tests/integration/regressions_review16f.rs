//! Review 16f: the call cache's promises (README "A call with a valid token reads nothing
//! from the store", `RuntimeBuilder::cache_ttl`) where a 401, its renewal and a second
//! refusal meet.
//!
//! Tests whose doc comment begins `Found:` failed at the time of the review and say what
//! was found.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crate::cache_kit::{LONG, hello};
use async_trait::async_trait;
use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::{CasOutcome, Consumed, MemoryStore, SessionStore, StoreError};
use oauth2_api::{PendingAuthorization, Session, SessionKey, SessionState, UserRef};
use oauth2_api_tests::{Company, authorize, sandbox_builder};
use tokio::sync::Notify;

async fn until(what: impl Fn() -> bool) {
    for _ in 0..400 {
        if what() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out");
}

/// Found: a renewal that succeeds forgets every refusal of its session
/// (`oauth/renewal.rs` `access_token`: `renewed(&key)` after `renew` returns), those
/// recorded after it wrote its token included. Between the renewal's write and that
/// `renewed` (here: while its lease is released) another call sends the renewed token,
/// which the API refuses; that call waits to renew it. The first renewal's `renewed`
/// then forgets that refusal, and while the second renewal runs, a third call reads the
/// refused token from the store as fresh, remembers it and sends it. `cache_ttl`: "a
/// token the API refuses ... is not sent again by the runtime while it is renewed".
#[tokio::test]
async fn review16f_a_refusal_after_a_renewal_wrote_outlives_that_renewal() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let gated = Arc::new(GatedRelease(
        Arc::new(MemoryStore::new()),
        AtomicBool::new(false),
        AtomicBool::new(false),
        Notify::new(),
    ));
    let runtime = sandbox_builder(&sandbox)
        .shared_store(gated.clone())
        .cache_ttl(LONG)
        .build()
        .unwrap();
    let company = Company(1671);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    // First: a 401, a renewal that writes its token and then releases its lease slowly.
    gated.1.store(true, Ordering::SeqCst);
    sandbox.fail_next_api_call(ApiFault::Status(401, "{}".to_owned()));
    let first = tokio::spawn({
        let (runtime, company) = (runtime.clone(), company.clone());
        async move { hello(&runtime, &company).await }
    });
    until(|| gated.2.load(Ordering::SeqCst)).await;
    // Second: sends the renewed token, refused; it waits to renew it (slowly).
    let api = sandbox.counts().api;
    sandbox.fail_next_api_call(ApiFault::Status(401, "{}".to_owned()));
    sandbox.fail_next_token_request(TokenFault::Delay(Duration::from_secs(2)));
    let second = tokio::spawn({
        let (runtime, company) = (runtime.clone(), company.clone());
        async move { hello(&runtime, &company).await }
    });
    until(|| sandbox.counts().api > api).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The first renewal ends.
    gated.3.notify_one();
    assert_eq!(first.await.unwrap().unwrap(), 200);
    // Third, while the refused token is renewed: it must wait for the renewal.
    let started = std::time::Instant::now();
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "a call sent the token the API just refused while it was being renewed (it \
         did not wait for the renewal, {:?})",
        started.elapsed()
    );
    assert_eq!(second.await.unwrap().unwrap(), 200);
}

/// A memory store whose next lease release, once armed, waits to be let through.
struct GatedRelease(Arc<dyn SessionStore>, AtomicBool, AtomicBool, Notify);

#[async_trait]
impl SessionStore for GatedRelease {
    async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        self.0.load(key).await
    }
    async fn compare_and_swap(
        &self,
        key: &SessionKey,
        expected: u64,
        state: &SessionState,
    ) -> Result<CasOutcome, StoreError> {
        self.0.compare_and_swap(key, expected, state).await
    }
    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        self.0.replace(key, state).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    async fn insert_pending(&self, pending: &PendingAuthorization) -> Result<(), StoreError> {
        self.0.insert_pending(pending).await
    }
    async fn rebind_pending(&self, state: &str, binding: Option<&str>) -> Result<bool, StoreError> {
        self.0.rebind_pending(state, binding).await
    }
    async fn peek_pending(&self, state: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        self.0.peek_pending(state).await
    }
    async fn consume_pending(&self, state: &str, now: SystemTime) -> Result<Consumed, StoreError> {
        self.0.consume_pending(state, now).await
    }
    async fn pending_for(
        &self,
        key: &SessionKey,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthorization>, StoreError> {
        self.0.pending_for(key, now).await
    }
    async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
        self.0.purge_pending(cutoff).await
    }
    async fn environment(&self, api: &str, user: &UserRef) -> Result<Option<String>, StoreError> {
        self.0.environment(api, user).await
    }
    async fn set_environment(
        &self,
        api: &str,
        user: &UserRef,
        env: &str,
    ) -> Result<(), StoreError> {
        self.0.set_environment(api, user, env).await
    }
    async fn acquire_lease(
        &self,
        key: &SessionKey,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        self.0.acquire_lease(key, holder, now, until).await
    }
    async fn release_lease(&self, key: &SessionKey, holder: &str) -> Result<(), StoreError> {
        if self.1.swap(false, Ordering::SeqCst) {
            self.2.store(true, Ordering::SeqCst);
            self.3.notified().await;
        }
        self.0.release_lease(key, holder).await
    }
}
