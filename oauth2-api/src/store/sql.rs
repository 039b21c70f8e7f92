//! The SQL both relational backends share: one set of statements (`$n` parameters work in
//! SQLite and PostgreSQL alike), stamped into each backend's `SessionStore` impl by
//! [`sql_session_store!`], with tokens sealed by the optional [`TokenCipher`].
//!
//! Every operation of the contract is one statement, so the database's own row locking
//! makes it atomic across processes: compare-and-swap is an `UPDATE ... WHERE version = $n`,
//! consuming a state is `UPDATE ... WHERE used_at IS NULL RETURNING`, a lease is an upsert
//! that only overwrites an expired or own lease.

use crate::session::SessionKey;

pub(crate) use super::cipher::TokenCipher;

pub(crate) const LOAD: &str = "SELECT * FROM oauth2_api_session
     WHERE api = $1 AND environment = $2 AND user_kind = $3 AND user_id = $4";

/// An upsert of every session column, `$1`..`$14`, whose conflict branch sets `version`
/// to `$version` and applies when `$when`.
macro_rules! upsert_session {
    ($version:literal, $when:literal) => {
        concat!(
            "INSERT INTO oauth2_api_session
               (api, environment, user_kind, user_id, access_token, refresh_token, expires_at,
                scopes, token_type, error_at, error_kind, error_message, version, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (api, environment, user_kind, user_id) DO UPDATE SET
               access_token = excluded.access_token, refresh_token = excluded.refresh_token,
               expires_at = excluded.expires_at, scopes = excluded.scopes,
               token_type = excluded.token_type, error_at = excluded.error_at,
               error_kind = excluded.error_kind, error_message = excluded.error_message,
               updated_at = excluded.updated_at, version = ",
            $version,
            " ",
            $when
        )
    };
}

/// Compare-and-swap at version 0: a new row, or over a row whose version is not positive
/// (written by hand or by a bug), which would otherwise conflict forever.
pub(crate) const INSERT: &str =
    upsert_session!("excluded.version", "WHERE oauth2_api_session.version <= 0");

/// Writes whatever the row holds, without reading it; the version goes on from the stored
/// one when that is positive.
pub(crate) const REPLACE: &str = upsert_session!(
    "CASE WHEN oauth2_api_session.version > 0
               AND oauth2_api_session.version < 9223372036854775807
          THEN oauth2_api_session.version + 1 ELSE 1 END",
    "RETURNING version"
);

pub(crate) const UPDATE: &str = "UPDATE oauth2_api_session SET
       access_token = $5, refresh_token = $6, expires_at = $7, scopes = $8, token_type = $9,
       error_at = $10, error_kind = $11, error_message = $12, version = $13, updated_at = $14
     WHERE api = $1 AND environment = $2 AND user_kind = $3 AND user_id = $4 AND version = $15";

pub(crate) const DELETE: &str = "DELETE FROM oauth2_api_session
     WHERE api = $1 AND environment = $2 AND user_kind = $3 AND user_id = $4";

pub(crate) const INSERT_PENDING: &str = "INSERT INTO oauth2_api_pending
       (state, api, environment, user_kind, user_id, pkce_verifier, scopes, return_to,
        created_at, expires_at, browser_binding)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Keeps a session's newest pending authorizations (`$5` of them), used or not.
pub(crate) const TRIM_PENDING: &str = "DELETE FROM oauth2_api_pending
     WHERE api = $1 AND environment = $2 AND user_kind = $3 AND user_id = $4
       AND state NOT IN (SELECT state FROM oauth2_api_pending
         WHERE api = $1 AND environment = $2 AND user_kind = $3 AND user_id = $4
         ORDER BY created_at DESC, state DESC LIMIT $5)";

pub(crate) const REBIND_PENDING: &str = "UPDATE oauth2_api_pending SET browser_binding = $1
     WHERE state = $2 AND used_at IS NULL";

pub(crate) const PEEK_PENDING: &str = "SELECT * FROM oauth2_api_pending WHERE state = $1";

pub(crate) const CONSUME_PENDING: &str =
    "UPDATE oauth2_api_pending SET used_at = $1 WHERE state = $2 AND used_at IS NULL RETURNING *";

pub(crate) const KNOWN_PENDING: &str = "SELECT state FROM oauth2_api_pending WHERE state = $1";

pub(crate) const PENDING_FOR: &str = "SELECT * FROM oauth2_api_pending
     WHERE api = $1 AND environment = $2 AND user_kind = $3 AND user_id = $4
       AND used_at IS NULL AND expires_at > $5
     ORDER BY created_at";

pub(crate) const PURGE_PENDING: &str = "DELETE FROM oauth2_api_pending WHERE expires_at < $1";

pub(crate) const ENVIRONMENT: &str = "SELECT environment FROM oauth2_api_environment
     WHERE api = $1 AND user_kind = $2 AND user_id = $3";

pub(crate) const SET_ENVIRONMENT: &str =
    "INSERT INTO oauth2_api_environment (api, user_kind, user_id, environment)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (api, user_kind, user_id) DO UPDATE SET environment = excluded.environment";

pub(crate) const ACQUIRE_LEASE: &str =
    "INSERT INTO oauth2_api_lease (api, environment, user_kind, user_id, holder, until)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (api, environment, user_kind, user_id) DO UPDATE
       SET holder = excluded.holder, until = excluded.until
       WHERE oauth2_api_lease.until <= $7 OR oauth2_api_lease.holder = excluded.holder";

pub(crate) const RELEASE_LEASE: &str = "DELETE FROM oauth2_api_lease
     WHERE api = $1 AND environment = $2 AND user_kind = $3 AND user_id = $4 AND holder = $5";

/// The associated data of a sealed column: the row and the column it belongs to.
pub(crate) fn session_aad(key: &SessionKey, column: &str) -> String {
    format!(
        "{}/{}/{}/{}/{column}",
        key.provider,
        key.environment,
        key.user.kind(),
        key.user.id()
    )
}

pub(crate) fn pending_aad(state: &str) -> String {
    format!("pending/{state}")
}

pub(crate) fn scopes_to_text(scopes: &[String]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn scopes_from_text(
    op: &'static str,
    text: &str,
) -> Result<Vec<String>, super::StoreError> {
    serde_json::from_str(text).map_err(|e| super::StoreError::new(op, e))
}

/// Brings the schema in transaction `$tx` (already holding the backend's migration
/// lock) up to date with `$migrations`, versioned in `oauth2_api_schema`; a database of a
/// newer version is refused rather than misread. Commits.
macro_rules! migrate {
    ($tx:ident, $migrations:expr) => {{
        let err = |e| StoreError::new("migrate", e);
        sqlx::query("CREATE TABLE IF NOT EXISTS oauth2_api_schema (version BIGINT NOT NULL)")
            .execute(&mut *$tx)
            .await
            .map_err(err)?;
        let version: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM oauth2_api_schema")
            .fetch_one(&mut *$tx)
            .await
            .map_err(err)?;
        let version = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
        if version > $migrations.len() {
            return Err(StoreError::message(
                "migrate",
                format!(
                    "the database has schema version {version}, newer than this crate's {}",
                    $migrations.len()
                ),
            ));
        }
        for (i, migration) in $migrations.iter().enumerate().skip(version) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*migration))
                .execute(&mut *$tx)
                .await
                .map_err(err)?;
            sqlx::query("INSERT INTO oauth2_api_schema (version) VALUES ($1)")
                .bind(i as i64 + 1)
                .execute(&mut *$tx)
                .await
                .map_err(err)?;
        }
        $tx.commit().await.map_err(err)
    }};
}

pub(crate) use migrate;

/// Implements `SessionStore` for `$store`, a struct with `pool: sqlx::Pool<$db>` and
/// `cipher: Option<TokenCipher>`, whose schema has the tables the statements above use.
macro_rules! sql_session_store {
    ($store:ty, $row:ty) => {
        impl $store {
            fn session_from_row(
                &self,
                key: &SessionKey,
                row: &$row,
            ) -> Result<Session, StoreError> {
                use sqlx::Row as _;
                let e = |e| StoreError::new("load", e);
                let cipher = self.cipher.as_ref();
                let tokens = match row
                    .try_get::<Option<String>, _>("access_token")
                    .map_err(e)?
                {
                    None => None,
                    Some(access) => {
                        let scopes: Option<String> = row.try_get("scopes").map_err(e)?;
                        let refresh = row
                            .try_get::<Option<String>, _>("refresh_token")
                            .map_err(e)?;
                        Some(TokenSet {
                            access_token: SecretString::from(cipher::open(
                                cipher,
                                access,
                                &sql::session_aad(key, "access_token"),
                            )?),
                            refresh_token: match refresh {
                                Some(r) => Some(SecretString::from(cipher::open(
                                    cipher,
                                    r,
                                    &sql::session_aad(key, "refresh_token"),
                                )?)),
                                None => None,
                            },
                            expires_at: row
                                .try_get::<Option<i64>, _>("expires_at")
                                .map_err(e)?
                                .map(from_millis),
                            scopes: sql::scopes_from_text(
                                "load",
                                scopes.as_deref().unwrap_or("[]"),
                            )?,
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
                    version: u64::try_from(row.try_get::<i64, _>("version").map_err(e)?)
                        .unwrap_or(0),
                    updated_at: from_millis(row.try_get("updated_at").map_err(e)?),
                })
            }

            /// Binds `$1`..`$14` of the session statements.
            fn bind_session<'q>(
                &self,
                query: sqlx::query::Query<
                    'q,
                    <$row as sqlx::Row>::Database,
                    <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments,
                >,
                key: &'q SessionKey,
                state: &SessionState,
                version: i64,
            ) -> sqlx::query::Query<
                'q,
                <$row as sqlx::Row>::Database,
                <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments,
            > {
                let tokens = state.tokens.as_ref();
                let error = state.last_error.as_ref();
                let cipher = self.cipher.as_ref();
                let seal = |secret: &SecretString, column| {
                    cipher::seal(
                        cipher,
                        secret.expose_secret(),
                        &sql::session_aad(key, column),
                    )
                };
                query
                    .bind(&*key.provider)
                    .bind(&*key.environment)
                    .bind(key.user.kind())
                    .bind(key.user.id())
                    .bind(tokens.map(|t| seal(&t.access_token, "access_token")))
                    .bind(
                        tokens
                            .and_then(|t| t.refresh_token.as_ref())
                            .map(|r| seal(r, "refresh_token")),
                    )
                    .bind(tokens.and_then(|t| t.expires_at).map(to_millis))
                    .bind(tokens.map(|t| sql::scopes_to_text(&t.scopes)))
                    .bind(tokens.map(|t| t.token_type.clone()))
                    .bind(error.map(|e| to_millis(e.at)))
                    .bind(error.map(|e| e.kind.clone()))
                    .bind(error.map(|e| e.message.clone()))
                    .bind(version)
                    .bind(to_millis(SystemTime::now()))
            }

            fn pending_from_row(&self, row: &$row) -> Result<PendingAuthorization, StoreError> {
                use sqlx::Row as _;
                let e = |e| StoreError::new("load pending", e);
                let state: String = row.try_get("state").map_err(e)?;
                let scopes: String = row.try_get("scopes").map_err(e)?;
                let verifier = cipher::open(
                    self.cipher.as_ref(),
                    row.try_get("pkce_verifier").map_err(e)?,
                    &sql::pending_aad(&state),
                )?;
                Ok(PendingAuthorization {
                    key: SessionKey::new(
                        row.try_get::<String, _>("api").map_err(e)?,
                        row.try_get::<String, _>("environment").map_err(e)?,
                        UserRef::new(
                            row.try_get::<String, _>("user_kind").map_err(e)?,
                            row.try_get::<String, _>("user_id").map_err(e)?,
                        ),
                    ),
                    state,
                    pkce_verifier: SecretString::from(verifier),
                    scopes: sql::scopes_from_text("load pending", &scopes)?,
                    return_to: row.try_get("return_to").map_err(e)?,
                    browser_binding: row.try_get("browser_binding").map_err(e)?,
                    created_at: from_millis(row.try_get("created_at").map_err(e)?),
                    expires_at: from_millis(row.try_get("expires_at").map_err(e)?),
                })
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
                let row = sqlx::query(sql::LOAD)
                    .bind(&key.provider)
                    .bind(&key.environment)
                    .bind(key.user.kind())
                    .bind(key.user.id())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| StoreError::new("load", e))?;
                row.map(|row| self.session_from_row(key, &row)).transpose()
            }

            async fn compare_and_swap(
                &self,
                key: &SessionKey,
                expected: u64,
                state: &SessionState,
            ) -> Result<CasOutcome, StoreError> {
                let e = |e: sqlx::Error| StoreError::new("compare_and_swap", e);
                let expected =
                    i64::try_from(expected).map_err(|e| StoreError::new("compare_and_swap", e))?;
                // At the largest version, start again: a version only has to change.
                let version = expected.checked_add(1).unwrap_or(1);
                let statement = if expected == 0 {
                    sql::INSERT
                } else {
                    sql::UPDATE
                };
                let mut query = self.bind_session(sqlx::query(statement), key, state, version);
                if expected != 0 {
                    query = query.bind(expected);
                }
                let done = query.execute(&self.pool).await.map_err(e)?;
                Ok(if done.rows_affected() == 1 {
                    CasOutcome::Written(version as u64)
                } else {
                    CasOutcome::Conflict
                })
            }

            async fn replace(
                &self,
                key: &SessionKey,
                state: &SessionState,
            ) -> Result<u64, StoreError> {
                let e = |e| StoreError::new("replace", e);
                let query = self.bind_session(sqlx::query(sql::REPLACE), key, state, 1);
                let version: i64 =
                    sqlx::Row::try_get(&query.fetch_one(&self.pool).await.map_err(e)?, 0)
                        .map_err(e)?;
                Ok(u64::try_from(version).unwrap_or(1))
            }

            async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
                sqlx::query(sql::DELETE)
                    .bind(&key.provider)
                    .bind(&key.environment)
                    .bind(key.user.kind())
                    .bind(key.user.id())
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::new("delete", e))?;
                Ok(())
            }

            async fn insert_pending(&self, p: &PendingAuthorization) -> Result<(), StoreError> {
                let verifier = cipher::seal(
                    self.cipher.as_ref(),
                    p.pkce_verifier.expose_secret(),
                    &sql::pending_aad(&p.state),
                );
                sqlx::query(sql::INSERT_PENDING)
                    .bind(&p.state)
                    .bind(&p.key.provider)
                    .bind(&p.key.environment)
                    .bind(p.key.user.kind())
                    .bind(p.key.user.id())
                    .bind(verifier)
                    .bind(sql::scopes_to_text(&p.scopes))
                    .bind(&p.return_to)
                    .bind(to_millis(p.created_at))
                    .bind(to_millis(p.expires_at))
                    .bind(&p.browser_binding)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::new("insert_pending", e))?;
                sqlx::query(sql::TRIM_PENDING)
                    .bind(&p.key.provider)
                    .bind(&p.key.environment)
                    .bind(p.key.user.kind())
                    .bind(p.key.user.id())
                    .bind(crate::store::MAX_PENDING_PER_SESSION as i64)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::new("insert_pending", e))?;
                Ok(())
            }

            async fn rebind_pending(
                &self,
                state: &str,
                browser_binding: Option<&str>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::REBIND_PENDING)
                    .bind(browser_binding)
                    .bind(state)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::new("rebind_pending", e))?;
                Ok(done.rows_affected() == 1)
            }

            async fn peek_pending(
                &self,
                state: &str,
            ) -> Result<Option<PendingAuthorization>, StoreError> {
                let row = sqlx::query(sql::PEEK_PENDING)
                    .bind(state)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| StoreError::new("peek_pending", e))?;
                row.map(|row| self.pending_from_row(&row)).transpose()
            }

            async fn consume_pending(
                &self,
                state: &str,
                now: SystemTime,
            ) -> Result<Consumed, StoreError> {
                let e = |e| StoreError::new("consume_pending", e);
                let row = sqlx::query(sql::CONSUME_PENDING)
                    .bind(to_millis(now))
                    .bind(state)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                if let Some(row) = row {
                    let pending = self.pending_from_row(&row)?;
                    return Ok(if pending.expires_at <= now {
                        Consumed::Expired
                    } else {
                        Consumed::Taken(Box::new(pending))
                    });
                }
                let known = sqlx::query(sql::KNOWN_PENDING)
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
                let rows = sqlx::query(sql::PENDING_FOR)
                    .bind(&key.provider)
                    .bind(&key.environment)
                    .bind(key.user.kind())
                    .bind(key.user.id())
                    .bind(to_millis(now))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| StoreError::new("pending_for", e))?;
                rows.iter().map(|row| self.pending_from_row(row)).collect()
            }

            async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::PURGE_PENDING)
                    .bind(to_millis(cutoff))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::new("purge_pending", e))?;
                Ok(done.rows_affected())
            }

            async fn environment(
                &self,
                api: &str,
                user: &UserRef,
            ) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar(sql::ENVIRONMENT)
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
                sqlx::query(sql::SET_ENVIRONMENT)
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
                let done = sqlx::query(sql::ACQUIRE_LEASE)
                    .bind(&key.provider)
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

            async fn release_lease(
                &self,
                key: &SessionKey,
                holder: &str,
            ) -> Result<(), StoreError> {
                sqlx::query(sql::RELEASE_LEASE)
                    .bind(&key.provider)
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
    };
}

pub(crate) use sql_session_store;
