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
//! while it reads go on with the aged entry (still checked as below). Otherwise every
//! call in flight at that moment would read the store at once, each second: 64
//! concurrent calls make 128 queries where one pair suffices. What that read finds
//! replaces the entry, or removes it when the token is no longer usable; a read that
//! never lands (its call dropped, the store failing) passes the turn to the next call a
//! time to live later (at most a second). A token the API refused is kept as refused
//! until another is remembered: other calls that read it from the store before its
//! renewal is written do not send it again.
//!
//! Only what a call could use is kept: a token that covered the call's scopes and was
//! fresh when read. It is checked again (scopes, renewal time by the wall clock, which a
//! suspended machine moves on) before each use; a call finds its environment and token in
//! one lookup.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::time::Instant;

use age::Age;

use crate::scope::ScopeSet;
use crate::session::{PendingAuthorization, Ready, Session, SessionKey, SessionState, Usable};
use crate::store::{CasOutcome, Consumed, SessionStore, StoreError};
use crate::user::UserRef;

mod age;

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

/// Writes counted apart for this many groups of users.
const EPOCHS: usize = 32;

#[derive(Default)]
struct Entries {
    /// Bumped by every write, in the group of users of the one written: a value read from
    /// the store before a write finished is not remembered after it (it may be the state
    /// the write replaced). Grouped, so that a read is not thrown away for a write to
    /// another user's row, but for one to a user sharing its group (rarely, and harmless).
    epochs: [u64; EPOCHS],
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
    /// The access token the API last refused, per environment: until it is renewed, the
    /// store still holds it, and a call that reads it there must not send it again.
    refused: Vec<(Arc<str>, SecretString)>,
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

impl Entries {
    /// By a fixed hash: which users share a group is the same from run to run. Users
    /// made to share one only read the store more often.
    fn group(&self, user: &UserRef) -> usize {
        foldhash::quality::FixedState::default().hash_one(user) as usize % EPOCHS
    }

    fn epoch(&self, user: &UserRef) -> u64 {
        self.epochs[self.group(user)]
    }

    fn written(&mut self, user: &UserRef) {
        let group = self.group(user);
        self.epochs[group] += 1;
    }
}

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

    /// The point a read for `user` starts from; see
    /// [`remember_tokens`](Self::remember_tokens).
    pub(crate) fn epoch(&self, user: &UserRef) -> Epoch {
        Epoch(self.entries().epoch(user))
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
        if entries.epoch(&key.user) != epoch.0 {
            return;
        }
        let remembered = entries.remembered(&key.user, now);
        remembered.tokens.retain(|h| !h.is_in(&key.environment));
        remembered.refused.retain(|(e, _)| *e != key.environment);
        let ready = Ready {
            key: key.clone(),
            usable: tokens.clone(),
        };
        remembered.tokens.push(Held {
            age: Age::new(until),
            ready: Arc::new(ready),
        });
    }

    /// Forgets the token of `key`: its session was written.
    fn forget_tokens(&self, key: &SessionKey) {
        let mut entries = self.entries_mut();
        entries.written(&key.user);
        if let Some(remembered) = entries.users.get_mut(&key.user) {
            remembered.tokens.retain(|h| !h.is_in(&key.environment));
        }
    }

    /// Forgets the token of `key`, which the API refused, and keeps that refusal until
    /// a token is remembered again: see [`refused_token`](Self::refused_token).
    pub(crate) fn refused(&self, key: &SessionKey, access_token: &str) {
        self.forget_tokens(key);
        let mut entries = self.entries_mut();
        let remembered = entries.remembered(&key.user, Instant::now());
        remembered.refused.retain(|(e, _)| *e != key.environment);
        let token = SecretString::from(access_token.to_owned());
        remembered.refused.push((key.environment.clone(), token));
    }

    /// The access token of `key` the API last refused, if no other was remembered
    /// since: the store holds it until it is renewed.
    pub(crate) fn refused_token(&self, key: &SessionKey) -> Option<SecretString> {
        let entries = self.entries();
        let remembered = entries.users.get(&key.user)?;
        let refused = remembered.refused.iter();
        (refused.rev().find(|(e, _)| *e == key.environment)).map(|(_, t)| t.clone())
    }

    /// Forgets the token of `key` without a write: a read of the store found it no
    /// longer usable, and calls must not go on with it while the call that read it
    /// says so.
    pub(crate) fn drop_tokens(&self, key: &SessionKey) {
        let mut entries = self.entries_mut();
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
            entries.epoch(user)
        };
        let chosen: Option<Arc<str>> = self.store.environment(api, user).await?.map(Into::into);
        if !self.ttl.is_zero() {
            let now = Instant::now();
            let mut entries = self.entries_mut();
            if entries.epoch(user) == epoch {
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

    fn written_environment(&self, user: &UserRef) {
        let mut entries = self.entries_mut();
        entries.written(user);
        if let Some(remembered) = entries.users.get_mut(user) {
            remembered.environment = None;
        }
    }

    /// Forgets, when dropped, what a write to `written` may change: once the write is
    /// done, failed or dropped midway (a write whose answer never came may have landed).
    fn forget_after<'a>(&'a self, written: Written<'a>) -> ForgetAfter<'a> {
        ForgetAfter {
            cache: self,
            written,
        }
    }
}

/// What a write changes.
#[derive(Clone, Copy)]
enum Written<'a> {
    Session(&'a SessionKey),
    Environment(&'a UserRef),
}

/// See [`CachedStore::forget_after`].
struct ForgetAfter<'a> {
    cache: &'a CachedStore,
    written: Written<'a>,
}

impl Drop for ForgetAfter<'_> {
    fn drop(&mut self) {
        match self.written {
            Written::Session(key) => self.cache.forget_tokens(key),
            Written::Environment(user) => self.cache.written_environment(user),
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

/// Everything passes through; writes forget what they may have changed, whether they
/// succeeded, failed or were dropped midway (such a write may still have landed).
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
        let _forget = self.forget_after(Written::Session(key));
        self.store.compare_and_swap(key, expected, state).await
    }

    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        let _forget = self.forget_after(Written::Session(key));
        self.store.replace(key, state).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let _forget = self.forget_after(Written::Session(key));
        self.store.delete(key).await
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
        let _forget = self.forget_after(Written::Environment(user));
        self.store.set_environment(api, user, environment).await
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
mod tests;
