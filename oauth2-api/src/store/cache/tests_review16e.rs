//! Review 16e: the call cache's promises at its bounds (README "The cache holds up to
//! 100,000 users; beyond that it drops those it holds nothing young for, then an eighth
//! of the rest"; `RuntimeBuilder::cache_ttl`: "a token the API refuses is not sent again
//! by this runtime"). Tests whose doc comment begins `Found:` failed at the time of the
//! review and say what was found.

use super::*;
use crate::store::MemoryStore;

use super::tests::{HELLO, key_of, tokens};

/// Found: refused tokens are never forgotten once their renewal is written
/// (`entries.rs` `Entries::refuse`), so the record fills up over a runtime's life: one
/// session per 401 ever answered. At 100,000 sessions the next refusal clears it whole,
/// the session being renewed at that moment included: calls that read its refused token
/// from the store before the renewal is written take it as fresh, remember it and send
/// it again (the 401s 16c and 16d fixed, back on a long-running server).
#[tokio::test]
async fn a_refused_token_stays_refused_however_many_were_refused_before() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    // Over the runtime's life, other sessions had a token refused (renewed long since).
    for i in 0..entries::CAPACITY - 1 {
        cache.refused(&key_of(&format!("earlier-{i}")), "old");
    }
    // This session's token is refused now, and is being renewed.
    let renewing = key_of("renewing");
    cache.refused(&renewing, "refused");
    // Meanwhile another session's token is refused.
    cache.refused(&key_of("meanwhile"), "other");
    assert!(
        cache.is_refused(&renewing, "refused", None),
        "the token being renewed is no longer known as refused"
    );
}

/// Found: making room bumps one count for the whole cache (`Entries::remembered`,
/// `evictions`): every read in progress, of any user, is then thrown away, and
/// `remember_tokens` forgets what it held for its user too, although that user was
/// kept. A full cache whose oldest users age out one by one makes room at nearly every
/// new user (only the aged are dropped, a few each time): each time, every call reading
/// the store for a user the cache keeps reads in vain, and its next call reads again.
/// README: the cache "drops those it holds nothing young for", not the reads of the
/// others.
#[tokio::test(start_paused = true)]
async fn making_room_does_not_throw_away_reads_of_users_kept() {
    let ttl = Duration::from_secs(1);
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), ttl);
    for i in 0..entries::CAPACITY - 1 {
        let key = key_of(&format!("aged-{i}"));
        cache.remember_tokens(&key, &tokens(), cache.epoch(&key.user));
    }
    tokio::time::advance(ttl * 2).await;
    // A user in use: its environment was just read, its token is being read.
    let kept = key_of("kept");
    let default: Arc<str> = "sandbox".into();
    cache.environment_of("API", &kept.user).await.unwrap();
    let reading = cache.epoch(&kept.user);
    // A new user arrives: the cache is full, and drops the users it holds nothing
    // young for.
    let newcomer = UserRef::new("company", "newcomer");
    cache.environment_of("API", &newcomer).await.unwrap();
    // The kept user's read lands.
    cache.remember_tokens(&kept, &tokens(), reading);
    assert!(
        cache.tokens(&kept, &HELLO).is_some() && cache.call(&kept.user, &default, &HELLO).is_some(),
        "the read of a user the cache kept was thrown away"
    );
}
