//! Review 16f: a write dropped midway (README "a write dropped midway may still land
//! later ..., so for one TTL (at most a minute) nothing read for its user is kept"), at
//! the edge of that window and when the cache makes room. Tests whose doc comment begins
//! `Found:` failed at the time of the review and say what was found.

use super::*;
use crate::store::MemoryStore;

use super::tests::{HELLO, key_of, tokens};

/// Found: the window of a dropped write is checked when a read lands, not when it
/// started (`entries.rs` `Entries::is_current`: `now >= until`). A read that started
/// inside the window (before the dropped statement landed, so it saw the old row) and
/// lands just after it is remembered, aging from its start: with a time to live of an
/// hour, the row as it was before the write (a token since deleted or replaced) is
/// served for an hour. README: "for one TTL (at most a minute) nothing read for its user
/// is kept".
#[tokio::test(start_paused = true)]
async fn a_read_started_while_a_dropped_write_may_land_is_not_kept() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(3600));
    let key = key_of("1");
    // A disconnect through this runtime, dropped midway: it may land within a minute.
    cache.written(Written::Session(&key), false);
    tokio::time::advance(Duration::from_secs(59)).await;
    // A call reads the session (the old row: the delete has not landed yet) ...
    let reading = cache.epoch(&key.user);
    // ... the delete lands, and the read comes back two seconds later.
    tokio::time::advance(Duration::from_secs(2)).await;
    cache.remember_tokens(&key, &tokens(), reading);
    tokio::time::advance(Duration::from_secs(600)).await;
    assert!(
        cache.tokens(&key, &HELLO).is_none(),
        "a token read before the dropped delete landed is served ten minutes later"
    );
}

/// Found: making room drops first the users the cache holds nothing young for
/// (`entries.rs` `Remembered::is_live`), and a user whose write was just dropped midway
/// is one of them (the write forgot what was held); its `unsure_until` goes with its
/// entry, and the floor of its group equals its count of writes. A read in progress for
/// it then lands as current: what it read before the dropped write landed is kept for a
/// time to live. README: "for one TTL ... nothing read for its user is kept".
#[tokio::test(start_paused = true)]
async fn making_room_does_not_forget_a_dropped_write() {
    let cache = CachedStore::new(Arc::new(MemoryStore::new()), Duration::from_secs(60));
    let key = key_of("unsure");
    cache.written(Written::Session(&key), false);
    let reading = cache.epoch(&key.user);
    // Busy users, all young, fill the cache; a newcomer makes room.
    for i in 0..entries::CAPACITY {
        let other = key_of(&format!("busy-{i}"));
        cache.remember_tokens(&other, &tokens(), cache.epoch(&other.user));
    }
    // The read of the unsure user lands, a second after its write was dropped.
    tokio::time::advance(Duration::from_secs(1)).await;
    cache.remember_tokens(&key, &tokens(), reading);
    assert!(
        cache.tokens(&key, &HELLO).is_none(),
        "read while a dropped write may land, and kept: making room forgot the write"
    );
}
