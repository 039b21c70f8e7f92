//! A short-lived, in-process memory of what every call reads: the user's environment and
//! a usable access token. Without it each call makes two store queries (about 40 µs each
//! on SQLite), which a hand-written request does not.
//!
//! [`CachedStore`] sits in front of the runtime's store and passes every operation through;
//! any write through it forgets what the cache held for that session or user, so writes
//! made in this process (by the runtime, or by the application through
//! [`Runtime::store`](crate::Runtime::store)) are seen at once. Writes by other processes
//! sharing the store are seen once an entry is older than the time to live (default 1 s),
//! or at once when the API refuses the cached token: a 401 always rereads the store.
//!
//! When an entry ages out, the first call to find it reads the store again; calls made
//! while it reads go on with the aged entry (still checked as below), for at most one
//! more time to live. Otherwise every call in flight at that moment would read the store
//! at once, each second: 64 concurrent calls make 128 queries where one pair suffices.
//!
//! Only what a call could use is kept: a token that covered the call's scopes and was
//! fresh when read. It is checked again (scopes, renewal time by the wall clock, which a
//! suspended machine moves on) before each use; a call finds its environment and token in
//! one lookup.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::time::Instant;

use crate::scope::ScopeSet;
use crate::session::{PendingAuthorization, Ready, Session, SessionKey, SessionState, Usable};
use crate::store::{CasOutcome, Consumed, SessionStore, StoreError};
use crate::user::UserRef;

/// Looked up on every call: a fast hash, still seeded per process.
type Hasher = foldhash::quality::RandomState;

/// Users kept before those with nothing live are swept (and, if all are live, all are
/// dropped): bounds the memory of a runtime serving many users.
const CAPACITY: usize = 10_000;

pub(crate) struct CachedStore {
    store: Arc<dyn SessionStore>,
    ttl: Duration,
    entries: RwLock<Entries>,
}

#[derive(Default)]
struct Entries {
    /// Bumped by every write: a value read from the store before a write finished is not
    /// remembered after it (it may be the state the write replaced).
    epoch: u64,
    /// Per user, whatever the provider: one runtime serves one provider, and forgetting
    /// too much on a write is harmless.
    users: HashMap<UserRef, Remembered, Hasher>,
}

/// What is remembered of one user.
#[derive(Default)]
struct Remembered {
    /// The environment chosen (`None`: the default), and until when.
    environment: Option<Chosen>,
    /// A usable token per environment the user called in (rarely more than one).
    tokens: Vec<Held>,
}

/// An environment choice read from the store.
struct Chosen {
    age: Age,
    /// `None`: the default.
    name: Option<Arc<str>>,
}

/// A token held for one environment, with the session key a call uses it under.
struct Held {
    age: Age,
    ready: Arc<Ready>,
}

/// When an entry is read from the store again, and whether a call is doing so.
struct Age {
    until: Instant,
    rereading: AtomicBool,
}

impl Age {
    fn new(until: Instant) -> Self {
        Self {
            until,
            rereading: AtomicBool::new(false),
        }
    }

    fn is_young(&self, now: Instant) -> bool {
        now < self.until
    }

    /// Whether a call at `now` may use the entry: while it is young, or, aged out by
    /// less than `grace`, while another call reads it again. The first call to find it
    /// aged out is told no, and reads the store: its answer replaces the entry.
    fn serves(&self, now: Instant, grace: Duration) -> bool {
        if self.is_young(now) {
            return true;
        }
        let within_grace = self.until.checked_add(grace).is_some_and(|end| now < end);
        within_grace && self.rereading.swap(true, Ordering::Relaxed)
    }
}

impl Held {
    fn is_in(&self, environment: &str) -> bool {
        *self.ready.key.environment == *environment
    }
}

impl Remembered {
    /// The token held for `environment` if it is still usable, young or not.
    fn usable_token(&self, environment: &str) -> Option<&Held> {
        let held = self.tokens.iter().find(|h| h.is_in(environment))?;
        (held.ready.usable)
            .is_fresh_at(SystemTime::now())
            .then_some(held)
    }

    fn is_live(&self, now: Instant) -> bool {
        (self.environment.as_ref()).is_some_and(|chosen| chosen.age.is_young(now))
            || self.tokens.iter().any(|h| h.age.is_young(now))
    }
}

/// Where a store read started, to remember its result only if no write came between.
#[derive(Clone, Copy)]
pub(crate) struct Epoch(u64);

impl CachedStore {
    pub(crate) fn new(store: Arc<dyn SessionStore>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            entries: RwLock::new(Entries::default()),
        }
    }

    // Every update is a single insert or remove: a poisoned lock is still consistent.
    // Calls only read; a lock readers share keeps concurrent calls from waking each other.
    fn entries(&self) -> RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn entries_mut(&self) -> RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The point a read starts from; see [`remember_tokens`](Self::remember_tokens).
    pub(crate) fn epoch(&self) -> Epoch {
        Epoch(self.entries().epoch)
    }

    /// What a call needs, in one look: the environment `user` works in (`default` unless
    /// one was chosen) and a token there that covers `scopes`, both still usable, with
    /// the session key they make. An entry that aged out is served while another call
    /// reads it again (see the module's documentation).
    pub(crate) fn call(
        &self,
        user: &UserRef,
        default: &Arc<str>,
        scopes: &ScopeSet,
    ) -> Option<Arc<Ready>> {
        let now = Instant::now();
        let entries = self.entries();
        let remembered = entries.users.get(user)?;
        let chosen = remembered.environment.as_ref()?;
        let held = remembered.usable_token(chosen.name.as_ref().unwrap_or(default))?;
        let ready = &held.ready;
        // Checked before the ages: a call that could not use the entry anyway does not
        // take the turn to read it again.
        if !scopes.is_subset_of(&ready.usable.bearer.tokens.scopes) {
            return None;
        }
        // Both asked (`&`, not `&&`): the call that rereads one rereads both, and takes
        // both turns.
        (chosen.age.serves(now, self.ttl) & held.age.serves(now, self.ttl)).then(|| ready.clone())
    }

    /// The remembered token of `key`, if still usable.
    pub(crate) fn tokens(&self, key: &SessionKey) -> Option<Usable> {
        let entries = self.entries();
        let held = entries
            .users
            .get(&key.user)?
            .usable_token(&key.environment)?;
        held.age
            .is_young(Instant::now())
            .then(|| held.ready.usable.clone())
    }

    /// Remembers `tokens` of `key`, read from the store since `epoch`, unless a write came
    /// between.
    pub(crate) fn remember_tokens(&self, key: &SessionKey, tokens: &Usable, epoch: Epoch) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let until = self.deadline(now);
        let mut entries = self.entries_mut();
        if entries.epoch != epoch.0 {
            return;
        }
        let remembered = entries.remembered(&key.user, now);
        remembered.tokens.retain(|h| !h.is_in(&key.environment));
        let ready = Ready {
            key: key.clone(),
            usable: tokens.clone(),
        };
        remembered.tokens.push(Held {
            age: Age::new(until),
            ready: Arc::new(ready),
        });
    }

    /// Forgets the token of `key` (the API refused it).
    pub(crate) fn forget_tokens(&self, key: &SessionKey) {
        let mut entries = self.entries_mut();
        entries.epoch += 1;
        if let Some(remembered) = entries.users.get_mut(&key.user) {
            remembered.tokens.retain(|h| !h.is_in(&key.environment));
        }
    }

    /// The environment chosen for `user` (`None`: the default), read through the cache.
    pub(crate) async fn environment_of(
        &self,
        api: &str,
        user: &UserRef,
    ) -> Result<Option<Arc<str>>, StoreError> {
        let epoch = {
            let entries = self.entries();
            let remembered = entries.users.get(user);
            if let Some(chosen) = remembered.and_then(|r| r.environment.as_ref())
                && chosen.age.is_young(Instant::now())
            {
                return Ok(chosen.name.clone());
            }
            entries.epoch
        };
        let chosen: Option<Arc<str>> = self.store.environment(api, user).await?.map(Into::into);
        if !self.ttl.is_zero() {
            let now = Instant::now();
            let mut entries = self.entries_mut();
            if entries.epoch == epoch {
                entries.remembered(user, now).environment = Some(Chosen {
                    age: Age::new(self.deadline(now)),
                    name: chosen.clone(),
                });
            }
        }
        Ok(chosen)
    }

    /// When what is remembered `now` is read from the store again. A time to live too
    /// long to add (`Duration::MAX`: until a write) is a century.
    fn deadline(&self, now: Instant) -> Instant {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        (now.checked_add(self.ttl)).unwrap_or_else(|| now + CENTURY)
    }

    fn written_session(&self, key: &SessionKey) {
        self.forget_tokens(key);
    }

    fn written_environment(&self, user: &UserRef) {
        let mut entries = self.entries_mut();
        entries.epoch += 1;
        if let Some(remembered) = entries.users.get_mut(user) {
            remembered.environment = None;
        }
    }
}

impl Entries {
    /// `user`'s entry, made if new, after making room for it.
    fn remembered(&mut self, user: &UserRef, now: Instant) -> &mut Remembered {
        if self.users.len() >= CAPACITY && !self.users.contains_key(user) {
            self.users.retain(|_, r| r.is_live(now));
            if self.users.len() >= CAPACITY {
                self.users.clear();
            }
        }
        self.users.entry(user.clone()).or_default()
    }
}

impl fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedStore")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Everything passes through; writes forget what they may have changed, whether or not
/// they succeeded (a failed write may still have landed).
#[async_trait]
impl SessionStore for CachedStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        self.store.load(key).await
    }

    async fn compare_and_swap(
        &self,
        key: &SessionKey,
        expected: u64,
        state: &SessionState,
    ) -> Result<CasOutcome, StoreError> {
        let outcome = self.store.compare_and_swap(key, expected, state).await;
        self.written_session(key);
        outcome
    }

    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        let outcome = self.store.replace(key, state).await;
        self.written_session(key);
        outcome
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let outcome = self.store.delete(key).await;
        self.written_session(key);
        outcome
    }

    async fn insert_pending(&self, pending: &PendingAuthorization) -> Result<(), StoreError> {
        self.store.insert_pending(pending).await
    }

    async fn rebind_pending(
        &self,
        state: &str,
        browser_binding: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.store.rebind_pending(state, browser_binding).await
    }

    async fn peek_pending(&self, state: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        self.store.peek_pending(state).await
    }

    async fn consume_pending(&self, state: &str, now: SystemTime) -> Result<Consumed, StoreError> {
        self.store.consume_pending(state, now).await
    }

    async fn pending_for(
        &self,
        key: &SessionKey,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthorization>, StoreError> {
        self.store.pending_for(key, now).await
    }

    async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
        self.store.purge_pending(cutoff).await
    }

    async fn environment(&self, api: &str, user: &UserRef) -> Result<Option<String>, StoreError> {
        self.store.environment(api, user).await
    }

    async fn set_environment(
        &self,
        api: &str,
        user: &UserRef,
        environment: &str,
    ) -> Result<(), StoreError> {
        let outcome = self.store.set_environment(api, user, environment).await;
        self.written_environment(user);
        outcome
    }

    async fn acquire_lease(
        &self,
        key: &SessionKey,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        self.store.acquire_lease(key, holder, now, until).await
    }

    async fn release_lease(&self, key: &SessionKey, holder: &str) -> Result<(), StoreError> {
        self.store.release_lease(key, holder).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn tokens() -> Usable {
        Usable {
            bearer: crate::session::Bearer::new(Arc::new(crate::TokenSet {
                access_token: "a".to_owned().into(),
                refresh_token: None,
                expires_at: None,
                scopes: vec!["hello".to_owned()],
                token_type: "bearer".to_owned(),
            })),
            renew_at: None,
        }
    }

    fn key() -> SessionKey {
        SessionKey::new("API", "sandbox", UserRef::new("company", "1"))
    }

    #[tokio::test(start_paused = true)]
    async fn entries_age_out_after_the_ttl() {
        let shared = Arc::new(MemoryStore::new());
        let cache = CachedStore::new(shared.clone(), Duration::from_secs(1));
        let user = UserRef::new("company", "1");
        assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
        cache.remember_tokens(&key(), &tokens(), cache.epoch());
        // Another process chooses an environment: not seen while the entry is young.
        shared
            .set_environment("API", &user, "production")
            .await
            .unwrap();
        tokio::time::advance(Duration::from_millis(999)).await;
        assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
        assert!(cache.tokens(&key()).is_some());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(
            cache.environment_of("API", &user).await.unwrap().as_deref(),
            Some("production")
        );
        assert!(cache.tokens(&key()).is_none());
    }

    /// An aged entry: the first call to find it reads the store again; the calls after
    /// it go on with it until that read lands, and none past one more time to live.
    #[tokio::test(start_paused = true)]
    async fn one_call_reads_an_aged_entry_again_while_the_others_go_on() {
        let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(1));
        let (user, default): (UserRef, Arc<str>) = (key().user, "sandbox".into());
        let hello = ScopeSet::declared(&["hello"]);
        let found = |cache: &CachedStore| cache.call(&user, &default, &hello).is_some();
        let second = Duration::from_secs(1);
        cache.environment_of("API", &user).await.unwrap();
        cache.remember_tokens(&key(), &tokens(), cache.epoch());
        tokio::time::advance(second).await;
        assert!(
            !found(&cache),
            "the first call to find it aged reads it again"
        );
        assert!(found(&cache) && found(&cache), "the others go on meanwhile");
        // The read lands: young again, and aging out as before.
        cache.environment_of("API", &user).await.unwrap();
        cache.remember_tokens(&key(), &tokens(), cache.epoch());
        assert!(found(&cache));
        tokio::time::advance(second).await;
        assert!(!found(&cache));
        // A read that never lands (its call dropped, the store down): the aged entry
        // serves for one more time to live, no longer.
        tokio::time::advance(second - Duration::from_millis(1)).await;
        assert!(found(&cache));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(!found(&cache) && !found(&cache));
        // A write in this process is seen at once, aged entry or not.
        cache.remember_tokens(&key(), &tokens(), cache.epoch());
        cache.environment_of("API", &user).await.unwrap();
        tokio::time::advance(second).await;
        assert!(!found(&cache) && found(&cache));
        cache.delete(&key()).await.unwrap();
        assert!(!found(&cache) && !found(&cache));
    }

    /// A token is not served past its renewal time by the wall clock, whatever the time
    /// to live (the monotonic clock stands still while a machine is suspended).
    #[tokio::test]
    async fn a_token_is_not_served_past_its_renewal_time() {
        let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(3600));
        let (user, default): (UserRef, Arc<str>) = (key().user, "sandbox".into());
        cache.environment_of("API", &user).await.unwrap();
        let hello = ScopeSet::declared(&["hello"]);
        let mut usable = tokens();
        usable.renew_at = Some(SystemTime::now() + Duration::from_secs(60));
        cache.remember_tokens(&key(), &usable, cache.epoch());
        assert!(cache.call(&user, &default, &hello).is_some());
        // Remembered while fresh, due now: as after a suspend, or a step of the clock.
        usable.renew_at = Some(SystemTime::now() - Duration::from_secs(1));
        cache.remember_tokens(&key(), &usable, cache.epoch());
        assert!(cache.call(&user, &default, &hello).is_none());
        assert!(cache.tokens(&key()).is_none());
    }

    /// A time to live too long to add to an instant (`Duration::MAX`) remembers until a
    /// write, and panics nothing.
    #[tokio::test]
    async fn the_longest_time_to_live_is_until_a_write() {
        let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::MAX);
        let user = key().user;
        assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
        cache.remember_tokens(&key(), &tokens(), cache.epoch());
        assert!(cache.tokens(&key()).is_some());
        cache.delete(&key()).await.unwrap();
        assert!(cache.tokens(&key()).is_none());
    }

    /// What a call needs comes in one look, and only when both parts are there: the
    /// environment read and a token there covering the call's scopes.
    #[tokio::test]
    async fn a_call_finds_its_environment_and_token_together() {
        let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
        let (user, default): (UserRef, Arc<str>) = (key().user, "sandbox".into());
        let hello = ScopeSet::declared(&["hello"]);
        let found = |cache: &CachedStore, scopes: &ScopeSet| {
            let found = cache.call(&user, &default, scopes);
            found.map(|ready| ready.key.environment.to_string())
        };
        cache.remember_tokens(&key(), &tokens(), cache.epoch());
        assert_eq!(
            found(&cache, &hello),
            None,
            "the environment is not read yet"
        );
        assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
        assert_eq!(found(&cache, &hello).as_deref(), Some("sandbox"));
        assert_eq!(found(&cache, &ScopeSet::declared(&["write"])), None);
        // Another environment chosen: its session holds no token yet.
        cache
            .set_environment("API", &user, "production")
            .await
            .unwrap();
        assert_eq!(found(&cache, &hello), None);
        assert_eq!(
            cache.environment_of("API", &user).await.unwrap().as_deref(),
            Some("production")
        );
        assert_eq!(found(&cache, &hello), None);
        let production = SessionKey::new("API", "production", user.clone());
        cache.remember_tokens(&production, &tokens(), cache.epoch());
        assert_eq!(found(&cache, &hello).as_deref(), Some("production"));
        cache.forget_tokens(&production);
        assert_eq!(found(&cache, &hello), None);
    }

    #[tokio::test]
    async fn a_read_older_than_a_write_is_not_remembered() {
        let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
        let before_write = cache.epoch();
        cache.delete(&key()).await.unwrap();
        cache.remember_tokens(&key(), &tokens(), before_write);
        assert!(cache.tokens(&key()).is_none());
        cache.remember_tokens(&key(), &tokens(), cache.epoch());
        assert!(cache.tokens(&key()).is_some());
        cache.forget_tokens(&key());
        assert!(cache.tokens(&key()).is_none());
    }

    #[tokio::test]
    async fn a_zero_ttl_remembers_nothing() {
        let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::ZERO);
        cache.remember_tokens(&key(), &tokens(), cache.epoch());
        assert!(cache.tokens(&key()).is_none());
    }
}
