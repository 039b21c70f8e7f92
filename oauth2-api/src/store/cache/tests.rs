//! The call cache's own promises, on a memory store and tokio's paused clock.

use secrecy::ExposeSecret;

use super::*;
use crate::store::MemoryStore;

fn tokens() -> Usable {
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
    assert!(cache.tokens(&key()).is_some());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(
        cache.environment_of("API", &user).await.unwrap().as_deref(),
        Some("production")
    );
    assert!(cache.tokens(&key()).is_none());
}

/// An aged entry: the first call to find it reads the store again; the calls after it
/// go on with it until that read lands, or, if it never does, until the turn passes to
/// the next call a time to live later. A write, or a read that finds the token no longer
/// usable, ends it at once.
#[tokio::test(start_paused = true)]
async fn one_call_reads_an_aged_entry_again_while_the_others_go_on() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(1));
    let (user, default): (UserRef, Arc<str>) = (key().user, "sandbox".into());
    let hello = ScopeSet::declared(&["hello"]);
    let found = |cache: &CachedStore| cache.call(&user, &default, &hello).is_some();
    let second = Duration::from_secs(1);
    cache.environment_of("API", &user).await.unwrap();
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&user));
    tokio::time::advance(second).await;
    assert!(
        !found(&cache),
        "the first call to find it aged reads it again"
    );
    assert!(found(&cache) && found(&cache), "the others go on meanwhile");
    // The read lands: young again, and aging out as before.
    cache.environment_of("API", &user).await.unwrap();
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&user));
    assert!(found(&cache));
    tokio::time::advance(second).await;
    assert!(!found(&cache));
    // A read that never lands (its call dropped, the store down): a time to live later
    // the next call takes the turn.
    tokio::time::advance(second - Duration::from_millis(1)).await;
    assert!(found(&cache));
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(!found(&cache) && found(&cache));
    // A read that finds the token unusable, or a write, ends it for every call.
    cache.drop_tokens(&key());
    assert!(!found(&cache) && !found(&cache));
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&user));
    cache.delete(&key()).await.unwrap();
    assert!(!found(&cache) && !found(&cache));
}

/// A write to one user's session throws away a read in progress for that user, not
/// for the others.
#[tokio::test]
async fn a_write_throws_away_reads_of_its_own_user_only() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    let users: Vec<UserRef> = (0..200)
        .map(|i| UserRef::new("company", i.to_string()))
        .collect();
    let keys: Vec<SessionKey> = (users.iter())
        .map(|u| SessionKey::new("API", "sandbox", u.clone()))
        .collect();
    let epochs: Vec<Epoch> = users.iter().map(|u| cache.epoch(u)).collect();
    cache.delete(&keys[0]).await.unwrap();
    for (key, epoch) in keys.iter().zip(epochs) {
        cache.remember_tokens(key, &tokens(), epoch);
    }
    let kept = keys.iter().filter(|k| cache.tokens(k).is_some()).count();
    assert!(
        cache.tokens(&keys[0]).is_none(),
        "the written user's read is not kept"
    );
    // Users sharing the written user's group lose theirs too: a few in 200.
    assert!(kept >= 180, "{kept} of 199 other users' reads kept");
}

/// A refused token is kept as refused until another is remembered.
#[tokio::test]
async fn a_refusal_is_kept_until_another_token_is_remembered() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    cache.refused(&key(), "a");
    assert!(cache.tokens(&key()).is_none());
    let refused = cache
        .refused_token(&key())
        .map(|t| t.expose_secret().to_owned());
    assert_eq!(refused.as_deref(), Some("a"));
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    assert!(cache.refused_token(&key()).is_none());
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
    assert!(cache.tokens(&key()).is_none());
}

/// A time to live too long to add to an instant (`Duration::MAX`) remembers until a
/// write, and panics nothing.
#[tokio::test]
async fn the_longest_time_to_live_is_until_a_write() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::MAX);
    let user = key().user;
    assert_eq!(cache.environment_of("API", &user).await.unwrap(), None);
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    assert!(cache.tokens(&key()).is_some());
    cache.delete(&key()).await.unwrap();
    assert!(cache.tokens(&key()).is_none());
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
    assert!(cache.tokens(&key()).is_none());
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    assert!(cache.tokens(&key()).is_some());
    cache.forget_tokens(&key());
    assert!(cache.tokens(&key()).is_none());
}

#[tokio::test]
async fn a_zero_ttl_remembers_nothing() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::ZERO);
    cache.remember_tokens(&key(), &tokens(), cache.epoch(&key().user));
    assert!(cache.tokens(&key()).is_none());
}
