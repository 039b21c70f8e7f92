//! Review 16f: the call cache's promises (README "A call with a valid token reads nothing
//! from the store", `RuntimeBuilder::cache_ttl`) where a 401, its renewal and a second
//! refusal meet.
//!
//! Tests whose doc comment begins `Found:` failed at the time of the review and say what
//! was found.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cache_kit::{LONG, hello};
use async_trait::async_trait;
use oauth2_api::SessionKey;
use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::{MemoryStore, SessionStore, StoreError};
use oauth2_api_tests::backends::{Hooked, StoreHooks};
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
    let gate = GatedRelease(
        AtomicBool::new(false),
        AtomicBool::new(false),
        Notify::new(),
    );
    let gated = Hooked::new(Arc::new(MemoryStore::new()), gate);
    let runtime = sandbox_builder(&sandbox)
        .shared_store(gated.clone())
        .cache_ttl(LONG)
        .build()
        .unwrap();
    let company = Company(1671);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    // First: a 401, a renewal that writes its token and then releases its lease slowly.
    gated.hooks.0.store(true, Ordering::SeqCst);
    sandbox.fail_next_api_call(ApiFault::Status(401, "{}".to_owned()));
    let first = tokio::spawn({
        let (runtime, company) = (runtime.clone(), company.clone());
        async move { hello(&runtime, &company).await }
    });
    until(|| gated.hooks.1.load(Ordering::SeqCst)).await;
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
    gated.hooks.2.notify_one();
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

/// The next lease release, once armed (`.0`), says it waits (`.1`) and waits to be let
/// through (`.2`).
struct GatedRelease(AtomicBool, AtomicBool, Notify);

#[async_trait]
impl StoreHooks for GatedRelease {
    async fn release_lease(
        &self,
        inner: &Arc<dyn SessionStore>,
        key: &SessionKey,
        holder: &str,
    ) -> Result<(), StoreError> {
        if self.0.swap(false, Ordering::SeqCst) {
            self.1.store(true, Ordering::SeqCst);
            self.2.notified().await;
        }
        inner.release_lease(key, holder).await
    }
}
