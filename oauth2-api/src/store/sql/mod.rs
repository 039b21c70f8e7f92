//! The SQL both relational backends share: [`SqlStore`], generic over the driver, keeps
//! the [`SessionStore`] contract with one statement per operation (`statements.rs`) on
//! one schema (`schema.rs`), tokens sealed by the optional [`TokenCipher`]. `SqliteStore`
//! and `PostgresStore` wrap it with their own ways of connecting, and forward each
//! `SessionStore` method to it by hand: a blanket impl over a crate-private trait would
//! save those lines, but the documentation would then show, instead of
//! `impl SessionStore for SqliteStore`, a blanket `impl<T> SessionStore for T` bounded by
//! a trait readers cannot see.
//!
//! Every operation of the contract is one statement, so the database's own row locking
//! makes it atomic across processes; see `statements.rs`.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use sqlx::Pool;
use sqlx::pool::PoolConnection;

mod backend;
mod codec;
mod schema;
mod statements;

pub(crate) use backend::Dialect;
use backend::{Backend, Columns, Params};
use codec::{pending_from_row, pending_params, session_from_row, session_params};
use statements as sql;

pub(crate) use super::cipher::TokenCipher;
use super::{CasOutcome, Consumed, MAX_PENDING_PER_SESSION, SessionStore, StoreError, to_millis};
use crate::session::{PendingAuthorization, Session, SessionKey, SessionState};
use crate::user::UserRef;

/// Sessions in a SQL database reached through `pool`.
pub(crate) struct SqlStore<DB: sqlx::Database> {
    pool: Pool<DB>,
    cipher: Option<TokenCipher>,
}

// By hand: a derive would ask `DB: Clone`, which the sqlx drivers are not.
impl<DB: sqlx::Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            cipher: self.cipher.clone(),
        }
    }
}

impl<DB: Backend> SqlStore<DB> {
    /// A store on `pool`, whose schema is brought up to date first.
    pub(crate) async fn new(pool: Pool<DB>) -> Result<Self, StoreError> {
        schema::migrate(&pool).await?;
        Ok(Self { pool, cipher: None })
    }

    /// Seals tokens and PKCE verifiers with `cipher` from now on.
    pub(crate) fn set_cipher(&mut self, cipher: TokenCipher) {
        self.cipher = Some(cipher);
    }

    /// Writes the fields as the public type `name`'s, as the derive did before the
    /// backends shared this type.
    pub(crate) fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("pool", &self.pool)
            .field("cipher", &self.cipher)
            .finish()
    }

    /// A connection for `operation`'s statements.
    async fn conn(&self, operation: &'static str) -> Result<PoolConnection<DB>, StoreError> {
        self.pool
            .acquire()
            .await
            .map_err(|e| StoreError::new(operation, e))
    }

    /// Runs a statement that returns no rows, for `operation`; returns how many rows it
    /// changed.
    async fn execute(
        &self,
        operation: &'static str,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn(operation).await?;
        DB::execute(&mut conn, sql, params)
            .await
            .map_err(|e| StoreError::new(operation, e))
    }

    /// Runs a statement that returns at most one row, for `operation`.
    async fn fetch_optional(
        &self,
        operation: &'static str,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Option<DB::Row>, StoreError> {
        let mut conn = self.conn(operation).await?;
        DB::fetch_optional(&mut conn, sql, params)
            .await
            .map_err(|e| StoreError::new(operation, e))
    }

    fn pending_from_row(&self, row: &DB::Row) -> Result<PendingAuthorization, StoreError> {
        pending_from_row::<DB>(self.cipher.as_ref(), row)
    }
}

#[async_trait]
impl<DB: Backend> SessionStore for SqlStore<DB> {
    async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        let row = self
            .fetch_optional("load", sql::LOAD, Params::key(key))
            .await?;
        row.map(|row| session_from_row::<DB>(self.cipher.as_ref(), key, &row))
            .transpose()
    }

    async fn compare_and_swap(
        &self,
        key: &SessionKey,
        expected: u64,
        state: &SessionState,
    ) -> Result<CasOutcome, StoreError> {
        let op = "compare_and_swap";
        let expected = i64::try_from(expected).map_err(|e| StoreError::new(op, e))?;
        // At the largest version, start again: a version only has to change.
        let version = expected.checked_add(1).unwrap_or(1);
        let params = session_params(self.cipher.as_ref(), key, state, version);
        // At version 0 the upsert, which also takes over a row whose version is not
        // positive; otherwise the update of the expected version, `$15`.
        let changed = if expected == 0 {
            self.execute(op, sql::INSERT, params).await?
        } else {
            self.execute(op, sql::UPDATE, params.int(expected)).await?
        };
        Ok(if changed == 1 {
            CasOutcome::Written(version as u64)
        } else {
            CasOutcome::Conflict
        })
    }

    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        let op = "replace";
        let params = session_params(self.cipher.as_ref(), key, state, 1);
        let mut conn = self.conn(op).await?;
        let row = DB::fetch_one(&mut conn, sql::REPLACE, params)
            .await
            .map_err(|e| StoreError::new(op, e))?;
        let version = Columns::<DB>::new(&row, op).int("version")?;
        Ok(u64::try_from(version).unwrap_or(1))
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.execute("delete", sql::DELETE, Params::key(key))
            .await
            .map(drop)
    }

    async fn insert_pending(&self, pending: &PendingAuthorization) -> Result<(), StoreError> {
        let op = "insert_pending";
        let params = pending_params(self.cipher.as_ref(), pending);
        self.execute(op, sql::INSERT_PENDING, params).await?;
        let keep = Params::key(&pending.key).int(MAX_PENDING_PER_SESSION as i64);
        self.execute(op, sql::TRIM_PENDING, keep).await.map(drop)
    }

    async fn rebind_pending(
        &self,
        state: &str,
        browser_binding: Option<&str>,
    ) -> Result<bool, StoreError> {
        let params = Params::default().opt_text(browser_binding).text(state);
        let changed = self
            .execute("rebind_pending", sql::REBIND_PENDING, params)
            .await?;
        Ok(changed == 1)
    }

    async fn peek_pending(&self, state: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        let params = Params::default().text(state);
        let row = self
            .fetch_optional("peek_pending", sql::PEEK_PENDING, params)
            .await?;
        row.map(|row| self.pending_from_row(&row)).transpose()
    }

    async fn consume_pending(&self, state: &str, now: SystemTime) -> Result<Consumed, StoreError> {
        let op = "consume_pending";
        let params = Params::default().int(to_millis(now)).text(state);
        if let Some(row) = self
            .fetch_optional(op, sql::CONSUME_PENDING, params)
            .await?
        {
            let pending = self.pending_from_row(&row)?;
            return Ok(if pending.expires_at <= now {
                Consumed::Expired
            } else {
                Consumed::Taken(Box::new(pending))
            });
        }
        // Nothing was consumed: a state used before is told apart from an unknown one.
        let known = self
            .fetch_optional(op, sql::KNOWN_PENDING, Params::default().text(state))
            .await?;
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
        let op = "pending_for";
        let params = Params::key(key).int(to_millis(now));
        let mut conn = self.conn(op).await?;
        let rows = DB::fetch_all(&mut conn, sql::PENDING_FOR, params)
            .await
            .map_err(|e| StoreError::new(op, e))?;
        rows.iter().map(|row| self.pending_from_row(row)).collect()
    }

    async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
        let params = Params::default().int(to_millis(cutoff));
        self.execute("purge_pending", sql::PURGE_PENDING, params)
            .await
    }

    async fn environment(&self, api: &str, user: &UserRef) -> Result<Option<String>, StoreError> {
        let op = "environment";
        let params = Params::default()
            .text(api)
            .text(user.kind())
            .text(user.id());
        let row = self.fetch_optional(op, sql::ENVIRONMENT, params).await?;
        row.map(|row| Columns::<DB>::new(&row, op).text("environment"))
            .transpose()
    }

    async fn set_environment(
        &self,
        api: &str,
        user: &UserRef,
        environment: &str,
    ) -> Result<(), StoreError> {
        let params = Params::default()
            .text(api)
            .text(user.kind())
            .text(user.id())
            .text(environment);
        self.execute("set_environment", sql::SET_ENVIRONMENT, params)
            .await
            .map(drop)
    }

    async fn acquire_lease(
        &self,
        key: &SessionKey,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        let params = Params::key(key)
            .text(holder)
            .int(to_millis(until))
            .int(to_millis(now));
        let changed = self
            .execute("acquire_lease", sql::ACQUIRE_LEASE, params)
            .await?;
        Ok(changed == 1)
    }

    async fn release_lease(&self, key: &SessionKey, holder: &str) -> Result<(), StoreError> {
        let params = Params::key(key).text(holder);
        self.execute("release_lease", sql::RELEASE_LEASE, params)
            .await
            .map(drop)
    }
}

/// Implements `SessionStore` for a public backend type by handing every operation to its
/// `inner` [`SqlStore`]: the public types stay plain structs in the docs, without a
/// blanket impl bounded by a crate-private trait.
macro_rules! forward_session_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::SessionStore for $store {
            async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
                self.inner.load(key).await
            }
            async fn compare_and_swap(
                &self,
                key: &SessionKey,
                expected: u64,
                state: &SessionState,
            ) -> Result<CasOutcome, StoreError> {
                self.inner.compare_and_swap(key, expected, state).await
            }
            async fn replace(
                &self,
                key: &SessionKey,
                state: &SessionState,
            ) -> Result<u64, StoreError> {
                self.inner.replace(key, state).await
            }
            async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
                self.inner.delete(key).await
            }
            async fn insert_pending(
                &self,
                pending: &PendingAuthorization,
            ) -> Result<(), StoreError> {
                self.inner.insert_pending(pending).await
            }
            async fn rebind_pending(
                &self,
                state: &str,
                browser: Option<&str>,
            ) -> Result<bool, StoreError> {
                self.inner.rebind_pending(state, browser).await
            }
            async fn peek_pending(
                &self,
                state: &str,
            ) -> Result<Option<PendingAuthorization>, StoreError> {
                self.inner.peek_pending(state).await
            }
            async fn consume_pending(
                &self,
                state: &str,
                now: SystemTime,
            ) -> Result<Consumed, StoreError> {
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
            async fn environment(
                &self,
                api: &str,
                user: &UserRef,
            ) -> Result<Option<String>, StoreError> {
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
            async fn release_lease(
                &self,
                key: &SessionKey,
                holder: &str,
            ) -> Result<(), StoreError> {
                self.inner.release_lease(key, holder).await
            }
        }
    };
}

pub(crate) use forward_session_store;

#[cfg(test)]
mod tests {
    fn send<T: Send>(_: T) {}

    /// The public constructors stay spawnable now that they await generic code (nothing
    /// is polled: the futures are only built).
    #[test]
    fn opening_a_store_is_send() {
        #[cfg(feature = "sqlite")]
        send(crate::store::SqliteStore::open("unused.db"));
        #[cfg(feature = "postgres")]
        send(crate::store::PostgresStore::connect("postgres://unused"));
    }
}
