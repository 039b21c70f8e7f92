//! The SQLite backend: the embedded default, one file, zero set-up.
//!
//! The schema is created on open and versioned in `oauth2_api_schema`; a file written by a
//! newer version of this crate is refused rather than misread. The store itself, its
//! statements and schema are shared with PostgreSQL (`sql/`). WAL mode and a busy timeout
//! let several processes share one file; every contract operation is one SQL statement (or
//! one statement plus a read of the row it just changed), so SQLite's own locking makes it
//! atomic.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult};
use sqlx::{Pool, Sqlite, Transaction};

use super::sql::{Dialect, SqlStore, TokenCipher};
use super::{CasOutcome, Consumed, StoreError};
use crate::session::{PendingAuthorization, Session, SessionKey, SessionState};
use crate::user::UserRef;

/// Sessions in a SQLite file. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: SqlStore<Sqlite>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(options, false).await
    }

    /// Opens a database from a `sqlite:` URL, e.g. `sqlite::memory:` or `sqlite://sessions.db`.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::new("open", e))?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        Self::connect(options, in_memory).await
    }

    async fn connect(options: SqliteConnectOptions, in_memory: bool) -> Result<Self, StoreError> {
        let mut pool = SqlitePoolOptions::new();
        if in_memory {
            // An in-memory database lives in a shared cache, where a busy table fails at
            // once (SQLITE_LOCKED) instead of waiting: one connection serialises instead.
            pool = pool
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        // Switching a new file to WAL takes a lock that another process opening the same
        // file at that moment may hold, and SQLite does not wait for it: try again shortly.
        let mut attempts = 0;
        let pool = loop {
            match pool.clone().connect_with(options.clone()).await {
                Ok(pool) => break pool,
                Err(e) if attempts < 20 && is_busy(&e) => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Err(e) => return Err(StoreError::new("open", e)),
            }
        };
        Ok(Self {
            inner: SqlStore::new(pool).await?,
        })
    }

    /// Encrypts tokens and PKCE verifiers at rest with `cipher` (see [`TokenCipher`]).
    pub fn with_encryption(mut self, cipher: TokenCipher) -> Self {
        self.inner.set_cipher(cipher);
        self
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug_as("SqliteStore", f)
    }
}

impl Dialect for Sqlite {
    const INTEGER: &'static str = "INTEGER";

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    fn begin_migration(
        pool: &Pool<Sqlite>,
    ) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send + '_ {
        // IMMEDIATE takes the write lock before the version is read, so two processes
        // opening a new file do not both create the tables.
        pool.begin_with("BEGIN IMMEDIATE")
    }
}

fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "5" || c == "6"))
}

super::sql::forward_session_store!(SqliteStore);
