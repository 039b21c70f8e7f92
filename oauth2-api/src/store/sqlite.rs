//! The SQLite backend: the embedded default, one file, zero set-up.
//!
//! The schema is created on open and versioned in `oauth2_api_schema`; a file written by a
//! newer version of this crate is refused rather than misread. WAL mode and a busy timeout
//! let several processes share one file; every contract operation is one SQL statement (or
//! one statement plus a read of the row it just changed), so SQLite's own locking makes it
//! atomic.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};

use super::{CasOutcome, Consumed, SessionStore, StoreError, from_millis, to_millis};
use crate::session::{
    LastError, PendingAuthorization, Session, SessionKey, SessionState, TokenSet,
};
use crate::user::UserRef;

/// Each entry upgrades the schema by one version, in order.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

/// Sessions in a SQLite file. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
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
        let pool = pool
            .connect_with(options)
            .await
            .map_err(|e| StoreError::new("open", e))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let err = |e| StoreError::new("migrate", e);
        // IMMEDIATE takes the write lock before the version is read, so two processes
        // opening a new file do not both create the tables.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(err)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS oauth2_api_schema (version INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let version: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM oauth2_api_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        let version = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
        if version > MIGRATIONS.len() {
            return Err(StoreError::message(
                "migrate",
                format!(
                    "the database has schema version {version}, newer than this crate's {}",
                    MIGRATIONS.len()
                ),
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            sqlx::query("INSERT INTO oauth2_api_schema (version) VALUES (?)")
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }
}

fn scopes_to_text(scopes: &[String]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".to_owned())
}

fn scopes_from_text(op: &'static str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::new(op, e))
}

fn session_from_row(key: &SessionKey, row: &SqliteRow) -> Result<Session, StoreError> {
    let e = |e| StoreError::new("load", e);
    let access: Option<String> = row.try_get("access_token").map_err(e)?;
    let tokens = match access {
        None => None,
        Some(access) => {
            let scopes: Option<String> = row.try_get("scopes").map_err(e)?;
            Some(TokenSet {
                access_token: SecretString::from(access),
                refresh_token: row
                    .try_get::<Option<String>, _>("refresh_token")
                    .map_err(e)?
                    .map(SecretString::from),
                expires_at: row
                    .try_get::<Option<i64>, _>("expires_at")
                    .map_err(e)?
                    .map(from_millis),
                scopes: scopes_from_text("load", scopes.as_deref().unwrap_or("[]"))?,
                token_type: row
                    .try_get::<Option<String>, _>("token_type")
                    .map_err(e)?
                    .unwrap_or_else(|| "bearer".to_owned()),
            })
        }
    };
    let last_error = match row.try_get::<Option<i64>, _>("error_at").map_err(e)? {
        None => None,
        Some(at) => Some(LastError {
            at: from_millis(at),
            kind: row
                .try_get::<Option<String>, _>("error_kind")
                .map_err(e)?
                .unwrap_or_default(),
            message: row
                .try_get::<Option<String>, _>("error_message")
                .map_err(e)?
                .unwrap_or_default(),
        }),
    };
    Ok(Session {
        key: key.clone(),
        state: SessionState { tokens, last_error },
        version: u64::try_from(row.try_get::<i64, _>("version").map_err(e)?).unwrap_or(0),
        updated_at: from_millis(row.try_get("updated_at").map_err(e)?),
    })
}

fn pending_from_row(row: &SqliteRow) -> Result<PendingAuthorization, StoreError> {
    let e = |e| StoreError::new("load pending", e);
    let scopes: String = row.try_get("scopes").map_err(e)?;
    Ok(PendingAuthorization {
        state: row.try_get("state").map_err(e)?,
        key: SessionKey::new(
            row.try_get::<String, _>("api").map_err(e)?,
            row.try_get::<String, _>("environment").map_err(e)?,
            UserRef::new(
                row.try_get::<String, _>("user_kind").map_err(e)?,
                row.try_get::<String, _>("user_id").map_err(e)?,
            ),
        ),
        pkce_verifier: SecretString::from(row.try_get::<String, _>("pkce_verifier").map_err(e)?),
        scopes: scopes_from_text("load pending", &scopes)?,
        return_to: row.try_get("return_to").map_err(e)?,
        created_at: from_millis(row.try_get("created_at").map_err(e)?),
        expires_at: from_millis(row.try_get("expires_at").map_err(e)?),
    })
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM oauth2_api_session
             WHERE api = ? AND environment = ? AND user_kind = ? AND user_id = ?",
        )
        .bind(&key.api)
        .bind(&key.environment)
        .bind(key.user.kind())
        .bind(key.user.id())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| StoreError::new("load", e))?;
        row.map(|row| session_from_row(key, &row)).transpose()
    }

    async fn compare_and_swap(
        &self,
        key: &SessionKey,
        expected: u64,
        state: &SessionState,
    ) -> Result<CasOutcome, StoreError> {
        let tokens = state.tokens.as_ref();
        let error = state.last_error.as_ref();
        let version = expected + 1;
        let sql = if expected == 0 {
            "INSERT INTO oauth2_api_session
               (access_token, refresh_token, expires_at, scopes, token_type,
                error_at, error_kind, error_message, version, updated_at,
                api, environment, user_kind, user_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING"
        } else {
            "UPDATE oauth2_api_session SET
               access_token = ?, refresh_token = ?, expires_at = ?, scopes = ?, token_type = ?,
               error_at = ?, error_kind = ?, error_message = ?, version = ?, updated_at = ?
             WHERE api = ? AND environment = ? AND user_kind = ? AND user_id = ? AND version = ?"
        };
        let mut query = sqlx::query(sql)
            .bind(tokens.map(|t| t.access_token.expose_secret().to_owned()))
            .bind(tokens.and_then(|t| {
                t.refresh_token
                    .as_ref()
                    .map(|r| r.expose_secret().to_owned())
            }))
            .bind(tokens.and_then(|t| t.expires_at).map(to_millis))
            .bind(tokens.map(|t| scopes_to_text(&t.scopes)))
            .bind(tokens.map(|t| t.token_type.clone()))
            .bind(error.map(|e| to_millis(e.at)))
            .bind(error.map(|e| e.kind.clone()))
            .bind(error.map(|e| e.message.clone()))
            .bind(version as i64)
            .bind(to_millis(SystemTime::now()))
            .bind(&key.api)
            .bind(&key.environment)
            .bind(key.user.kind())
            .bind(key.user.id());
        if expected != 0 {
            query = query.bind(expected as i64);
        }
        let done = query
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::new("compare_and_swap", e))?;
        Ok(if done.rows_affected() == 1 {
            CasOutcome::Written(version)
        } else {
            CasOutcome::Conflict
        })
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM oauth2_api_session
             WHERE api = ? AND environment = ? AND user_kind = ? AND user_id = ?",
        )
        .bind(&key.api)
        .bind(&key.environment)
        .bind(key.user.kind())
        .bind(key.user.id())
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::new("delete", e))?;
        Ok(())
    }

    async fn insert_pending(&self, p: &PendingAuthorization) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth2_api_pending
               (state, api, environment, user_kind, user_id, pkce_verifier, scopes, return_to,
                created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&p.state)
        .bind(&p.key.api)
        .bind(&p.key.environment)
        .bind(p.key.user.kind())
        .bind(p.key.user.id())
        .bind(p.pkce_verifier.expose_secret())
        .bind(scopes_to_text(&p.scopes))
        .bind(&p.return_to)
        .bind(to_millis(p.created_at))
        .bind(to_millis(p.expires_at))
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::new("insert_pending", e))?;
        Ok(())
    }

    async fn peek_pending(&self, state: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        let row = sqlx::query("SELECT * FROM oauth2_api_pending WHERE state = ?")
            .bind(state)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::new("peek_pending", e))?;
        row.as_ref().map(pending_from_row).transpose()
    }

    async fn consume_pending(&self, state: &str, now: SystemTime) -> Result<Consumed, StoreError> {
        let e = |e| StoreError::new("consume_pending", e);
        let row = sqlx::query(
            "UPDATE oauth2_api_pending SET used_at = ? WHERE state = ? AND used_at IS NULL
             RETURNING *",
        )
        .bind(to_millis(now))
        .bind(state)
        .fetch_optional(&self.pool)
        .await
        .map_err(e)?;
        if let Some(row) = row {
            let pending = pending_from_row(&row)?;
            return Ok(if pending.expires_at <= now {
                Consumed::Expired
            } else {
                Consumed::Taken(Box::new(pending))
            });
        }
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM oauth2_api_pending WHERE state = ?")
                .bind(state)
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?;
        Ok(if known.is_some() {
            Consumed::AlreadyUsed
        } else {
            Consumed::Unknown
        })
    }

    async fn pending_for(
        &self,
        key: &SessionKey,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthorization>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM oauth2_api_pending
             WHERE api = ? AND environment = ? AND user_kind = ? AND user_id = ?
               AND used_at IS NULL AND expires_at > ?
             ORDER BY created_at",
        )
        .bind(&key.api)
        .bind(&key.environment)
        .bind(key.user.kind())
        .bind(key.user.id())
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::new("pending_for", e))?;
        rows.iter().map(pending_from_row).collect()
    }

    async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM oauth2_api_pending WHERE expires_at < ?")
            .bind(to_millis(cutoff))
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::new("purge_pending", e))?;
        Ok(done.rows_affected())
    }

    async fn environment(&self, api: &str, user: &UserRef) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT environment FROM oauth2_api_environment
             WHERE api = ? AND user_kind = ? AND user_id = ?",
        )
        .bind(api)
        .bind(user.kind())
        .bind(user.id())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| StoreError::new("environment", e))
    }

    async fn set_environment(
        &self,
        api: &str,
        user: &UserRef,
        environment: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth2_api_environment (api, user_kind, user_id, environment)
             VALUES (?, ?, ?, ?)
             ON CONFLICT (api, user_kind, user_id) DO UPDATE SET environment = excluded.environment",
        )
        .bind(api)
        .bind(user.kind())
        .bind(user.id())
        .bind(environment)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::new("set_environment", e))?;
        Ok(())
    }

    async fn acquire_lease(
        &self,
        key: &SessionKey,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO oauth2_api_lease (api, environment, user_kind, user_id, holder, until)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (api, environment, user_kind, user_id) DO UPDATE
               SET holder = excluded.holder, until = excluded.until
               WHERE oauth2_api_lease.until <= ? OR oauth2_api_lease.holder = excluded.holder",
        )
        .bind(&key.api)
        .bind(&key.environment)
        .bind(key.user.kind())
        .bind(key.user.id())
        .bind(holder)
        .bind(to_millis(until))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::new("acquire_lease", e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_lease(&self, key: &SessionKey, holder: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM oauth2_api_lease
             WHERE api = ? AND environment = ? AND user_kind = ? AND user_id = ? AND holder = ?",
        )
        .bind(&key.api)
        .bind(&key.environment)
        .bind(key.user.kind())
        .bind(key.user.id())
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::new("release_lease", e))?;
        Ok(())
    }
}
