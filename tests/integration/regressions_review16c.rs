//! Review 16c: the call cache's promises (README "A call with a valid token reads nothing
//! from the store", `RuntimeBuilder::cache_ttl`), tried as an attacker and as a demanding
//! newcomer: a stale token served after the store said it is gone, a write the cache never
//! hears of, and the store stampeded after all.
//!
//! Tests whose doc comment begins `Found:` failed at the time of the review and say what
//! was found.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use oauth2_api::SessionKey;
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SessionStore, StoreError};
use oauth2_api_tests::backends::{FlakyStore, Hooked, StoreHooks};
use oauth2_api_tests::{Company, authorize};

use crate::cache_kit::{LONG, hello, not_authorized, runtime_on};
use crate::regressions_call_paths::futures_join_all;

/// Found: another process deletes the session (the application's "disconnect" that does
/// not revoke, or a row removed by an admin job). Once the entry has aged, the call that
/// reads it again finds no session and says so; but its answer is not applied to the
/// cache (`renewal.rs` `access_token` returns `Authorize` without forgetting, and the
/// aged `Held` keeps `rereading = true`), so the very next call is served the deleted
/// session's token for up to one more TTL. README: "calls made *meanwhile* use the old
/// one"; here the read has landed and said the session is gone. The same happens when
/// the reread finds the token no longer covers the call's scopes.
#[tokio::test]
async fn review16c_a_reread_that_finds_the_session_gone_stops_its_token_at_once() {
    let ttl = Duration::from_millis(500);
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let one = runtime_on(&sandbox, shared.clone(), ttl);
    let other = runtime_on(&sandbox, shared.clone(), LONG);
    let company = Company(1601);
    authorize(&sandbox, &one, &company, &["hello"]).await;
    assert_eq!(hello(&one, &company).await.unwrap(), 200);
    // The other process removes the session from the store (no revocation).
    let key = other.session_key(&company).await.unwrap();
    other.store().delete(&key).await.unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    let first = hello(&one, &company).await;
    assert!(not_authorized(&first), "the reread sees it: {first:?}");
    let api_calls = sandbox.counts().api;
    let second = hello(&one, &company).await;
    assert!(
        not_authorized(&second),
        "the store has just said there is no session, yet the next call is served the \
         deleted session's token: {second:?}"
    );
    assert_eq!(
        sandbox.counts().api,
        api_calls,
        "no API call with that token"
    );
}

/// Found: when the call that took the turn to read an aged entry again never lands (its
/// future dropped by a timeout or a client going away, or the store failing once), the
/// entry keeps `rereading = true` until it is one TTL past its age, and then no call may
/// use it and none is given the turn: every call in flight at that moment reads the store
/// (`Age::serves`: outside the grace it answers `false` to all). 32 calls, 32 pairs of
/// reads, exactly the stampede the turn was made to prevent (README: "one read a second
/// under load, not one per call in flight").
#[tokio::test]
async fn review16c_after_a_dropped_reread_the_store_is_not_stampeded() {
    let ttl = Duration::from_millis(300);
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = runtime_on(&sandbox, store.clone(), ttl);
    let company = Company(1602);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    tokio::time::sleep(ttl).await;
    // The first call to find the entry aged takes the turn, and is dropped mid-read.
    store.delay_reads(Duration::from_millis(200));
    let dropped = tokio::time::timeout(Duration::from_millis(30), hello(&runtime, &company));
    assert!(dropped.await.is_err(), "dropped while it reads");
    // Past the grace: the aged entry serves nobody any more.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    store.delay_reads(Duration::from_millis(50));
    store.reads();
    let statuses = futures_join_all((0..32).map(|_| hello(&runtime, &company))).await;
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(200))),
        "{statuses:?}"
    );
    assert_eq!(
        store.reads(),
        (1, 1),
        "(session loads, environment reads): one call reads again, not all 32"
    );
}

/// Found: the cache's epoch is global. Any write, for any user, while a call reads the
/// store throws that call's read away (`remember_tokens` / `environment_of` compare one
/// counter for all users), so the next call of this user reads the store again. Under a
/// steady stream of writes by other users (renewals, last errors, environment choices,
/// authorizations of a multi-tenant application) a reread rarely lands, and an aged entry
/// whose reread was thrown away then goes the way of the test above: every call in flight
/// reads the store once the grace is over.
#[tokio::test]
async fn review16c_a_write_for_another_user_does_not_throw_away_a_read() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = runtime_on(&sandbox, store.clone(), LONG);
    let (company, neighbour) = (Company(1603), Company(1604));
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    store.delay_reads(Duration::from_millis(150));
    let neighbour_writes = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        (runtime.select_environment(&neighbour, "sandbox").await).unwrap();
    };
    let (status, ()) = tokio::join!(hello(&runtime, &company), neighbour_writes);
    assert_eq!(status.unwrap(), 200);
    store.delay_reads(Duration::ZERO);
    store.reads();
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    assert_eq!(
        store.reads(),
        (0, 0),
        "(session loads, environment reads): what this user's call read was not \
         changed by a write to another user's row"
    );
}

/// Found: `CachedStore` forgets what a write may have changed only after the write's
/// future completes (`written_session` after `.await`). A write whose future is dropped
/// after the store applied it (a request handler cancelled when its client goes away, a
/// `tokio::time::timeout` around `runtime.store().delete`, a PostgreSQL commit whose
/// answer is slow) changes the store and leaves the cache as it was: the deleted
/// session's token is then served for the whole TTL (here an hour, as for
/// `Duration::MAX`, "until a write"). README: "Writes through the runtime, or through
/// `runtime.store()`, are seen at once."
#[tokio::test]
async fn review16c_a_write_dropped_after_it_landed_is_still_seen() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let slow = Hooked::new(Arc::new(MemoryStore::new()), SlowAck);
    let runtime = runtime_on(&sandbox, slow.clone(), LONG);
    let company = Company(1605);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    let key = runtime.session_key(&company).await.unwrap();
    let delete = runtime.store().delete(&key);
    let dropped = tokio::time::timeout(Duration::from_millis(50), delete).await;
    assert!(dropped.is_err(), "dropped before the store answered");
    assert!(
        slow.inner.load(&key).await.unwrap().is_none(),
        "but it is deleted"
    );
    let api_calls = sandbox.counts().api;
    let after = hello(&runtime, &company).await;
    assert!(
        not_authorized(&after),
        "the session is gone from the store, yet its token is served: {after:?}"
    );
    assert_eq!(
        sandbox.counts().api,
        api_calls,
        "no API call with that token"
    );
}

/// Found: `cache_ttl` promises "a token the API refuses is never reused". After a call's
/// 401 the runtime forgets the token and renews it; but until the renewal is written,
/// every other call reads the refused token from the store, finds it fresh by the clock
/// (it has not seen the 401: `assess` with `seen = None`), remembers it in the cache
/// (`renewal.rs` `remember_tokens`) and sends it: one more 401 per call while the token
/// request runs (up to `token_timeout`), each then waiting for the same renewal.
#[tokio::test]
async fn review16c_a_refused_token_is_not_sent_again_while_it_is_renewed() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = runtime_on(&sandbox, Arc::new(MemoryStore::new()), LONG);
    authorize(&sandbox, &runtime, &Company(1606), &["hello"]).await;
    assert_eq!(hello(&runtime, &Company(1606)).await.unwrap(), 200);
    // The provider ends the access token early; its renewal is held at the token endpoint.
    sandbox.expire_access_tokens();
    let gate = Arc::new(tokio::sync::Notify::new());
    sandbox.fail_next_token_request(oauth2_api::sandbox::TokenFault::Held(gate.clone(), None));
    let call = || {
        let runtime = runtime.clone();
        tokio::spawn(async move { hello(&runtime, &Company(1606)).await })
    };
    let before = sandbox.counts().api;
    let first = call();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sandbox.counts().api, before + 1, "the first call's 401");
    let others: Vec<_> = (0..5).map(|_| call()).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused_again = sandbox.counts().api - (before + 1);
    gate.notify_one();
    for call in std::iter::once(first).chain(others) {
        assert_eq!(call.await.unwrap().unwrap(), 200);
    }
    assert_eq!(sandbox.counts().refresh_token, 1);
    assert_eq!(
        refused_again, 0,
        "calls made while the refused token is renewed send it again"
    );
}

/// Deletes applied at once and acknowledged 500 ms later, as a remote database's commit
/// whose answer is slow to come back.
struct SlowAck;

const ACK: Duration = Duration::from_millis(500);

#[async_trait]
impl StoreHooks for SlowAck {
    async fn delete(
        &self,
        inner: &Arc<dyn SessionStore>,
        key: &SessionKey,
    ) -> Result<(), StoreError> {
        let done = inner.delete(key).await;
        tokio::time::sleep(ACK).await;
        done
    }
}
