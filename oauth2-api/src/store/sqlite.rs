//! The SQLite backend: the embedded default, one file, zero set-up.
//!
//! The schema is created on open and versioned in `oauth2_api_schema`; a file written by a
//! newer version of this crate is refused rather than misread. The statements are shared
//! with PostgreSQL (`sql.rs`). WAL mode and a busy timeout
//! let several processes share one file; every contract operation is one SQL statement (or
//! one statement plus a read of the row it just changed), so SQLite's own locking makes it
//! atomic.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::sql::{self, TokenCipher};
use super::{CasOutcome, Consumed, SessionStore, StoreError, cipher, from_millis, to_millis};
use crate::session::{
    LastError, PendingAuthorization, Session, SessionKey, SessionState, TokenSet,
};
use crate::user::UserRef;

/// Each entry upgrades the schema by one version, in order.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE oauth2_api_session (
    api TEXT NOT NULL, environment TEXT NOT NULL, user_kind TEXT NOT NULL, user_id TEXT NOT NULL,
    access_token TEXT, refresh_token TEXT, expires_at INTEGER, scopes TEXT, token_type TEXT,
    error_at INTEGER, error_kind TEXT, error_message TEXT,
    version INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (api, environment, user_kind, user_id)
);
CREATE TABLE oauth2_api_pending (
    state TEXT PRIMARY KEY NOT NULL,
    api TEXT NOT NULL, environment TEXT NOT NULL, user_kind TEXT NOT NULL, user_id TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL, scopes TEXT NOT NULL, return_to TEXT,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER
);
CREATE INDEX oauth2_api_pending_by_session
    ON oauth2_api_pending (api, environment, user_kind, user_id);
CREATE INDEX oauth2_api_pending_by_expiry ON oauth2_api_pending (expires_at);
CREATE TABLE oauth2_api_environment (
    api TEXT NOT NULL, user_kind TEXT NOT NULL, user_id TEXT NOT NULL, environment TEXT NOT NULL,
    PRIMARY KEY (api, user_kind, user_id)
);
CREATE TABLE oauth2_api_lease (
    api TEXT NOT NULL, environment TEXT NOT NULL, user_kind TEXT NOT NULL, user_id TEXT NOT NULL,
    holder TEXT NOT NULL, until INTEGER NOT NULL,
    PRIMARY KEY (api, environment, user_kind, user_id)
);
"#,
    // 2: pending authorizations remember the browser they were begun for.
    r#"
ALTER TABLE oauth2_api_pending ADD COLUMN browser_binding TEXT;
"#,
];

/// Sessions in a SQLite file. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    cipher: Option<TokenCipher>,
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
        let store = Self { pool, cipher: None };
        store.migrate().await?;
        Ok(store)
    }

    /// Encrypts tokens and PKCE verifiers at rest with `cipher` (see [`TokenCipher`]).
    pub fn with_encryption(mut self, cipher: TokenCipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // IMMEDIATE takes the write lock before the version is read, so two processes
        // opening a new file do not both create the tables.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::new("migrate", e))?;
        sql::migrate!(tx, MIGRATIONS)
    }
}

fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "5" || c == "6"))
}

sql::sql_session_store!(SqliteStore, sqlx::sqlite::SqliteRow);
