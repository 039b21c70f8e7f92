//! The PostgreSQL backend: sessions shared by many application instances.
//!
//! # Locking design
//!
//! Nothing holds a database lock across a network call to the provider. Each contract
//! operation is a single statement (shared with SQLite, `sql.rs`), atomic under
//! PostgreSQL's row locks: the token set is replaced by compare-and-swap on a version
//! column, and a state is consumed by an `UPDATE ... WHERE used_at IS NULL` that exactly
//! one caller wins. Cross-process single flight is a *lease row* per session
//! (`oauth2_api_lease`: holder, expiry), taken by an upsert that overwrites only an
//! expired lease or the holder's own. The runtime that takes it refreshes, stores the
//! rotated tokens (compare-and-swap) and only then hands the access token out and
//! releases the lease; the others poll the session row until the new tokens appear, or
//! until the lease expires, when one of them takes it over. A holder killed mid-refresh
//! therefore blocks the session for at most the lease's lifetime, and a rotated refresh
//! token is never handed out before it is stored. Lease times come from each instance's
//! clock: keep clocks in sync to well within the lease (30 s by default).
//!
//! The schema lives in the connection's schema (`search_path`); migrations run under an
//! advisory lock so instances starting together do not race.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sqlx::Executor as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

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
    access_token TEXT, refresh_token TEXT, expires_at BIGINT, scopes TEXT, token_type TEXT,
    error_at BIGINT, error_kind TEXT, error_message TEXT,
    version BIGINT NOT NULL, updated_at BIGINT NOT NULL,
    PRIMARY KEY (api, environment, user_kind, user_id)
);
CREATE TABLE oauth2_api_pending (
    state TEXT PRIMARY KEY,
    api TEXT NOT NULL, environment TEXT NOT NULL, user_kind TEXT NOT NULL, user_id TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL, scopes TEXT NOT NULL, return_to TEXT,
    created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT
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
    holder TEXT NOT NULL, until BIGINT NOT NULL,
    PRIMARY KEY (api, environment, user_kind, user_id)
);
"#,
    // 2: pending authorizations remember the browser they were begun for.
    r#"
ALTER TABLE oauth2_api_pending ADD COLUMN browser_binding TEXT;
"#,
];

/// An arbitrary constant naming this crate's migration lock.
const MIGRATION_LOCK: i64 = 0x6f61_7574_6832_6170;

/// Sessions in PostgreSQL. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    cipher: Option<TokenCipher>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`) and brings the schema up to date in
    /// the default schema (`public`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_in_schema(url, None).await
    }

    /// Connects to `url` and keeps the tables in `schema` (created if missing), e.g. one
    /// schema per application or per test.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(|e| StoreError::new("connect", e))?;
        let mut pool = PgPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if let Some(schema) = schema {
            if schema.is_empty()
                || !schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(StoreError::message(
                    "connect",
                    format!("schema `{schema}` must be lower-case letters, digits and `_`"),
                ));
            }
            let set = format!("SET search_path TO {schema}");
            // `CREATE SCHEMA IF NOT EXISTS` races with itself; the advisory lock orders
            // instances that start together.
            let err = |e| StoreError::new("connect", e);
            let mut conn = sqlx::ConnectOptions::connect(&options).await.map_err(err)?;
            let mut tx = sqlx::Connection::begin(&mut conn).await.map_err(err)?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            tx.execute(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}"
            )))
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            pool = pool.after_connect(move |conn, _| {
                let set = set.clone();
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(set)).await?;
                    Ok(())
                })
            });
        }
        let pool = pool
            .connect_with(options)
            .await
            .map_err(|e| StoreError::new("connect", e))?;
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
        let err = |e| StoreError::new("migrate", e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sql::migrate!(tx, MIGRATIONS)
    }
}

sql::sql_session_store!(PostgresStore, sqlx::postgres::PgRow);
