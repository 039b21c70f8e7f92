//! Review 16d: the call cache's promises (README "A call with a valid token reads nothing
//! from the store", `RuntimeBuilder::cache_ttl`), tried again after 16c's fixes, as an
//! attacker and as a demanding user running several processes on one shared store.
//!
//! Tests whose doc comment begins `Found:` failed at the time of the review and say what
//! was found.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::{MemoryStore, SessionStore, StoreError};
use oauth2_api::{Environment, Runtime, Session, SessionKey, SessionState};
use oauth2_api_tests::backends::{FlakyStore, Hooked, StoreHooks};
use oauth2_api_tests::{Company, authorize, builder_for, sandbox_provider};

use crate::cache_kit::{LONG, hello, not_authorized, runtime_on};
use crate::regressions_call_paths::futures_join_all;

/// The cache's bound on users (`store/cache/mod.rs` `CAPACITY`).
const CAPACITY: u32 = 10_000;

/// Gives `count` users, from `first` on, a copy of `company`'s stored tokens, written
/// through `runtime.store()` (valid tokens: a call for them needs no renewal).
async fn sessions_for_many(runtime: &Runtime, company: &Company, first: u32, count: u32) {
    let tokens = oauth2_api_tests::stored_tokens(runtime, company).await;
    for id in first..first + count {
        let key = runtime.session_key(&Company(id)).await.unwrap();
        let state = SessionState {
            tokens: Some(tokens.clone()),
            last_error: None,
        };
        runtime.store().replace(&key, &state).await.unwrap();
    }
}

/// Found: `Runtime::token` ("what every call uses, for requests this crate does not send
/// itself") takes no turn. `access_token` asks the cache with `tokens()`, which serves a
/// young entry only, and `environment_of` likewise: once the entry ages, every
/// `token()` in flight reads the store (two queries each) until one read lands. An
/// application sending its own requests with `runtime.token()` gets the stampede the
/// turn (README: "one read a second under load, not one per call in flight") prevents.
#[tokio::test]
async fn review16d_token_calls_do_not_stampede_the_store_when_an_entry_ages() {
    let ttl = Duration::from_millis(200);
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = runtime_on(&sandbox, store.clone(), ttl);
    let company = Company(1651);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    runtime.token(&company, &["hello"]).await.unwrap();
    runtime.token(&company, &["hello"]).await.unwrap();
    tokio::time::sleep(ttl).await;
    store.reads();
    store.delay_reads(Duration::from_millis(50));
    let calls = (0..32).map(|_| runtime.token(&company, &["hello"]));
    let tokens = futures_join_all(calls).await;
    assert!(tokens.iter().all(Result::is_ok));
    assert_eq!(
        store.reads(),
        (1, 1),
        "(session loads, environment reads): one call reads again, not all 32"
    );
}

/// Found: the cache holds at most `CAPACITY` (10 000) users; a new user past that sweeps
/// those with nothing young and, when all are young (any busy runtime), forgets every
/// user (`Entries::remembered`: `users.clear()`). A runtime serving 10 001 active users
/// therefore never keeps what it read: each call's insert clears the map the others
/// filled, and every call reads the store twice, "valid token" or not. README: "A call
/// with a valid token reads nothing from the store" (no bound is mentioned).
#[tokio::test]
async fn review16d_a_runtime_serving_more_users_than_the_capacity_still_caches() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = runtime_on(&sandbox, store.clone(), LONG);
    let company = Company(1652);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let first = 2_000_000;
    sessions_for_many(&runtime, &company, first, CAPACITY + 1).await;
    for id in first..first + CAPACITY + 1 {
        runtime.token(&Company(id), &["hello"]).await.unwrap();
    }
    store.reads();
    for id in first..first + CAPACITY + 1 {
        runtime.token(&Company(id), &["hello"]).await.unwrap();
    }
    let (loads, environment_reads) = store.reads();
    assert!(
        loads + environment_reads < 100,
        "10 001 users, each with a valid token read a moment ago: {loads} session loads \
         and {environment_reads} environment reads in the second round"
    );
}

/// Found: the record of a refused token lives in the user's cache entry
/// (`Remembered::refused`), which `Entries::remembered` sweeps or clears with the rest
/// when the cache is full (`is_live` ignores it, and a full cache of young entries is
/// cleared whole). Once it is gone, the next calls read the refused token from the store
/// (its renewal is still under way), find it fresh by the clock, remember it and send it
/// again: one 401 each. `cache_ttl`: "a token the API refuses is not sent again by this
/// runtime".
#[tokio::test]
async fn review16d_a_refused_token_stays_refused_when_the_cache_fills_up() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = runtime_on(&sandbox, Arc::new(MemoryStore::new()), LONG);
    let company = Company(1653);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let first = 3_000_000;
    sessions_for_many(&runtime, &company, first, CAPACITY).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    sandbox.expire_access_tokens();
    let gate = Arc::new(tokio::sync::Notify::new());
    sandbox.fail_next_token_request(TokenFault::Held(gate.clone(), None));
    let call = || {
        let runtime = runtime.clone();
        tokio::spawn(async move { hello(&runtime, &Company(1653)).await })
    };
    let before = sandbox.counts().api;
    let refused = call();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sandbox.counts().api, before + 1, "the first call's 401");
    // Other users' calls meanwhile fill the cache.
    for id in first..first + CAPACITY {
        runtime.token(&Company(id), &["hello"]).await.unwrap();
    }
    let others: Vec<_> = (0..5).map(|_| call()).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused_again = sandbox.counts().api - (before + 1);
    gate.notify_one();
    for call in std::iter::once(refused).chain(others) {
        let _ = call.await.unwrap();
    }
    assert_eq!(
        refused_again, 0,
        "calls made while the refused token is renewed send it again"
    );
}

/// Found: the cache keeps one refused token per environment (`CachedStore::refused`
/// replaces the record). A request sent with an older token whose 401 comes back late
/// (a slow upload, a slow API) while a newer, refused token is being renewed overwrites
/// the record: that call then takes the stored (refused) token for a newer one
/// (`assess`: "a token other than the one seen is newer"), remembers it, sends it again,
/// gets a second 401 and concludes "a fresh token refused too: the grant is gone": it
/// clears the session. The renewal then finds its basis gone, and a person must
/// authorize again although their refresh token was good.
#[tokio::test]
async fn review16d_a_late_refusal_of_an_older_token_does_not_resend_the_refused_one() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = runtime_on(&sandbox, Arc::new(MemoryStore::new()), LONG);
    let company = Company(1654);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    // A slow request with the first token.
    sandbox.fail_next_api_call(ApiFault::Delay(Duration::from_millis(800)));
    let slow = {
        let runtime = runtime.clone();
        tokio::spawn(async move { hello(&runtime, &Company(1654)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Meanwhile the token is renewed (as by the clock), and the new one is used.
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    // The provider ends every access token; the second one is refused and renewed, its
    // renewal held at the token endpoint until the slow request's 401 has come back.
    sandbox.expire_access_tokens();
    let gate = Arc::new(tokio::sync::Notify::new());
    sandbox.fail_next_token_request(TokenFault::Held(gate.clone(), None));
    let renewing = {
        let runtime = runtime.clone();
        tokio::spawn(async move { hello(&runtime, &Company(1654)).await })
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let api_calls = sandbox.counts().api;
    gate.notify_one();
    let (slow, renewing) = (slow.await.unwrap(), renewing.await.unwrap());
    let authorized = runtime.is_authorized(&company, &["hello"]).await.unwrap();
    // Before the gate: the first call, the slow one (T0), two with T1, T1 refused; the
    // slow call's 401 then waits for the renewal, as the others do.
    assert!(
        api_calls == 5 && matches!(slow, Ok(200)) && matches!(renewing, Ok(200)) && authorized,
        "API calls before the renewal: {api_calls} (5 expected: the refused token was \
         sent again); the slow call: {slow:?}; the renewal's call: {renewing:?}; \
         still authorized: {authorized}"
    );
}

/// Found: a read that finds the token unusable forgets it with `drop_tokens`, which does
/// not move the user's epoch. A read of the same session that began earlier (a slow
/// query, the previous turn's) and lands afterwards still passes `remember_tokens`'
/// epoch check: the token the store has just said is gone is remembered again, with a
/// fresh time to live, and served. README: a read that finds the token no longer usable
/// stops its use; here it is restored by an older answer.
#[tokio::test]
async fn review16d_an_older_read_landing_late_does_not_restore_a_token_found_gone() {
    let ttl = Duration::from_millis(200);
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let slow = Hooked::new(shared.clone(), LateLoads::default());
    let one = runtime_on(&sandbox, slow.clone(), ttl);
    let other = runtime_on(&sandbox, shared.clone(), LONG);
    let company = Company(1655);
    authorize(&sandbox, &one, &company, &["hello"]).await;
    assert_eq!(hello(&one, &company).await.unwrap(), 200);
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    // The first call to find the entry aged reads the session, whose answer is slow.
    slow.hooks.delay_next_load(Duration::from_millis(450));
    let early = {
        let one = one.clone();
        tokio::spawn(async move { hello(&one, &Company(1655)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Another process removes the session.
    let key = other.session_key(&company).await.unwrap();
    other.store().delete(&key).await.unwrap();
    // The turn passes on: the next call reads the store and finds no session.
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    assert!(not_authorized(&hello(&one, &company).await), "found gone");
    // The early read lands; the store has not changed since the read that found it gone.
    let _ = early.await.unwrap();
    let api_calls = sandbox.counts().api;
    let after = hello(&one, &company).await;
    assert!(
        not_authorized(&after),
        "the deleted session's token is served again: {after:?}"
    );
    assert_eq!(sandbox.counts().api, api_calls, "no API call with it");
}

/// Found: a reread thrown away by the epoch check (a write to any user of the same group
/// came while it ran) leaves the aged entry as it was, and calls go on with it for
/// another turn: an environment another process chose is not seen although a call has
/// read it again after the TTL (that call alone goes there). Under a steady stream of
/// writes (renewals, choices, authorizations of a busy multi-tenant runtime) every
/// reread can be thrown away in turn. `cache_ttl`: "A change made by another process ...
/// is seen once a call reads it again after this time".
#[tokio::test]
async fn review16d_a_reread_thrown_away_by_a_neighbour_s_write_still_ends_the_old_entry() {
    let ttl = Duration::from_millis(500);
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let production = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let provider = sandbox_provider(&sandbox).environment(Environment::new(
        "production",
        production.url(),
        production.auth_url(),
        production.token_url(),
    ));
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let flaky = FlakyStore::new(shared.clone());
    let build = |store: Arc<dyn SessionStore>, ttl| {
        (builder_for(provider.clone())
            .shared_store(store)
            .cache_ttl(ttl))
        .build()
        .unwrap()
    };
    let (one, other) = (build(flaky.clone(), ttl), build(shared.clone(), LONG));
    let company = Company(1656);
    let neighbour = same_group_as(&company);
    authorize(&sandbox, &one, &company, &["hello"]).await;
    assert_eq!(hello(&one, &company).await.unwrap(), 200);
    other
        .select_environment(&company, "production")
        .await
        .unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    // The call that takes the turn reads the store (slowly); a neighbour writes meanwhile.
    flaky.delay_reads(Duration::from_millis(100));
    let neighbour_writes = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        (one.select_environment(&neighbour, "sandbox").await).unwrap();
    };
    let (reread, ()) = tokio::join!(hello(&one, &company), neighbour_writes);
    assert!(reread.is_err(), "it went to production: {reread:?}");
    flaky.delay_reads(Duration::ZERO);
    let before = sandbox.counts().api;
    let after = hello(&one, &company).await;
    assert!(
        after.is_err() && sandbox.counts().api == before,
        "the store was read after the TTL and said production, yet the next call goes \
         to the sandbox environment: {after:?}"
    );
}

/// A user whose writes are counted with `company`'s (`store/cache/mod.rs`
/// `Entries::group`: a fixed hash, 32 groups).
fn same_group_as(company: &Company) -> Company {
    use oauth2_api::ApiUser;
    use std::hash::BuildHasher;
    let group = |id: u32| {
        let hash = foldhash::quality::FixedState::default().hash_one(Company(id).user_ref());
        hash as usize % 32
    };
    Company(
        (company.0 + 1..)
            .find(|&id| group(id) == group(company.0))
            .unwrap(),
    )
}

/// Found: writes are counted per group of users (`EPOCHS` = 32, by a fixed hash), so a
/// write to one user throws away reads of every user in its group: here `neighbour`, in
/// the same group as `company`, chooses an environment while `company`'s call reads the
/// store, and `company`'s next call reads it again. README: "a write to one user's
/// session does not throw away reads for the others". The groups are the same in every
/// process and every run: a tenant can pick an id in a victim's group.
#[tokio::test]
async fn review16d_a_write_for_a_user_of_the_same_group_does_not_throw_away_a_read() {
    let company = Company(1657);
    let neighbour = same_group_as(&company);
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = runtime_on(&sandbox, store.clone(), LONG);
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
        "(session loads, environment reads): thrown away for {neighbour:?}'s write",
    );
}

/// Session loads that read at once and answer late, by the delays queued: a query whose
/// answer is slow to come back (a busy database, a slow network).
#[derive(Default)]
struct LateLoads(Mutex<VecDeque<Duration>>);

impl LateLoads {
    fn delay_next_load(&self, delay: Duration) {
        self.0.lock().unwrap().push_back(delay);
    }
}

#[async_trait]
impl StoreHooks for LateLoads {
    async fn load(
        &self,
        inner: &Arc<dyn SessionStore>,
        key: &SessionKey,
    ) -> Result<Option<Session>, StoreError> {
        let read = inner.load(key).await;
        let delay = self.0.lock().unwrap().pop_front();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        read
    }
}
