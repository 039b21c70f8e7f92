use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oauth2_api::store::{Consumed, MemoryStore, SessionStore, SqliteStore, contract};
use oauth2_api::{ExposeSecret, SessionKey, UserRef};
use oauth2_api_tests::PgSchema;
use sqlx::AssertSqlSafe;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_keeps_the_contract() {
    contract::run(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("sessions.db"))
        .await
        .unwrap();
    contract::run(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_in_memory_store_keeps_the_contract() {
    let store = SqliteStore::open_url("sqlite::memory:").await.unwrap();
    contract::run(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_schema_is_created_once_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    let (a, b) = tokio::join!(SqliteStore::open(&path), SqliteStore::open(&path));
    a.unwrap();
    b.unwrap();
    SqliteStore::open(&path)
        .await
        .expect("an up-to-date file reopens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_files_of_the_previous_store_open_unchanged() {
    for version in 1..=OLD_SQLITE_MIGRATIONS.len() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.db");
        let pool = sqlite_pool(&old).await;
        sqlx::raw_sql(AssertSqlSafe(previous_database(
            OLD_SQLITE_MIGRATIONS,
            version,
        )))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = SqliteStore::open(&old).await.unwrap();
        previous_rows_read_back(&store).await;
        contract::run(Arc::new(store)).await;

        let fresh = dir.path().join("fresh.db");
        SqliteStore::open(&fresh).await.unwrap();
        assert_eq!(
            sqlite_schema(&old).await,
            sqlite_schema(&fresh).await,
            "a file of schema version {version} is migrated to exactly a new file's schema"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_schemas_of_the_previous_store_open_unchanged() {
    for version in 1..=OLD_POSTGRES_MIGRATIONS.len() {
        let Some(old) = PgSchema::new().await else {
            return;
        };
        let admin = sqlx::PgPool::connect(&old.url).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {}", old.schema)))
            .execute(&admin)
            .await
            .unwrap();
        let raw = old.raw().await;
        sqlx::raw_sql(AssertSqlSafe(previous_database(
            OLD_POSTGRES_MIGRATIONS,
            version,
        )))
        .execute(&raw)
        .await
        .unwrap();
        raw.close().await;

        let store = old.store().await;
        previous_rows_read_back(&store).await;
        contract::run(Arc::new(store)).await;

        let fresh = PgSchema::new().await.unwrap();
        drop(fresh.store().await);
        assert_eq!(
            postgres_schema(&admin, &old).await,
            postgres_schema(&admin, &fresh).await,
            "a schema of version {version} is migrated to exactly a new schema"
        );
        old.drop().await;
        fresh.drop().await;
    }
}

/// A database as the previous store left it at schema `version`, holding one row in each
/// table, as it wrote them (tokens in plain text, instants in milliseconds).
fn previous_database(migrations: &[&str], version: usize) -> String {
    let mut script =
        String::from("CREATE TABLE IF NOT EXISTS oauth2_api_schema (version BIGINT NOT NULL);");
    for (i, migration) in migrations[..version].iter().enumerate() {
        script += migration;
        script += &format!(
            "INSERT INTO oauth2_api_schema (version) VALUES ({});",
            i + 1
        );
    }
    script
        + "INSERT INTO oauth2_api_session (api, environment, user_kind, user_id,
              access_token, refresh_token, expires_at, scopes, token_type,
              error_at, error_kind, error_message, version, updated_at)
           VALUES ('old-api', 'sandbox', 'company', '1', 'old-access', 'old-refresh',
              1900000000123, '[\"read\"]', 'bearer', NULL, NULL, NULL, 3, 1700000000000);
           INSERT INTO oauth2_api_pending (state, api, environment, user_kind, user_id,
              pkce_verifier, scopes, return_to, created_at, expires_at)
           VALUES ('old-state', 'old-api', 'sandbox', 'company', '1', 'old-verifier',
              '[\"hello\"]', '/back', 1700000000000, 4102444800000);
           INSERT INTO oauth2_api_environment (api, user_kind, user_id, environment)
           VALUES ('old-api', 'company', '1', 'live');
           INSERT INTO oauth2_api_lease (api, environment, user_kind, user_id, holder, until)
           VALUES ('old-api', 'sandbox', 'company', '1', 'old-holder', 4102444800000);"
}

/// The rows of [`previous_database`] read and changed through `store`.
async fn previous_rows_read_back(store: &dyn SessionStore) {
    let user = UserRef::new("company", "1");
    let key = SessionKey::new("old-api", "sandbox", user.clone());
    let session = store.load(&key).await.unwrap().expect("the old session");
    assert_eq!(session.version, 3);
    let tokens = session.state.tokens.expect("its tokens");
    assert_eq!(tokens.access_token.expose_secret(), "old-access");
    assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "old-refresh");
    assert_eq!(
        tokens.expires_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_900_000_000_123))
    );
    assert_eq!(tokens.scopes, ["read"]);
    assert!(session.state.last_error.is_none());

    let pending = store.peek_pending("old-state").await.unwrap().unwrap();
    assert_eq!(pending.key, key);
    assert_eq!(pending.pkce_verifier.expose_secret(), "old-verifier");
    assert_eq!(pending.return_to.as_deref(), Some("/back"));
    assert_eq!(pending.browser_binding, None);
    assert!(
        store.rebind_pending("old-state", Some("b1")).await.unwrap(),
        "a pending authorization of schema version 1 gets a browser binding"
    );
    let Consumed::Taken(pending) = store
        .consume_pending("old-state", SystemTime::now())
        .await
        .unwrap()
    else {
        panic!("the old state is consumed once");
    };
    assert_eq!(pending.browser_binding.as_deref(), Some("b1"));

    assert_eq!(
        store
            .environment("old-api", &user)
            .await
            .unwrap()
            .as_deref(),
        Some("live")
    );
    let now = SystemTime::now();
    let until = now + Duration::from_secs(30);
    assert!(!store.acquire_lease(&key, "new", now, until).await.unwrap());
    assert!(
        store
            .acquire_lease(&key, "old-holder", now, until)
            .await
            .unwrap()
    );
}

async fn sqlite_pool(path: &std::path::Path) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    sqlx::SqlitePool::connect_with(options).await.unwrap()
}

type SqliteObject = (String, String, String, Option<String>);

/// The schema of the SQLite file at `path`: every object with the SQL that created it
/// (SQLite keeps the text, rewritten by `ALTER TABLE`), and the schema versions.
async fn sqlite_schema(path: &std::path::Path) -> (Vec<SqliteObject>, Vec<i64>) {
    let pool = sqlite_pool(path).await;
    let objects =
        sqlx::query_as("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    let versions = sqlx::query_scalar("SELECT version FROM oauth2_api_schema ORDER BY version")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    (objects, versions)
}

type PgColumn = (String, String, String, String, Option<String>);

/// The schema of `pg` as the catalog describes it, with the schema's name left out:
/// columns (type, nullability, default), constraints, indexes, and the schema versions.
async fn postgres_schema(
    admin: &sqlx::PgPool,
    pg: &PgSchema,
) -> (
    Vec<PgColumn>,
    Vec<(String, String)>,
    Vec<(String, String)>,
    Vec<i64>,
) {
    let columns = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text,
                column_default::text
         FROM information_schema.columns WHERE table_schema = $1
         ORDER BY table_name::text, ordinal_position",
    )
    .bind(&pg.schema)
    .fetch_all(admin)
    .await
    .unwrap();
    let constraints = sqlx::query_as(
        "SELECT conrelid::regclass::text || '/' || conname::text, pg_get_constraintdef(c.oid)
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = $1 ORDER BY 1",
    )
    .bind(&pg.schema)
    .fetch_all(admin)
    .await
    .unwrap();
    let indexes = sqlx::query_as(
        "SELECT indexname::text, replace(indexdef, $1 || '.', '')
         FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname",
    )
    .bind(&pg.schema)
    .fetch_all(admin)
    .await
    .unwrap();
    let raw = pg.raw().await;
    let versions = sqlx::query_scalar("SELECT version FROM oauth2_api_schema ORDER BY version")
        .fetch_all(&raw)
        .await
        .unwrap();
    raw.close().await;
    let constraints: Vec<(String, String)> = constraints;
    let constraints = constraints
        .into_iter()
        .map(|(name, def)| (name.replace(&format!("{}.", pg.schema), ""), def))
        .collect();
    (columns, constraints, indexes, versions)
}

// The migrations exactly as the store before issue 14 (a `macro_rules!` store with one
// migration list per backend) ran them: a database it created must open unchanged.
const OLD_SQLITE_MIGRATIONS: &[&str] = &[
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

const OLD_POSTGRES_MIGRATIONS: &[&str] = &[
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
