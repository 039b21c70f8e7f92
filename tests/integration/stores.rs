use std::sync::Arc;

use oauth2_api::store::{MemoryStore, SqliteStore, contract};

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
