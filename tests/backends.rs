//! The two SQL backends as the lifecycle tests need them: several instances on the same
//! data, raw SQL to damage rows, a store that fails the writes it is told to, and one
//! whose chosen operations a test changes ([`Hooked`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use oauth2_api::store::{
    CasOutcome, Consumed, PostgresStore, SessionStore, SqliteStore, StoreError, TokenCipher,
};
use oauth2_api::{PendingAuthorization, Session, SessionKey, SessionState, UserRef};

use crate::PgSchema;

/// One database that several store instances open, like processes sharing it.
pub enum Backend {
    /// A SQLite file in a directory of its own.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL schema of its own.
    Postgres(PgSchema),
}

impl Backend {
    /// A fresh SQLite file.
    pub fn sqlite() -> Self {
        Backend::Sqlite(tempfile::tempdir().expect("a temporary directory"))
    }

    /// A fresh PostgreSQL schema, or `None` (skipping) without a server.
    pub async fn postgres() -> Option<Self> {
        PgSchema::new().await.map(Backend::Postgres)
    }

    /// Another store instance on this database.
    pub async fn open(&self) -> Arc<dyn SessionStore> {
        self.open_sealed(None).await
    }

    /// Another store instance, sealing tokens with `cipher` when given.
    pub async fn open_sealed(&self, cipher: Option<TokenCipher>) -> Arc<dyn SessionStore> {
        match self {
            Backend::Sqlite(dir) => {
                let store = SqliteStore::open(dir.path().join("sessions.db"))
                    .await
                    .expect("the SQLite store opens");
                match cipher {
                    Some(c) => Arc::new(store.with_encryption(c)),
                    None => Arc::new(store),
                }
            }
            Backend::Postgres(pg) => {
                let store: PostgresStore = pg.store().await;
                match cipher {
                    Some(c) => Arc::new(store.with_encryption(c)),
                    None => Arc::new(store),
                }
            }
        }
    }

    /// Runs `sql` on the raw tables (to damage a row as a bug or a hand edit would).
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Backend::Sqlite(dir) => {
                let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
                let pool = sqlx::SqlitePool::connect(&url).await.expect("raw SQLite");
                sqlx::raw_sql(sql)
                    .execute(&pool)
                    .await
                    .expect("raw SQL runs");
            }
            Backend::Postgres(pg) => {
                let pool = pg.raw().await;
                sqlx::raw_sql(sql)
                    .execute(&pool)
                    .await
                    .expect("raw SQL runs");
            }
        }
    }

    /// Drops what this backend created.
    pub async fn drop(self) {
        if let Backend::Postgres(pg) = self {
            pg.drop().await;
        }
    }
}

/// A store that fails the next N session writes it is told to, then behaves, and counts
/// the reads a call could make.
pub struct FlakyStore {
    inner: Arc<dyn SessionStore>,
    failing_writes: AtomicUsize,
    lost_answers: AtomicUsize,
    loads: AtomicUsize,
    environment_reads: AtomicUsize,
    /// How long each of those reads takes, in milliseconds.
    read_delay_ms: AtomicUsize,
}

impl FlakyStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn SessionStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failing_writes: AtomicUsize::new(0),
            lost_answers: AtomicUsize::new(0),
            loads: AtomicUsize::new(0),
            environment_reads: AtomicUsize::new(0),
            read_delay_ms: AtomicUsize::new(0),
        })
    }

    /// The session loads and environment reads since the last time this was asked: the
    /// reads a call could make.
    pub fn reads(&self) -> (usize, usize) {
        (
            self.loads.swap(0, Ordering::SeqCst),
            self.environment_reads.swap(0, Ordering::SeqCst),
        )
    }

    /// Each session load and environment read from now on takes `delay`, as a remote or
    /// busy database's would: calls made meanwhile overlap it.
    pub fn delay_reads(&self, delay: std::time::Duration) {
        let ms = usize::try_from(delay.as_millis()).unwrap_or(usize::MAX);
        self.read_delay_ms.store(ms, Ordering::SeqCst);
    }

    async fn read_delay(&self) {
        let ms = self.read_delay_ms.load(Ordering::SeqCst) as u64;
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }

    /// The next `n` session writes (compare-and-swap, replace) fail, as a busy SQLite
    /// file or a reset PostgreSQL connection would.
    pub fn fail_writes(&self, n: usize) {
        self.failing_writes.store(n, Ordering::SeqCst);
    }

    /// The next `n` compare-and-swaps are written and then reported as failed: a commit
    /// whose answer is lost (a PostgreSQL connection reset after COMMIT, a timeout).
    pub fn lose_write_answers(&self, n: usize) {
        self.lost_answers.store(n, Ordering::SeqCst);
    }

    /// How many of the failures asked for are still to come.
    pub fn failures_left(&self) -> usize {
        self.failing_writes.load(Ordering::SeqCst)
    }

    fn fails(&self, operation: &'static str) -> Result<(), StoreError> {
        Self::injected(&self.failing_writes, operation, "database is locked")
    }

    /// An error when `counter` still counts failures down (taking one), `Ok` otherwise.
    fn injected(
        counter: &AtomicUsize,
        operation: &'static str,
        what: &str,
    ) -> Result<(), StoreError> {
        let failed = counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        match failed {
            true => Err(StoreError::message(operation, format!("injected: {what}"))),
            false => Ok(()),
        }
    }
}

#[async_trait]
impl SessionStore for FlakyStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.read_delay().await;
        self.inner.load(key).await
    }
    async fn compare_and_swap(
        &self,
        key: &SessionKey,
        expected: u64,
        state: &SessionState,
    ) -> Result<CasOutcome, StoreError> {
        self.fails("compare_and_swap")?;
        let outcome = self.inner.compare_and_swap(key, expected, state).await?;
        Self::injected(
            &self.lost_answers,
            "compare_and_swap",
            "connection reset after commit",
        )?;
        Ok(outcome)
    }
    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        self.fails("replace")?;
        self.inner.replace(key, state).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn insert_pending(&self, pending: &PendingAuthorization) -> Result<(), StoreError> {
        self.inner.insert_pending(pending).await
    }
    async fn peek_pending(&self, state: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        self.inner.peek_pending(state).await
    }
    async fn consume_pending(&self, state: &str, now: SystemTime) -> Result<Consumed, StoreError> {
        self.inner.consume_pending(state, now).await
    }
    async fn pending_for(
        &self,
        key: &SessionKey,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthorization>, StoreError> {
        self.inner.pending_for(key, now).await
    }
    async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
        self.inner.purge_pending(cutoff).await
    }
    async fn environment(&self, api: &str, user: &UserRef) -> Result<Option<String>, StoreError> {
        self.environment_reads.fetch_add(1, Ordering::SeqCst);
        self.read_delay().await;
        self.inner.environment(api, user).await
    }
    async fn set_environment(
        &self,
        api: &str,
        user: &UserRef,
        environment: &str,
    ) -> Result<(), StoreError> {
        self.inner.set_environment(api, user, environment).await
    }
    async fn acquire_lease(
        &self,
        key: &SessionKey,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        self.inner.acquire_lease(key, holder, now, until).await
    }
    async fn release_lease(&self, key: &SessionKey, holder: &str) -> Result<(), StoreError> {
        self.inner.release_lease(key, holder).await
    }
}

/// Defines `$name` twice, as `sqlite` and `postgres` tests, each running `$case` with a
/// fresh [`Backend`].
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $case:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let backend = $crate::backends::Backend::sqlite();
                $case(&backend).await;
                backend.drop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(backend) = $crate::backends::Backend::postgres().await else {
                    return;
                };
                $case(&backend).await;
                backend.drop().await;
            }
        }
    };
}

/// What a [`Hooked`] store does instead of passing an operation on to its inner store:
/// a test double changes one or two of them, the rest pass through.
#[async_trait]
pub trait StoreHooks: Send + Sync + 'static {
    /// A session load.
    async fn load(
        &self,
        inner: &Arc<dyn SessionStore>,
        key: &SessionKey,
    ) -> Result<Option<Session>, StoreError> {
        inner.load(key).await
    }

    /// A session delete.
    async fn delete(
        &self,
        inner: &Arc<dyn SessionStore>,
        key: &SessionKey,
    ) -> Result<(), StoreError> {
        inner.delete(key).await
    }

    /// A lease release.
    async fn release_lease(
        &self,
        inner: &Arc<dyn SessionStore>,
        key: &SessionKey,
        holder: &str,
    ) -> Result<(), StoreError> {
        inner.release_lease(key, holder).await
    }
}

/// A store passing every operation to `inner`, but those `hooks` change.
pub struct Hooked<H> {
    /// Where operations go.
    pub inner: Arc<dyn SessionStore>,
    /// What is done instead.
    pub hooks: H,
}

impl<H: StoreHooks> Hooked<H> {
    /// `inner` with `hooks`.
    pub fn new(inner: Arc<dyn SessionStore>, hooks: H) -> Arc<Self> {
        Arc::new(Self { inner, hooks })
    }
}

#[async_trait]
impl<H: StoreHooks> SessionStore for Hooked<H> {
    async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        self.hooks.load(&self.inner, key).await
    }
    async fn compare_and_swap(
        &self,
        key: &SessionKey,
        expected: u64,
        state: &SessionState,
    ) -> Result<CasOutcome, StoreError> {
        self.inner.compare_and_swap(key, expected, state).await
    }
    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        self.inner.replace(key, state).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.hooks.delete(&self.inner, key).await
    }
    async fn insert_pending(&self, pending: &PendingAuthorization) -> Result<(), StoreError> {
        self.inner.insert_pending(pending).await
    }
    async fn rebind_pending(&self, state: &str, binding: Option<&str>) -> Result<bool, StoreError> {
        self.inner.rebind_pending(state, binding).await
    }
    async fn peek_pending(&self, state: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        self.inner.peek_pending(state).await
    }
    async fn consume_pending(&self, state: &str, now: SystemTime) -> Result<Consumed, StoreError> {
        self.inner.consume_pending(state, now).await
    }
    async fn pending_for(
        &self,
        key: &SessionKey,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthorization>, StoreError> {
        self.inner.pending_for(key, now).await
    }
    async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
        self.inner.purge_pending(cutoff).await
    }
    async fn environment(&self, api: &str, user: &UserRef) -> Result<Option<String>, StoreError> {
        self.inner.environment(api, user).await
    }
    async fn set_environment(
        &self,
        api: &str,
        user: &UserRef,
        environment: &str,
    ) -> Result<(), StoreError> {
        self.inner.set_environment(api, user, environment).await
    }
    async fn acquire_lease(
        &self,
        key: &SessionKey,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        self.inner.acquire_lease(key, holder, now, until).await
    }
    async fn release_lease(&self, key: &SessionKey, holder: &str) -> Result<(), StoreError> {
        self.hooks.release_lease(&self.inner, key, holder).await
    }
}
