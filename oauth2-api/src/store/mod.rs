//! Where sessions live: the [`SessionStore`] trait and its backends.
//!
//! # Contract
//!
//! Every backend keeps three things, and every operation is atomic on its own:
//!
//! - **Sessions**, keyed by [`SessionKey`], each with a version. [`SessionStore::compare_and_swap`]
//!   writes a new [`SessionState`] only when the stored version is still the one the writer read
//!   (`0` for "no session yet", which a row whose version is not positive also counts as)
//!   and then bumps it. This is how a rotated refresh token is never overwritten by a writer
//!   that read an older one. [`SessionStore::replace`] writes without reading, for a new
//!   grant that replaces whatever was there, even a row that can no longer be read.
//! - **Pending authorizations**, keyed by their random `state`. [`SessionStore::consume_pending`]
//!   marks one used and succeeds for exactly one caller, even across processes; a used state is
//!   remembered (so a replay is told apart from an unknown state) until it is purged.
//!   A session keeps at most [`MAX_PENDING_PER_SESSION`] of them, used or not:
//!   [`SessionStore::insert_pending`] deletes the oldest beyond that, so one user beginning
//!   authorizations over and over neither fills the store nor slows the next beginning.
//! - **Refresh leases**, one per session: [`SessionStore::acquire_lease`] succeeds for one holder
//!   until the lease expires or is released, so processes sharing a store refresh once, and a
//!   holder that died blocks no one past the expiry.
//!
//! Besides, each (provider, user) pair may have a chosen environment.
//!
//! Stores keep tokens as they are given; they never log them. Errors are [`StoreError`]s.
//! `contract` (feature `store-contract`) is the test suite every backend passes.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::session::{PendingAuthorization, Session, SessionKey, SessionState};
use crate::user::UserRef;

pub(crate) mod cache;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod cipher;
#[cfg(feature = "store-contract")]
pub mod contract;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use cipher::TokenCipher;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// A failure of the storage backend (I/O, database, corrupt record).
///
/// Its message names the operation; the backend's own error is its `source`, not
/// repeated in the message.
#[derive(Debug)]
pub struct StoreError {
    operation: &'static str,
    message: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "session store {} failed", self.operation)?;
        match &self.message {
            Some(message) => write!(f, ": {message}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl StoreError {
    /// An error of `operation` with a cause.
    pub fn new(
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            operation,
            message: None,
            source: Some(source.into()),
        }
    }

    /// An error of `operation` described by a message.
    pub fn message(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            message: Some(message.into()),
            source: None,
        }
    }

    /// The operation that failed (`load`, `compare_and_swap`, ...).
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

/// What [`SessionStore::compare_and_swap`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CasOutcome {
    /// Written; the session now has this version.
    Written(u64),
    /// Not written: the stored version was not the expected one.
    Conflict,
}

/// What [`SessionStore::consume_pending`] found.
#[derive(Clone, Debug)]
pub enum Consumed {
    /// The state was pending and is now used by this caller.
    Taken(Box<PendingAuthorization>),
    /// The state was used before.
    AlreadyUsed,
    /// The state is past its expiry (it is now used, so it cannot be retried).
    Expired,
    /// No such state.
    Unknown,
}

/// How many pending authorizations (used or not) a session keeps: the newest ones.
pub const MAX_PENDING_PER_SESSION: usize = 16;

/// Persistence of sessions, pending authorizations, environment choices and refresh leases.
///
/// See the [module documentation](self) for the contract every backend keeps.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The session stored under `key`, if any.
    async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError>;

    /// Writes `state` under `key` if the stored version is `expected` (`0`: no session).
    async fn compare_and_swap(
        &self,
        key: &SessionKey,
        expected: u64,
        state: &SessionState,
    ) -> Result<CasOutcome, StoreError>;

    /// Writes `state` under `key` whatever is stored there, without reading it (a row that
    /// cannot be decrypted or parsed is replaced too), and returns the new version.
    ///
    /// The default deletes, then inserts at version `0`, a few times if another writer
    /// inserts in between; SQL backends do it in one statement.
    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        for _ in 0..8 {
            self.delete(key).await?;
            if let CasOutcome::Written(version) = self.compare_and_swap(key, 0, state).await? {
                return Ok(version);
            }
        }
        Err(StoreError::message(
            "replace",
            "other writers kept recreating the session",
        ))
    }

    /// Forgets the session under `key`, if any.
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;

    /// Records a pending authorization. Its `state` is new (random, 128 bits or more).
    /// Then deletes the session's oldest pending authorizations (used or not) beyond the
    /// [`MAX_PENDING_PER_SESSION`] newest (by `created_at`).
    async fn insert_pending(&self, pending: &PendingAuthorization) -> Result<(), StoreError>;

    /// Replaces the browser binding of the unused pending authorization `state` (an
    /// identical request begun again, in another browser or with a cookie that is gone).
    /// Returns whether such a pending authorization was found and changed.
    ///
    /// The default changes nothing and returns `false`: the runtime then begins a new
    /// authorization instead of reusing one.
    async fn rebind_pending(
        &self,
        state: &str,
        browser_binding: Option<&str>,
    ) -> Result<bool, StoreError> {
        let _ = (state, browser_binding);
        Ok(false)
    }

    /// The pending authorization for `state`, unused or not, without consuming it.
    async fn peek_pending(&self, state: &str) -> Result<Option<PendingAuthorization>, StoreError>;

    /// Marks `state` used, atomically: exactly one caller gets [`Consumed::Taken`].
    async fn consume_pending(&self, state: &str, now: SystemTime) -> Result<Consumed, StoreError>;

    /// Pending authorizations of one session that are neither used nor expired.
    async fn pending_for(
        &self,
        key: &SessionKey,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthorization>, StoreError>;

    /// Removes pending authorizations (used or not) that expired before `cutoff`.
    async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError>;

    /// The environment chosen for `user` of provider `api`, if one was chosen.
    async fn environment(&self, api: &str, user: &UserRef) -> Result<Option<String>, StoreError>;

    /// Chooses the environment for `user` of provider `api`.
    async fn set_environment(
        &self,
        api: &str,
        user: &UserRef,
        environment: &str,
    ) -> Result<(), StoreError>;

    /// Takes the refresh lease of `key` for `holder` until `until`, if it is free, expired
    /// (before `now`) or already `holder`'s. Returns whether `holder` now holds it.
    async fn acquire_lease(
        &self,
        key: &SessionKey,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError>;

    /// Releases the lease of `key` if `holder` holds it.
    async fn release_lease(&self, key: &SessionKey, holder: &str) -> Result<(), StoreError>;
}

/// Milliseconds since the Unix epoch: how SQL backends store instants.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn to_millis(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn from_millis(ms: i64) -> SystemTime {
    let d = std::time::Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        SystemTime::UNIX_EPOCH + d
    } else {
        SystemTime::UNIX_EPOCH - d
    }
}
