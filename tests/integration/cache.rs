//! The in-process cache of environment choices and usable tokens: calls stop reading
//! the store while it holds, and never use what a write or the API has made stale.

use std::sync::Arc;
use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SessionStore};
use oauth2_api::{AuthorizationReason, Method, Runtime};
use oauth2_api_tests::backends::FlakyStore;
use oauth2_api_tests::{Company, authorize, sandbox_builder};

/// Long enough that no entry ages out during a test, however slow the machine.
const LONG: Duration = Duration::from_secs(3600);

async fn setup(ttl: Duration) -> (Sandbox, Arc<FlakyStore>, Runtime) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = sandbox_builder(&sandbox)
        .shared_store(store.clone())
        .cache_ttl(ttl)
        .build()
        .unwrap();
    (sandbox, store, runtime)
}

async fn hello(runtime: &Runtime, company: &Company) -> Result<u16, oauth2_api::Error> {
    let answer = runtime
        .request(company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await?;
    Ok(answer.status)
}

#[tokio::test]
async fn calls_read_the_store_once_while_the_cache_holds() {
    let (sandbox, store, runtime) = setup(LONG).await;
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    store.reads();
    for _ in 0..20 {
        assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    }
    assert_eq!(store.reads(), (1, 1), "(session loads, environment reads)");
    assert_eq!(sandbox.counts().api, 20);
}

/// When the cache's entries age out under load, one call reads the store again while
/// the others go on: not every call in flight at that moment.
#[tokio::test]
async fn an_aged_entry_is_read_again_once_not_by_every_call_in_flight() {
    let ttl = Duration::from_millis(200);
    let (sandbox, store, runtime) = setup(ttl).await;
    let company = Company(7);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    tokio::time::sleep(ttl).await;
    store.reads();
    // The store is slow: 32 calls start while the first one's read is under way.
    store.delay_reads(Duration::from_millis(50));
    let calls = (0..32).map(|_| hello(&runtime, &company));
    let statuses = crate::regressions_call_paths::futures_join_all(calls).await;
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(200))),
        "{statuses:?}"
    );
    assert_eq!(store.reads(), (1, 1), "(session loads, environment reads)");
    // The entry read again is young: the next calls read nothing.
    store.delay_reads(Duration::ZERO);
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    assert_eq!(store.reads(), (0, 0));
}

#[tokio::test]
async fn a_zero_ttl_reads_the_store_on_every_call() {
    let (sandbox, store, runtime) = setup(Duration::ZERO).await;
    let company = Company(2);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    store.reads();
    for _ in 0..5 {
        assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    }
    assert_eq!(store.reads(), (5, 5));
}

#[tokio::test]
async fn writes_through_the_runtime_store_are_seen_at_once() {
    let (sandbox, _store, runtime) = setup(LONG).await;
    let company = Company(3);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    // The application expires the token in the store itself: the next call refreshes.
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    assert_eq!(sandbox.counts().refresh_token, 1);
    // It deletes the session: the next call asks for authorization.
    let key = runtime.session_key(&company).await.unwrap();
    runtime.store().delete(&key).await.unwrap();
    let err = hello(&runtime, &company).await.unwrap_err();
    assert_eq!(
        err.authorization_required().unwrap().reason,
        AuthorizationReason::NotAuthorized
    );
}

#[tokio::test]
async fn a_choice_of_environment_is_seen_at_once_by_the_runtime_that_made_it() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let production = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let provider =
        oauth2_api_tests::sandbox_provider(&sandbox).environment(oauth2_api::Environment::new(
            "production",
            production.url(),
            production.auth_url(),
            production.token_url(),
        ));
    let runtime = oauth2_api_tests::builder_for(provider)
        .store(MemoryStore::new())
        .cache_ttl(LONG)
        .build()
        .unwrap();
    let company = Company(4);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    runtime
        .select_environment(&company, "production")
        .await
        .unwrap();
    let err = hello(&runtime, &company).await.unwrap_err();
    let required = err.authorization_required().expect("a new session there");
    assert_eq!(&*required.session.environment, "production");
    assert_eq!((sandbox.counts().api, production.counts().api), (1, 0));
}

#[tokio::test]
async fn a_disconnect_by_another_process_is_seen_at_the_next_refusal() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    // Two runtimes on one store stand for two processes: each has its own cache.
    let [one, other] = [(); 2].map(|()| {
        sandbox_builder(&sandbox)
            .shared_store(shared.clone())
            .cache_ttl(LONG)
            .build()
            .unwrap()
    });
    let company = Company(5);
    authorize(&sandbox, &one, &company, &["hello"]).await;
    assert_eq!(hello(&one, &company).await.unwrap(), 200);
    other.disconnect(&company).await.unwrap();
    // `one` still remembers the revoked token: the API refuses it, the store is read
    // again, and it holds no session any more.
    let err = hello(&one, &company).await.unwrap_err();
    assert_eq!(
        err.authorization_required().unwrap().reason,
        AuthorizationReason::NotAuthorized
    );
    assert_eq!(sandbox.counts().refresh_token, 0, "nothing to refresh");
}
