//! The contract every [`SessionStore`] keeps, as an executable suite.
//!
//! Call [`run`] with a fresh store from a test of your backend; it panics with a sentence
//! naming the broken rule. Each check uses its own keys, so the store may hold other data.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use super::{CasOutcome, Consumed, MAX_PENDING_PER_SESSION, SessionStore};
use crate::session::{LastError, PendingAuthorization, SessionKey, SessionState, TokenSet};
use crate::user::UserRef;

/// Runs every check against `store`.
pub async fn run(store: Arc<dyn SessionStore>) {
    let tag = format!("{:x}", rand::random::<u64>());
    sessions_round_trip(&*store, &tag).await;
    compare_and_swap_refuses_stale_versions(&*store, &tag).await;
    concurrent_swaps_have_one_winner(store.clone(), &tag).await;
    replace_writes_whatever_is_stored(&*store, &tag).await;
    pending_is_single_use(&*store, &tag).await;
    concurrent_consumers_have_one_winner(store.clone(), &tag).await;
    expired_pending_is_refused_and_purged(&*store, &tag).await;
    several_pending_per_session(&*store, &tag).await;
    pending_per_session_are_bounded(&*store, &tag).await;
    browser_bindings_round_trip_and_rebind(&*store, &tag).await;
    environments_per_user(&*store, &tag).await;
    leases_exclude_until_expiry(&*store, &tag).await;
}

fn key(tag: &str, user: &str) -> SessionKey {
    SessionKey::new(
        format!("contract-{tag}"),
        "sandbox",
        UserRef::new("company", user),
    )
}

fn tokens(access: &str, refresh: Option<&str>) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access.to_owned()),
        refresh_token: refresh.map(|r| SecretString::from(r.to_owned())),
        expires_at: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_900_000_000_123)),
        scopes: vec!["read:vat".to_owned(), "write:vat".to_owned()],
        token_type: "bearer".to_owned(),
    }
}

fn pending(tag: &str, state: &str, user: &str, expires_in: Duration) -> PendingAuthorization {
    let now = SystemTime::now();
    PendingAuthorization {
        state: format!("{tag}-{state}"),
        key: key(tag, user),
        pkce_verifier: SecretString::from(format!("verifier-{state}")),
        scopes: vec!["hello".to_owned()],
        return_to: Some("/back?x=1".to_owned()),
        browser_binding: None,
        created_at: now,
        expires_at: now + expires_in,
    }
}

async fn sessions_round_trip(store: &dyn SessionStore, tag: &str) {
    let k = key(tag, "round-trip");
    assert!(
        store.load(&k).await.unwrap().is_none(),
        "a new key has no session"
    );
    let error = LastError {
        at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_000),
        kind: "invalid_grant".to_owned(),
        message: "refused".to_owned(),
    };
    let state = SessionState {
        tokens: Some(tokens("access-1", Some("refresh-1"))),
        last_error: Some(error.clone()),
    };
    assert_eq!(
        store.compare_and_swap(&k, 0, &state).await.unwrap(),
        CasOutcome::Written(1)
    );
    let s = store
        .load(&k)
        .await
        .unwrap()
        .expect("a written session loads");
    assert_eq!(s.version, 1);
    assert_eq!(s.key, k);
    let t = s.state.tokens.expect("tokens are kept");
    assert_eq!(t.access_token.expose_secret(), "access-1");
    assert_eq!(t.refresh_token.unwrap().expose_secret(), "refresh-1");
    assert_eq!(
        t.expires_at,
        tokens("", None).expires_at,
        "expiry keeps millisecond precision"
    );
    assert_eq!(t.scopes, ["read:vat", "write:vat"]);
    assert_eq!(t.token_type, "bearer");
    assert_eq!(s.state.last_error, Some(error), "the last error is kept");

    let cleared = SessionState::default();
    assert_eq!(
        store.compare_and_swap(&k, 1, &cleared).await.unwrap(),
        CasOutcome::Written(2)
    );
    let s = store.load(&k).await.unwrap().unwrap();
    assert!(
        s.state.tokens.is_none() && s.state.last_error.is_none(),
        "a cleared session has nothing"
    );

    store.delete(&k).await.unwrap();
    assert!(
        store.load(&k).await.unwrap().is_none(),
        "a deleted session is gone"
    );
    assert_eq!(
        store.compare_and_swap(&k, 0, &state).await.unwrap(),
        CasOutcome::Written(1),
        "a deleted session starts again at version 0"
    );
}

async fn compare_and_swap_refuses_stale_versions(store: &dyn SessionStore, tag: &str) {
    let k = key(tag, "cas");
    let first = SessionState {
        tokens: Some(tokens("a1", Some("r1"))),
        last_error: None,
    };
    let second = SessionState {
        tokens: Some(tokens("a2", Some("r2"))),
        last_error: None,
    };
    assert_eq!(
        store.compare_and_swap(&k, 0, &first).await.unwrap(),
        CasOutcome::Written(1)
    );
    assert_eq!(
        store.compare_and_swap(&k, 0, &second).await.unwrap(),
        CasOutcome::Conflict,
        "inserting over an existing session conflicts"
    );
    assert_eq!(
        store.compare_and_swap(&k, 1, &second).await.unwrap(),
        CasOutcome::Written(2)
    );
    assert_eq!(
        store.compare_and_swap(&k, 1, &first).await.unwrap(),
        CasOutcome::Conflict,
        "a stale version conflicts"
    );
    let s = store.load(&k).await.unwrap().unwrap();
    assert_eq!(
        s.state
            .tokens
            .unwrap()
            .refresh_token
            .unwrap()
            .expose_secret(),
        "r2",
        "a conflicting write changes nothing"
    );
}

async fn replace_writes_whatever_is_stored(store: &dyn SessionStore, tag: &str) {
    let k = key(tag, "replace");
    let granted = |access: &str| SessionState {
        tokens: Some(tokens(access, Some("r"))),
        last_error: None,
    };
    let first = store.replace(&k, &granted("a1")).await.unwrap();
    assert!(
        first >= 1,
        "replace on no session gives a version, got {first}"
    );
    let second = store.replace(&k, &granted("a2")).await.unwrap();
    assert!(
        second > first,
        "replace bumps the version ({first} then {second})"
    );
    let loaded = store
        .load(&k)
        .await
        .unwrap()
        .expect("replace stored a session");
    assert_eq!(
        loaded.version, second,
        "load sees the version replace returned"
    );
    let access = loaded.state.tokens.unwrap().access_token;
    assert_eq!(access.expose_secret(), "a2", "replace stores the new state");
    let stale = store.compare_and_swap(&k, first, &granted("a3")).await;
    assert_eq!(
        stale.unwrap(),
        CasOutcome::Conflict,
        "a version read before a replace is stale after it"
    );
}

async fn concurrent_swaps_have_one_winner(store: Arc<dyn SessionStore>, tag: &str) {
    let k = key(tag, "cas-race");
    let base = SessionState::default();
    store.compare_and_swap(&k, 0, &base).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (store, k) = (store.clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            let state = SessionState {
                tokens: Some(tokens(&format!("a{i}"), None)),
                last_error: None,
            };
            store.compare_and_swap(&k, 1, &state).await.unwrap()
        }));
    }
    let mut written = 0;
    for t in tasks {
        if let CasOutcome::Written(v) = t.await.unwrap() {
            assert_eq!(v, 2);
            written += 1;
        }
    }
    assert_eq!(
        written, 1,
        "exactly one of 16 concurrent swaps from one version wins"
    );
}

async fn pending_is_single_use(store: &dyn SessionStore, tag: &str) {
    let p = pending(tag, "single", "u1", Duration::from_secs(600));
    store.insert_pending(&p).await.unwrap();
    assert!(
        store.insert_pending(&p).await.is_err(),
        "a duplicate state is refused"
    );
    let peeked = store
        .peek_pending(&p.state)
        .await
        .unwrap()
        .expect("peek finds it");
    assert_eq!(peeked.key, p.key);
    assert_eq!(peeked.pkce_verifier.expose_secret(), "verifier-single");
    assert_eq!(peeked.return_to.as_deref(), Some("/back?x=1"));
    assert_eq!(peeked.scopes, ["hello"]);
    match store
        .consume_pending(&p.state, SystemTime::now())
        .await
        .unwrap()
    {
        Consumed::Taken(t) => assert_eq!(t.state, p.state),
        other => panic!("the first consume takes the state, got {other:?}"),
    }
    assert!(
        matches!(
            store
                .consume_pending(&p.state, SystemTime::now())
                .await
                .unwrap(),
            Consumed::AlreadyUsed
        ),
        "a second consume sees it used"
    );
    assert!(
        matches!(
            store
                .consume_pending("no-such-state", SystemTime::now())
                .await
                .unwrap(),
            Consumed::Unknown
        ),
        "an unknown state is unknown"
    );
    assert!(
        store
            .pending_for(&p.key, SystemTime::now())
            .await
            .unwrap()
            .is_empty(),
        "a used state is no longer pending"
    );
}

async fn concurrent_consumers_have_one_winner(store: Arc<dyn SessionStore>, tag: &str) {
    let p = pending(tag, "race", "u2", Duration::from_secs(600));
    store.insert_pending(&p).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (store, state) = (store.clone(), p.state.clone());
        tasks.push(tokio::spawn(async move {
            store
                .consume_pending(&state, SystemTime::now())
                .await
                .unwrap()
        }));
    }
    let mut taken = 0;
    for t in tasks {
        if let Consumed::Taken(_) = t.await.unwrap() {
            taken += 1;
        }
    }
    assert_eq!(
        taken, 1,
        "exactly one of 16 concurrent consumers takes the state"
    );
}

async fn expired_pending_is_refused_and_purged(store: &dyn SessionStore, tag: &str) {
    let p = pending(tag, "expired", "u3", Duration::from_millis(1));
    store.insert_pending(&p).await.unwrap();
    let later = p.expires_at + Duration::from_secs(1);
    assert!(
        store.pending_for(&p.key, later).await.unwrap().is_empty(),
        "expired is not pending"
    );
    assert!(
        matches!(
            store.consume_pending(&p.state, later).await.unwrap(),
            Consumed::Expired
        ),
        "an expired state is refused as expired"
    );
    let purged = store.purge_pending(later).await.unwrap();
    assert!(purged >= 1, "purge removes expired states");
    assert!(
        store.peek_pending(&p.state).await.unwrap().is_none(),
        "a purged state is gone"
    );
}

async fn several_pending_per_session(store: &dyn SessionStore, tag: &str) {
    let a = pending(tag, "many-a", "u4", Duration::from_secs(600));
    let mut b = pending(tag, "many-b", "u4", Duration::from_secs(600));
    b.created_at += Duration::from_millis(5);
    let other = pending(tag, "many-c", "u5", Duration::from_secs(600));
    for p in [&a, &b, &other] {
        store.insert_pending(p).await.unwrap();
    }
    let found = store.pending_for(&a.key, SystemTime::now()).await.unwrap();
    let states: Vec<_> = found.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(
        states,
        [a.state.as_str(), b.state.as_str()],
        "both pending, oldest first, no other user's"
    );
}

async fn pending_per_session_are_bounded(store: &dyn SessionStore, tag: &str) {
    let first = pending(tag, "bound-0", "u6", Duration::from_secs(600));
    let other = pending(tag, "bound-other", "u7", Duration::from_secs(600));
    store.insert_pending(&other).await.unwrap();
    let total = MAX_PENDING_PER_SESSION + 4;
    for i in 0..total {
        let mut p = pending(tag, &format!("bound-{i}"), "u6", Duration::from_secs(600));
        p.created_at = first.created_at + Duration::from_millis(i as u64);
        store.insert_pending(&p).await.unwrap();
    }
    let kept = store
        .pending_for(&first.key, SystemTime::now())
        .await
        .unwrap();
    let states: Vec<_> = kept.iter().map(|p| p.state.clone()).collect();
    let newest: Vec<_> = (total - MAX_PENDING_PER_SESSION..total)
        .map(|i| format!("{tag}-bound-{i}"))
        .collect();
    assert_eq!(
        states, newest,
        "a session keeps its newest pending authorizations only"
    );
    assert!(
        store.peek_pending(&first.state).await.unwrap().is_none(),
        "the oldest is deleted, not just hidden"
    );
    assert_eq!(
        store
            .pending_for(&other.key, SystemTime::now())
            .await
            .unwrap()
            .len(),
        1,
        "another session's are untouched"
    );
}

async fn browser_bindings_round_trip_and_rebind(store: &dyn SessionStore, tag: &str) {
    let mut p = pending(tag, "bound-browser", "u8", Duration::from_secs(600));
    p.browser_binding = Some("ab".repeat(32));
    store.insert_pending(&p).await.unwrap();
    let peeked = store.peek_pending(&p.state).await.unwrap().unwrap();
    assert_eq!(
        peeked.browser_binding, p.browser_binding,
        "the binding round-trips"
    );
    let other = "cd".repeat(32);
    assert!(store.rebind_pending(&p.state, Some(&other)).await.unwrap());
    let peeked = store.peek_pending(&p.state).await.unwrap().unwrap();
    assert_eq!(
        peeked.browser_binding.as_deref(),
        Some(other.as_str()),
        "rebound"
    );
    assert!(matches!(
        store
            .consume_pending(&p.state, SystemTime::now())
            .await
            .unwrap(),
        Consumed::Taken(_)
    ));
    assert!(
        !store.rebind_pending(&p.state, None).await.unwrap(),
        "a used state is not rebound"
    );
    assert!(!store.rebind_pending("no-such-state", None).await.unwrap());
}

async fn environments_per_user(store: &dyn SessionStore, tag: &str) {
    let api = format!("contract-{tag}");
    let (one, two) = (UserRef::new("company", "1"), UserRef::new("company", "2"));
    assert_eq!(store.environment(&api, &one).await.unwrap(), None);
    store.set_environment(&api, &one, "sandbox").await.unwrap();
    store
        .set_environment(&api, &two, "production")
        .await
        .unwrap();
    store
        .set_environment(&api, &one, "production")
        .await
        .unwrap();
    assert_eq!(
        store.environment(&api, &one).await.unwrap().as_deref(),
        Some("production")
    );
    assert_eq!(
        store.environment(&api, &two).await.unwrap().as_deref(),
        Some("production")
    );
    assert_eq!(
        store.environment("other-api", &one).await.unwrap(),
        None,
        "choices are per provider"
    );
}

async fn leases_exclude_until_expiry(store: &dyn SessionStore, tag: &str) {
    let k = key(tag, "lease");
    let now = SystemTime::now();
    let until = now + Duration::from_secs(30);
    assert!(
        store.acquire_lease(&k, "a", now, until).await.unwrap(),
        "a free lease is taken"
    );
    assert!(
        store.acquire_lease(&k, "a", now, until).await.unwrap(),
        "the holder may take it again"
    );
    assert!(
        !store.acquire_lease(&k, "b", now, until).await.unwrap(),
        "a held lease excludes others"
    );
    store.release_lease(&k, "b").await.unwrap();
    assert!(
        !store.acquire_lease(&k, "b", now, until).await.unwrap(),
        "only the holder releases"
    );
    store.release_lease(&k, "a").await.unwrap();
    assert!(
        store.acquire_lease(&k, "b", now, until).await.unwrap(),
        "a released lease is free"
    );
    let after = until + Duration::from_millis(1);
    assert!(
        store
            .acquire_lease(&k, "c", after, after + Duration::from_secs(30))
            .await
            .unwrap(),
        "an expired lease is free"
    );
    assert!(
        !store.acquire_lease(&k, "b", after, after).await.unwrap(),
        "and now c holds it"
    );
}
