//! What the call cache holds, per user, and how it makes room.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use std::hash::BuildHasher;

use tokio::time::Instant;

use super::age::Age;
use super::refused::Refused;
use crate::session::Ready;
use crate::user::UserRef;

/// Looked up on every call: a fast hash, still seeded per process.
pub(super) type Hasher = foldhash::quality::RandomState;

/// Users kept before room is made: those with nothing young go first, then others at
/// random, down to seven eighths (so that room is made once in many new users). Bounds
/// the memory of a runtime serving many users (a few hundred bytes each, and its access
/// token: a JWT may take kilobytes).
pub(super) const CAPACITY: usize = 100_000;

/// Groups of users whose dropped entries' counts of writes are kept as one.
const FLOORS: usize = 32;

#[derive(Default)]
pub(super) struct Entries {
    /// Per user, whatever the provider: one runtime serves one provider, and forgetting
    /// too much on a write is harmless.
    users: HashMap<UserRef, Remembered, Hasher>,
    /// Per group of users, the highest count of writes of an entry dropped to make room:
    /// a user without an entry counts from there, so that a read in progress when its
    /// user was dropped is not remembered if a write came between (nor, rarely, when a
    /// user of its group was dropped), and reads of users kept are not disturbed.
    floors: [u64; FLOORS],
    pub(super) refused: Refused,
}

/// What is remembered of one user.
#[derive(Default)]
pub(super) struct Remembered {
    /// Bumped by every write to the user's sessions or environment, and when a read
    /// finds its token unusable: a read that started before is not remembered after.
    writes: u64,
    /// A write through this runtime was dropped midway, and may land any time before
    /// this: nothing read until then is remembered.
    unsure_until: Option<Instant>,
    /// The environment chosen (`None`: the default), and until when.
    pub(super) environment: Option<Chosen>,
    /// A usable token per environment the user called in (rarely more than one).
    pub(super) tokens: Vec<Held>,
}

/// An environment choice read from the store.
pub(super) struct Chosen {
    pub(super) age: Age,
    /// `None`: the default.
    pub(super) name: Option<Arc<str>>,
}

/// A token held for one environment, with the session key a call uses it under.
pub(super) struct Held {
    pub(super) age: Age,
    pub(super) ready: Arc<Ready>,
}

impl Held {
    pub(super) fn is_in(&self, environment: &str) -> bool {
        *self.ready.key.environment == *environment
    }
}

impl Remembered {
    /// The token held for `environment` if it is still usable, young or not.
    #[inline]
    pub(super) fn usable_token(&self, environment: &str) -> Option<&Held> {
        let held = self.tokens.iter().find(|h| h.is_in(environment))?;
        (held.ready.usable)
            .is_fresh_at(SystemTime::now())
            .then_some(held)
    }

    fn is_live(&self, now: Instant) -> bool {
        (self.environment.as_ref()).is_some_and(|chosen| chosen.age.is_young(now))
            || self.tokens.iter().any(|h| h.age.is_young(now))
            || self.is_unsure(now)
    }

    /// Whether a write dropped midway may still land: the entry is not dropped to make
    /// room meanwhile, or its window would go with it.
    fn is_unsure(&self, now: Instant) -> bool {
        self.unsure_until.is_some_and(|until| now < until)
    }
}

/// Where a store read started: its result is remembered only if no write to its user
/// came between, and ages from that moment.
#[derive(Clone, Copy)]
pub(crate) struct Epoch {
    writes: u64,
    pub(super) started: Instant,
}

impl Entries {
    /// Asked on every call: inlined there.
    #[inline]
    pub(super) fn user(&self, user: &UserRef) -> Option<&Remembered> {
        self.users.get(user)
    }

    pub(super) fn epoch(&self, user: &UserRef, started: Instant) -> Epoch {
        let writes = match self.users.get(user) {
            Some(remembered) => remembered.writes,
            None => self.floors[floor_of(self.users.hasher(), user)],
        };
        Epoch { writes, started }
    }

    /// Whether what was read for `user` since `epoch` may be remembered: no write came
    /// between, and none dropped midway could have landed after the read began.
    pub(super) fn is_current(&self, user: &UserRef, epoch: Epoch) -> bool {
        let unsure = (self.users.get(user)).and_then(|r| r.unsure_until);
        self.epoch(user, epoch.started).writes == epoch.writes
            && unsure.is_none_or(|until| epoch.started >= until)
    }

    /// Counts a write to `user` (made, or found by a read), returning its entry.
    pub(super) fn written(&mut self, user: &UserRef, now: Instant) -> &mut Remembered {
        let remembered = self.remembered(user, now);
        remembered.writes += 1;
        remembered
    }

    /// Counts a write to `user` that was dropped midway: it may land until `until`.
    pub(super) fn unsure(&mut self, user: &UserRef, now: Instant, until: Instant) {
        self.written(user, now).unsure_until = Some(until);
    }

    /// `user`'s entry, made if new, after making room for it.
    pub(super) fn remembered(&mut self, user: &UserRef, now: Instant) -> &mut Remembered {
        if self.users.len() >= CAPACITY && !self.users.contains_key(user) {
            self.make_room(now);
        }
        let hasher = self.users.hasher().clone();
        let floor = self.floors[floor_of(&hasher, user)];
        (self.users.entry(user.clone())).or_insert_with(|| Remembered {
            writes: floor,
            ..Remembered::default()
        })
    }

    /// Drops the users with nothing young, then others, down to seven eighths.
    fn make_room(&mut self, now: Instant) {
        let hasher = self.users.hasher().clone();
        let floors = &mut self.floors;
        let mut dropped = |user: &UserRef, remembered: &Remembered| {
            let floor = &mut floors[floor_of(&hasher, user)];
            *floor = (*floor).max(remembered.writes);
        };
        self.users.retain(|user, remembered| {
            let keep = remembered.is_live(now);
            if !keep {
                dropped(user, remembered);
            }
            keep
        });
        let mut excess = self.users.len().saturating_sub(CAPACITY / 8 * 7);
        self.users.retain(|user, remembered| {
            let keep = excess == 0 || remembered.is_unsure(now);
            if !keep {
                excess -= 1;
                dropped(user, remembered);
            }
            keep
        });
    }
}

fn floor_of(hasher: &Hasher, user: &UserRef) -> usize {
    hasher.hash_one(user) as usize % FLOORS
}
