//! A short-lived, in-process memory of what every call reads: the user's environment and
//! a usable access token. Without it each call makes two store queries (about 40 µs each
//! on SQLite), which a hand-written request does not.
//!
//! [`CachedStore`] sits in front of the runtime's store and passes every operation through;
//! any write through it forgets what the cache held for that user's session or
//! environment, so writes made in this process (by the runtime, or by the application
//! through [`Runtime::store`](crate::Runtime::store)) are seen at once. A write whose
//! future is dropped midway may land later (a statement sent runs on): for a time to
//! live (at most a minute) nothing read for its user is remembered. Writes by other processes sharing the store are seen
//! once an entry is older than the time to live (default 1 s), or at once when the API
//! refuses the cached token: a 401 always rereads the store.
//!
//! When an entry ages out, the first call to find it reads the store again; calls made
//! while it reads go on with the aged entry (still checked as below). Otherwise every
//! call in flight at that moment would read the store at once, each second: 64
//! concurrent calls make 128 queries where one pair suffices. What that read finds
//! replaces the entry, or removes it when it is not usable or a write came between; a
//! read that never lands (its call dropped, the store failing) passes the turn to the
//! next call a time to live later (at most a second). The common call takes no turn: an
//! aged entry sends it the general way, where the turns are taken.
//!
//! A token the API refused is kept as refused (the last few of each session) until its
//! renewal is written: calls that read it from the store meanwhile do not send it again.
//! A full cache drops users with nothing young first, then others, to seven eighths.
//!
//! Only what a call could use is kept: a token that covered the call's scopes and was
//! fresh when read. It is checked again (scopes, renewal time by the wall clock, which a
//! suspended machine moves on) before each use; a call finds its environment and token in
//! one lookup.

use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::time::Instant;

use age::Age;
pub(crate) use entries::Epoch;
use entries::{Chosen, Entries, Held};

use crate::scope::ScopeSet;
use crate::session::{PendingAuthorization, Ready, Session, SessionKey, SessionState, Usable};
use crate::store::{CasOutcome, Consumed, SessionStore, StoreError};
use crate::user::UserRef;

mod age;
mod entries;
mod refused;

pub(crate) struct CachedStore {
    store: Arc<dyn SessionStore>,
    ttl: Duration,
    entries: RwLock<Entries>,
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
        self.entries().epoch(user, Instant::now())
    }

    /// What a call needs, in one look: the environment `user` works in (`default` unless
    /// one was chosen) and a token there that covers `scopes`, both young and usable,
    /// with the session key they make.
    pub(crate) fn call(
        &self,
        user: &UserRef,
        default: &Arc<str>,
        scopes: &ScopeSet,
    ) -> Option<Arc<Ready>> {
        let now = Instant::now();
        let entries = self.entries();
        let remembered = entries.user(user)?;
        let chosen = remembered.environment.as_ref()?;
        let held = remembered.usable_token(chosen.name.as_ref().unwrap_or(default))?;
        let ready = &held.ready;
        (chosen.age.is_young(now)
            && held.age.is_young(now)
            && scopes.is_subset_of(&ready.usable.bearer.tokens.scopes))
        .then(|| ready.clone())
    }

    /// The remembered token of `key` if it is usable and covers `scopes`: young, or aged
    /// while another call reads it again. `None` (this call reads it) otherwise.
    pub(crate) fn tokens(&self, key: &SessionKey, scopes: &ScopeSet) -> Option<Usable> {
        let entries = self.entries();
        let held = entries.user(&key.user)?.usable_token(&key.environment)?;
        let usable = &held.ready.usable;
        // Scopes first: a call that could not use the entry does not take the turn.
        (scopes.is_subset_of(&usable.bearer.tokens.scopes)
            && held.age.serves(Instant::now(), self.ttl))
        .then(|| usable.clone())
    }

    /// Remembers `tokens` of `key`, read from the store since `epoch`, unless a write came
    /// between: then what was held is forgotten too (it is older still).
    pub(crate) fn remember_tokens(&self, key: &SessionKey, tokens: &Usable, epoch: Epoch) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries_mut();
        let current = entries.is_current(&key.user, epoch);
        let remembered = entries.remembered(&key.user, now);
        remembered.tokens.retain(|h| !h.is_in(&key.environment));
        if current {
            let ready = Ready {
                key: key.clone(),
                usable: tokens.clone(),
            };
            remembered.tokens.push(Held {
                age: Age::new(self.deadline(epoch.started)),
                ready: Arc::new(ready),
            });
        }
    }

    /// Forgets the token of `key`, and any read of it in progress: its session was
    /// written, or a read found its token unusable.
    pub(crate) fn forget_tokens(&self, key: &SessionKey) {
        let mut entries = self.entries_mut();
        let remembered = entries.written(&key.user, Instant::now());
        remembered.tokens.retain(|h| !h.is_in(&key.environment));
    }

    /// Forgets the token of `key`, which the API refused, and keeps it as refused: see
    /// [`is_refused`](Self::is_refused).
    pub(crate) fn refused(&self, key: &SessionKey, access_token: &str) {
        // Under one lock: a read between forgetting and recording would find the token
        // neither held nor refused, and keep it.
        let mut entries = self.entries_mut();
        let remembered = entries.written(&key.user, Instant::now());
        remembered.tokens.retain(|h| !h.is_in(&key.environment));
        entries.refused.refuse(key, access_token);
    }

    /// Forgets every refusal of `key`: a new grant is being stored.
    pub(crate) fn granted(&self, key: &SessionKey) {
        self.entries_mut().refused.granted(key);
    }

    /// Whether the API refused `access_token` of `key`, as its session held it at
    /// `version` (`None`: kept in memory, not stored): the store holds it until its
    /// renewal is written, and it is not to be sent again.
    pub(crate) fn is_refused(
        &self,
        key: &SessionKey,
        access_token: &str,
        version: Option<u64>,
    ) -> bool {
        let refused = &self.entries().refused;
        match version {
            Some(version) => refused.is_refused(key, access_token, version),
            None => refused.is_refused_anywhere(key, access_token),
        }
    }

    /// Notes that the session of `key` held the refused `access_token` at `version`.
    pub(crate) fn refused_at(&self, key: &SessionKey, access_token: &str, version: u64) {
        self.entries_mut()
            .refused
            .held_at(key, access_token, version);
    }

    /// Forgets that `access_token` of `key` was refused: a renewal from it was written
    /// (the store may hold the same token again, when a provider gives it back: it is
    /// the renewal's now).
    pub(crate) fn renewed(&self, key: &SessionKey, access_token: &str) {
        self.entries_mut().refused.renewed(key, access_token);
    }

    /// The environment chosen for `user` (`None`: the default), read through the cache:
    /// young, or aged while another call reads it again.
    pub(crate) async fn environment_of(
        &self,
        api: &str,
        user: &UserRef,
    ) -> Result<Option<Arc<str>>, StoreError> {
        let now = Instant::now();
        let epoch = {
            let entries = self.entries();
            let chosen = entries.user(user).and_then(|r| r.environment.as_ref());
            if let Some(chosen) = chosen
                && chosen.age.serves(now, self.ttl)
            {
                return Ok(chosen.name.clone());
            }
            entries.epoch(user, now)
        };
        let chosen: Option<Arc<str>> = self.store.environment(api, user).await?.map(Into::into);
        if !self.ttl.is_zero() {
            let now = Instant::now();
            let mut entries = self.entries_mut();
            let current = entries.is_current(user, epoch);
            let remembered = entries.remembered(user, now);
            remembered.environment = current.then(|| Chosen {
                age: Age::new(self.deadline(epoch.started)),
                name: chosen.clone(),
            });
        }
        Ok(chosen)
    }

    /// When what was read at `read` is read from the store again. A time to live too
    /// long to add (`Duration::MAX`: until a write) is a century.
    fn deadline(&self, read: Instant) -> Instant {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        (read.checked_add(self.ttl)).unwrap_or_else(|| read + CENTURY)
    }

    /// Forgets what a write to `written` may change once it is done or failed, and when
    /// it is dropped midway: such a write may have landed, or land later (a statement
    /// sent runs on without its caller), so nothing read for its user is remembered for
    /// a time to live (at most a minute), as if another process had written.
    fn forget_after<'a>(&'a self, written: Written<'a>) -> ForgetAfter<'a> {
        ForgetAfter {
            cache: self,
            written,
            finished: false,
        }
    }

    fn written(&self, written: Written<'_>, finished: bool) {
        let user = match written {
            Written::Session(key) => return self.session_written(key, finished),
            Written::Environment(user) => user,
        };
        let now = Instant::now();
        let mut entries = self.entries_mut();
        if !finished {
            entries.unsure(user, now, self.unsure_until(now));
        }
        entries.written(user, now).environment = None;
    }

    fn session_written(&self, key: &SessionKey, finished: bool) {
        if !finished {
            let now = Instant::now();
            self.entries_mut()
                .unsure(&key.user, now, self.unsure_until(now));
        }
        self.forget_tokens(key);
    }

    fn unsure_until(&self, now: Instant) -> Instant {
        const LONGEST: Duration = Duration::from_secs(60);
        now + self.ttl.min(LONGEST)
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
    finished: bool,
}

impl ForgetAfter<'_> {
    /// The write is finished (done or failed): `outcome` is handed on.
    fn finish<T>(mut self, outcome: T) -> T {
        self.finished = true;
        outcome
    }
}

impl Drop for ForgetAfter<'_> {
    fn drop(&mut self) {
        self.cache.written(self.written, self.finished);
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
        let forget = self.forget_after(Written::Session(key));
        forget.finish(self.store.compare_and_swap(key, expected, state).await)
    }

    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        let forget = self.forget_after(Written::Session(key));
        forget.finish(self.store.replace(key, state).await)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let forget = self.forget_after(Written::Session(key));
        forget.finish(self.store.delete(key).await)
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
        let forget = self.forget_after(Written::Environment(user));
        forget.finish(self.store.set_environment(api, user, environment).await)
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
#[cfg(test)]
mod tests_review16e;
#[cfg(test)]
mod tests_review16f;
