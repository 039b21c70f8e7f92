//! The call cache's own promises, on a memory store and tokio's paused clock.

use super::*;
use crate::store::MemoryStore;

pub(super) static HELLO: ScopeSet = ScopeSet::declared(&["hello"]);

/// A usable token for the scope `hello`: the review modules' too.
pub(super) fn tokens() -> Usable {
    Usable {
        bearer: crate::session::Bearer::new(Arc::new(crate::TokenSet {
            access_token: "a".to_owned().into(),
            refresh_token: None,
            expires_at: None,
            scopes: vec!["hello".to_owned()],
            token_type: "bearer".to_owned(),
        })),
        renew_at: None,
    }
}

pub(super) fn key_of(user: &str) -> SessionKey {
    SessionKey::new("API", "sandbox", UserRef::new("company", user))
}

fn key() -> SessionKey {
    SessionKey::new("API", "sandbox", UserRef::new("company", "1"))
}

#[tokio::test(start_paused = true)]
async fn entries_age_out_after_the_ttl() {
    let shared = Arc::new(MemoryStore::new());
    let cache = CachedStore::new(shared.clone(), Duration::from_secs(1));
    let user = UserRef::new("company", "1");
    assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    // Another process chooses an environment: not seen while the entry is young.
    shared
        .set_environment("API", &user, "production")
        .await
        .unwrap();
    tokio::time::advance(Duration::from_millis(999)).await;
    assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
    assert!(cache.tokens(&key(), &HELLO).is_some());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(
        cache.environment_of("API", &user).await.unwrap().as_deref(),
        Some("production")
    );
    assert!(cache.tokens(&key(), &HELLO).is_none());
}

/// An aged entry: the common call takes no turn and goes the general way; there the
/// first call to find it aged reads the store again, and the calls after it go on with
/// it until that read lands, or, if it never does, until the turn passes to the next
/// call a time to live later. A write, or a read that finds the token unusable, ends it.
#[tokio::test(start_paused = true)]
async fn one_call_reads_an_aged_entry_again_while_the_others_go_on() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(1));
    let (user, default): (UserRef, Arc<str>) = (key().user, "sandbox".into());
    let found = |cache: &CachedStore| cache.tokens(&key(), &HELLO).is_some();
    let second = Duration::from_secs(1);
    cache.environment_of("API", &user).await.unwrap();
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&user));
    assert!(cache.call(&user, &default, &HELLO).is_some());
    tokio::time::advance(second).await;
    assert!(
        cache.call(&user, &default, &HELLO).is_none(),
        "no turn taken"
    );
    assert!(
        !found(&cache),
        "the first call to find it aged reads it again"
    );
    assert!(found(&cache) && found(&cache), "the others go on meanwhile");
    // The read lands: young again, and aging out as before.
    cache.environment_of("API", &user).await.unwrap();
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&user));
    assert!(found(&cache) && cache.call(&user, &default, &HELLO).is_some());
    tokio::time::advance(second).await;
    assert!(!found(&cache));
    // A read that never lands (its call dropped, the store down): a time to live later
    // the next call takes the turn.
    tokio::time::advance(second - Duration::from_millis(1)).await;
    assert!(found(&cache));
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(!found(&cache) && found(&cache));
    // A read that finds the token unusable, or a write, ends it for every call.
    cache.forget_tokens(&key());
    assert!(!found(&cache) && !found(&cache));
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&user));
    cache.delete(&key()).await.unwrap();
    assert!(!found(&cache) && !found(&cache));
}

/// A read that a write (or a read finding the token unusable) overtook is not
/// remembered, and takes what was held with it; writes to other users change nothing.
#[tokio::test]
async fn a_write_throws_away_reads_of_its_own_user_only() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    let users: Vec<UserRef> = (0..200)
        .map(|i| UserRef::new("company", i.to_string()))
        .collect();
    let keys: Vec<SessionKey> = (users.iter())
        .map(|u| SessionKey::new("API", "sandbox", u.clone()))
        .collect();
    cache.remember_tokens(&keys[0], &tokens(), cache.epoch(&users[0]));
    let epochs: Vec<Epoch> = users.iter().map(|u| cache.epoch(u)).collect();
    cache.forget_tokens(&keys[0]);
    for (key, epoch) in keys.iter().zip(epochs) {
        cache.remember_tokens(key, &tokens(), epoch);
    }
    assert!(
        cache.tokens(&keys[0], &HELLO).is_none(),
        "overtaken: not kept"
    );
    let kept = keys
        .iter()
        .filter(|k| cache.tokens(k, &HELLO).is_some())
        .count();
    assert_eq!(kept, 199, "every other user's read is kept");
}

/// Refused tokens are kept as refused, a few per session: a late refusal of an older
/// token does not push out the newer one.
#[tokio::test]
async fn refused_tokens_are_kept_a_few_per_session() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    cache.refused(&key(), "a");
    assert!(cache.tokens(&key(), &HELLO).is_none());
    cache.refused(&key(), "older");
    assert!(cache.is_refused(&key(), "a", None) && cache.is_refused(&key(), "older", None));
    assert!(!cache.is_refused(&key(), "b", None));
    let other = SessionKey::new("API", "production", key().user);
    assert!(!cache.is_refused(&other, "a", None));
    // As stored: at the version that held it, not at a later one (a session written
    // since, by any process, holds even the same string anew).
    cache.refused_at(&key(), "a", 7);
    assert!(cache.is_refused(&key(), "a", Some(7)) && !cache.is_refused(&key(), "a", Some(8)));
    assert!(
        cache.is_refused(&key(), "older", Some(8)),
        "held where, unknown"
    );
}

/// A cache full of users in use makes room by dropping some of them, not all.
#[tokio::test]
async fn a_full_cache_drops_some_users_not_all() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    let keys: Vec<SessionKey> = (0..=entries::CAPACITY)
        .map(|i| SessionKey::new("API", "sandbox", UserRef::new("company", i.to_string())))
        .collect();
    for key in &keys {
        cache.remember_tokens(key, &tokens(), cache.epoch(&key.user));
    }
    let kept = keys
        .iter()
        .filter(|k| cache.tokens(k, &HELLO).is_some())
        .count();
    assert!(kept > entries::CAPACITY * 7 / 8, "{kept} kept");
    assert!(
        cache.tokens(keys.last().unwrap(), &HELLO).is_some(),
        "the newest"
    );
}

/// A token is not served past its renewal time by the wall clock, whatever the time
/// to live (the monotonic clock stands still while a machine is suspended).
#[tokio::test]
async fn a_token_is_not_served_past_its_renewal_time() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(3600));
    let (user, default): (UserRef, Arc<str>) = (key().user, "sandbox".into());
    cache.environment_of("API", &user).await.unwrap();
    let hello = ScopeSet::declared(&["hello"]);
    let mut usable = tokens();
    usable.renew_at = Some(SystemTime::now() + Duration::from_secs(60));
    cache.remember_tokens(&key(), &usable, cache.epoch(&key().user));
    assert!(cache.call(&user, &default, &hello).is_some());
    // Remembered while fresh, due now: as after a suspend, or a step of the clock.
    usable.renew_at = Some(SystemTime::now() - Duration::from_secs(1));
    cache.remember_tokens(&key(), &usable, cache.epoch(&key().user));
    assert!(cache.call(&user, &default, &hello).is_none());
    assert!(cache.tokens(&key(), &HELLO).is_none());
}

/// A time to live too long to add to an instant (`Duration::MAX`) remembers until a
/// write, and panics nothing.
#[tokio::test]
async fn the_longest_time_to_live_is_until_a_write() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::MAX);
    let user = key().user;
    assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    assert!(cache.tokens(&key(), &HELLO).is_some());
    cache.delete(&key()).await.unwrap();
    assert!(cache.tokens(&key(), &HELLO).is_none());
}

/// What a call needs comes in one look, and only when both parts are there: the
/// environment read and a token there covering the call's scopes.
#[tokio::test]
async fn a_call_finds_its_environment_and_token_together() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    let (user, default): (UserRef, Arc<str>) = (key().user, "sandbox".into());
    let hello = ScopeSet::declared(&["hello"]);
    let found = |cache: &CachedStore, scopes: &ScopeSet| {
        let found = cache.call(&user, &default, scopes);
        found.map(|ready| ready.key.environment.to_string())
    };
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    assert_eq!(
        found(&cache, &hello),
        None,
        "the environment is not read yet"
    );
    assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
    assert_eq!(found(&cache, &hello).as_deref(), Some("sandbox"));
    assert_eq!(found(&cache, &ScopeSet::declared(&["write"])), None);
    // Another environment chosen: its session holds no token yet.
    cache
        .set_environment("API", &user, "production")
        .await
        .unwrap();
    assert_eq!(found(&cache, &hello), None);
    assert_eq!(
        cache.environment_of("API", &user).await.unwrap().as_deref(),
        Some("production")
    );
    assert_eq!(found(&cache, &hello), None);
    let production = SessionKey::new("API", "production", user.clone());
    cache.remember_tokens(&production, &tokens(), cache.epoch(&key().user));
    assert_eq!(found(&cache, &hello).as_deref(), Some("production"));
    cache.forget_tokens(&production);
    assert_eq!(found(&cache, &hello), None);
}

#[tokio::test]
async fn a_read_older_than_a_write_is_not_remembered() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    let before_write = cache.epoch(&key().user);
    cache.delete(&key()).await.unwrap();
    cache.remember_tokens(&key(), &tokens(), before_write);
    assert!(cache.tokens(&key(), &HELLO).is_none());
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    assert!(cache.tokens(&key(), &HELLO).is_some());
    cache.forget_tokens(&key());
    assert!(cache.tokens(&key(), &HELLO).is_none());
}

#[tokio::test]
async fn a_zero_ttl_remembers_nothing() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::ZERO);
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    assert!(cache.tokens(&key(), &HELLO).is_none());
}
