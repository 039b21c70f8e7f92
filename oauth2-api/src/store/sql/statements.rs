//! The statements of the SQL store, one per contract operation (`$n` parameters work in
//! SQLite and PostgreSQL alike).
//!
//! Each is atomic under the database's own row locking, across processes too:
//! compare-and-swap is an `UPDATE ... WHERE version = $n`, consuming a state is
//! `UPDATE ... WHERE used_at IS NULL RETURNING`, a lease is an upsert that only
//! overwrites an expired or own lease.

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
