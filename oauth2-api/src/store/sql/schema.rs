//! The schema of both SQL backends, one text for both, and the migration that brings a
//! database up to date.
//!
//! The schema is versioned in `oauth2_api_schema`: a database at version N gets the
//! migrations N+1.. in order, in one transaction. A database of a newer version is
//! refused rather than misread. The migrations of a released version never change,
//! since databases already went through them: a change is a new migration at the end.

use sqlx::Pool;

use super::backend::{Backend, Params};
use crate::store::StoreError;

/// Each entry upgrades the schema by one version, in order.
///
/// `{integer}` is the dialect's 64-bit integer type ([`Dialect::INTEGER`]): SQLite's
/// `INTEGER`, PostgreSQL's `BIGINT`. The pending `state` says `NOT NULL` because SQLite
/// otherwise allows NULL in a primary key that is not an integer; PostgreSQL implies it.
///
/// [`Dialect::INTEGER`]: super::backend::Dialect::INTEGER
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE oauth2_api_session (
    api TEXT NOT NULL, environment TEXT NOT NULL, user_kind TEXT NOT NULL, user_id TEXT NOT NULL,
    access_token TEXT, refresh_token TEXT, expires_at {integer}, scopes TEXT, token_type TEXT,
    error_at {integer}, error_kind TEXT, error_message TEXT,
    version {integer} NOT NULL, updated_at {integer} NOT NULL,
    PRIMARY KEY (api, environment, user_kind, user_id)
);
CREATE TABLE oauth2_api_pending (
    state TEXT PRIMARY KEY NOT NULL,
    api TEXT NOT NULL, environment TEXT NOT NULL, user_kind TEXT NOT NULL, user_id TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL, scopes TEXT NOT NULL, return_to TEXT,
    created_at {integer} NOT NULL, expires_at {integer} NOT NULL, used_at {integer}
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
    holder TEXT NOT NULL, until {integer} NOT NULL,
    PRIMARY KEY (api, environment, user_kind, user_id)
);
"#,
    // 2: pending authorizations remember the browser they were begun for.
    r#"
ALTER TABLE oauth2_api_pending ADD COLUMN browser_binding TEXT;
"#,
];

/// The version table exists before the first migration: it says which ones ran.
const CREATE_VERSIONS: &str =
    "CREATE TABLE IF NOT EXISTS oauth2_api_schema (version BIGINT NOT NULL)";

const VERSION: &str = "SELECT max(version) AS version FROM oauth2_api_schema";

const RECORD_VERSION: &str = "INSERT INTO oauth2_api_schema (version) VALUES ($1)";

/// Migration `migration` as `integer` (the dialect's 64-bit integer type) spells it.
fn render(migration: &str, integer: &str) -> String {
    migration.replace("{integer}", integer)
}

/// Brings the schema of `pool`'s database up to date, under the dialect's migration lock
/// so that processes opening a new database together do not both create the tables.
pub(crate) async fn migrate<DB: Backend>(pool: &Pool<DB>) -> Result<(), StoreError> {
    let err = |e| StoreError::new("migrate", e);
    let mut tx = DB::begin_migration(pool).await.map_err(err)?;
    DB::execute(&mut tx, CREATE_VERSIONS, Params::default())
        .await
        .map_err(err)?;
    let row = DB::fetch_one(&mut tx, VERSION, Params::default())
        .await
        .map_err(err)?;
    let version = DB::opt_int(&row, "version").map_err(err)?;
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
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        DB::execute_script(&mut tx, render(migration, DB::INTEGER))
            .await
            .map_err(err)?;
        let next = Params::default().int(i as i64 + 1);
        DB::execute(&mut tx, RECORD_VERSION, next)
            .await
            .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_rendered() {
        for migration in MIGRATIONS {
            for integer in ["INTEGER", "BIGINT"] {
                let text = render(migration, integer);
                assert!(!text.contains(['{', '}']), "{text}");
            }
        }
        assert!(render(MIGRATIONS[0], "BIGINT").contains("until BIGINT NOT NULL"));
    }
}
