//! The PostgreSQL store: the contract, many instances and processes sharing sessions,
//! a killed lease holder, encryption at rest.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2_api::sandbox::{Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::{SqliteStore, TokenCipher, contract};
use oauth2_api::{CallbackParams, ExposeSecret, Method, Runtime, TokenSet};
use oauth2_api_tests::{Company, PgSchema, authorize, sandbox_builder};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_keeps_the_contract() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    contract::run(Arc::new(pg.store().await)).await;
    pg.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn encrypted_stores_keep_the_contract() {
    let cipher = TokenCipher::new("k1", [7; 32]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("s.db"))
        .await
        .unwrap()
        .with_encryption(cipher.clone());
    contract::run(Arc::new(sqlite)).await;
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    contract::run(Arc::new(pg.store().await.with_encryption(cipher))).await;
    pg.drop().await;
}

#[tokio::test]
async fn schemas_are_created_once_by_concurrent_instances() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let (a, b, c) = tokio::join!(pg.store(), pg.store(), pg.store());
    drop((a, b, c));
    pg.drop().await;
}

#[tokio::test]
async fn a_callback_begun_on_one_instance_completes_on_another() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let one = sandbox_builder(&sandbox)
        .store(pg.store().await)
        .build()
        .unwrap();
    let two = sandbox_builder(&sandbox)
        .store(pg.store().await)
        .build()
        .unwrap();
    let company = Company(1);
    let request = one
        .begin_authorization(&company, &["hello"], Some("/back"))
        .await
        .unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    let done = two
        .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
    assert_eq!(done.return_to.as_deref(), Some("/back"));
    let answer = one
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status, 200,
        "instance one uses the tokens instance two stored"
    );
    let replay = one
        .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
        .await;
    assert!(replay.is_err(), "and the state is used for both");
    pg.drop().await;
}

/// Another application instance: the `session_child` program, making `calls` calls.
fn child(calls: usize, lease: Duration, pg: &PgSchema, sandbox: &Sandbox) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session_child"));
    command
        .args([calls.to_string(), lease.as_millis().to_string()])
        .env("DATABASE_URL", &pg.url)
        .env("CHILD_SCHEMA", &pg.schema)
        .env("CHILD_SANDBOX", sandbox.url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

fn successes(output: &std::process::Output) -> usize {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.split_once("CHILD-OK ").map(|(_, n)| n))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("the child printed no result: {stdout}"))
}

#[tokio::test]
async fn four_processes_fifty_calls_each_refresh_once() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(pg.store().await)
        .build()
        .unwrap();
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let before = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;

    let started = Instant::now();
    let children: Vec<_> = (0..4)
        .map(|_| {
            child(50, Duration::from_secs(30), &pg, &sandbox)
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    let total: usize = outputs.iter().map(successes).sum();
    assert_eq!(total, 200, "every call of every process succeeded");
    assert_eq!(
        sandbox.counts().refresh_token,
        1,
        "exactly one refresh across four processes"
    );
    let after = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    assert_ne!(
        after.refresh_token.unwrap().expose_secret(),
        before.refresh_token.unwrap().expose_secret(),
        "the store holds the rotated refresh token"
    );
    eprintln!(
        "MEASURED four_processes: 200 calls, {} refresh, {elapsed:?} including process start",
        sandbox.counts().refresh_token
    );
    pg.drop().await;
}

#[tokio::test]
async fn a_killed_lease_holder_blocks_no_one_past_the_lease() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let lease = Duration::from_secs(2);
    let runtime = sandbox_builder(&sandbox)
        .store(pg.store().await)
        .lease_ttl(lease)
        .build()
        .unwrap();
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;

    // The holder's refresh request hangs at the provider; we kill it while it holds the lease.
    sandbox.fail_next_token_request(TokenFault::Delay(Duration::from_secs(30)));
    let mut holder = child(1, lease, &pg, &sandbox).spawn().unwrap();
    while sandbox.counts().refresh_token == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    let killed = Instant::now();

    let answer = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    let waited = killed.elapsed();
    assert_eq!(
        answer.status, 200,
        "the call waited for the lease instead of failing"
    );
    assert_eq!(
        sandbox.counts().refresh_token,
        2,
        "the survivor refreshed after the lease expired"
    );
    eprintln!("MEASURED killed_holder: lease {lease:?}, call completed {waited:?} after the kill");
    pg.drop().await;
}

#[tokio::test]
async fn encrypted_tables_hold_no_plaintext() {
    let cipher = || TokenCipher::new("2026-11", [42; 32]).unwrap();
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let company = Company(1);

    // SQLite.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let runtime = sandbox_builder(&sandbox)
        .store(
            SqliteStore::open(&path)
                .await
                .unwrap()
                .with_encryption(cipher()),
        )
        .build()
        .unwrap();
    let tokens = tokens_and_a_pending_state(&sandbox, &runtime, &company).await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let raw: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT access_token, refresh_token FROM oauth2_api_session")
            .fetch_all(&pool)
            .await
            .unwrap();
    let verifiers: Vec<(String,)> = sqlx::query_as("SELECT pkce_verifier FROM oauth2_api_pending")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_sealed(&raw, &verifiers, &tokens);
    let wrong = SqliteStore::open(&path)
        .await
        .unwrap()
        .with_encryption(TokenCipher::new("2026-11", [0; 32]).unwrap());
    let key = runtime.session_key(&company).await.unwrap();
    let err = oauth2_api::store::SessionStore::load(&wrong, &key)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("wrong key"), "{err}");

    // PostgreSQL.
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let runtime = sandbox_builder(&sandbox)
        .store(pg.store().await.with_encryption(cipher()))
        .build()
        .unwrap();
    let tokens = tokens_and_a_pending_state(&sandbox, &runtime, &company).await;
    let pool = pg.raw().await;
    let raw: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT access_token, refresh_token FROM oauth2_api_session")
            .fetch_all(&pool)
            .await
            .unwrap();
    let verifiers: Vec<(String,)> = sqlx::query_as("SELECT pkce_verifier FROM oauth2_api_pending")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_sealed(&raw, &verifiers, &tokens);
    let plain = pg.store().await;
    let err = oauth2_api::store::SessionStore::load(&plain, &key)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("configure the key"), "{err}");
    pg.drop().await;
}

fn assert_sealed(
    raw: &[(Option<String>, Option<String>)],
    verifiers: &[(String,)],
    tokens: &oauth2_api::TokenSet,
) {
    assert_eq!(raw.len(), 1);
    let (access, refresh) = &raw[0];
    let (access, refresh) = (access.as_deref().unwrap(), refresh.as_deref().unwrap());
    assert!(access.starts_with("enc:v1:2026-11:") && refresh.starts_with("enc:v1:2026-11:"));
    for column in [access, refresh] {
        assert!(!column.contains(tokens.access_token.expose_secret()));
        assert!(!column.contains(tokens.refresh_token.as_ref().unwrap().expose_secret()));
    }
    assert!(!verifiers.is_empty());
    assert!(
        verifiers.iter().all(|(v,)| v.starts_with("enc:v1:")),
        "PKCE verifiers are sealed too"
    );
}

/// Authorizes `company`, then begins another authorization (so a PKCE verifier is
/// stored), and returns the tokens the runtime holds.
async fn tokens_and_a_pending_state(
    sandbox: &Sandbox,
    runtime: &Runtime,
    company: &Company,
) -> TokenSet {
    authorize(sandbox, runtime, company, &["hello"]).await;
    runtime
        .begin_authorization(company, &["hello"], None)
        .await
        .unwrap();
    oauth2_api_tests::stored_tokens(runtime, company).await
}
