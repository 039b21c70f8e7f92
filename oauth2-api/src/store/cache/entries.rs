//! What the call cache holds, per user, and how it makes room.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::age::Age;
use crate::session::{Ready, SessionKey};
use crate::user::UserRef;

/// Looked up on every call: a fast hash, still seeded per process.
type Hasher = foldhash::quality::RandomState;

/// Users (and sessions with refused tokens) kept before room is made: those with nothing
/// young go first, then an eighth of the rest, at random. Bounds the memory of a runtime
/// serving many users (a few hundred bytes each).
pub(super) const CAPACITY: usize = 100_000;

/// Refused access tokens kept per session: a late refusal of an older token must not
/// push out the one being renewed.
const REFUSED_KEPT: usize = 4;

#[derive(Default)]
pub(super) struct Entries {
    /// Bumped whenever users are dropped to make room: a read in progress for one of
    /// them is not remembered after (its user's count of writes went with it).
    evictions: u64,
    /// Per user, whatever the provider: one runtime serves one provider, and forgetting
    /// too much on a write is harmless.
    users: HashMap<UserRef, Remembered, Hasher>,
    /// Access tokens the API refused, per session, newest last: until a renewal is
    /// written the store still holds the refused one, and a call that reads it there
    /// must not send it again.
    refused: HashMap<SessionKey, Vec<SecretString>, Hasher>,
}

/// What is remembered of one user.
#[derive(Default)]
pub(super) struct Remembered {
    /// Bumped by every write to the user's sessions or environment, and when a read
    /// finds its token unusable: a read that started before is not remembered after.
    writes: u64,
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
    }
}

/// Where a store read started: its result is remembered only if no write to its user
/// came between, and ages from that moment.
#[derive(Clone, Copy)]
pub(crate) struct Epoch {
    evictions: u64,
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
        Epoch {
            evictions: self.evictions,
            writes: self.users.get(user).map_or(0, |r| r.writes),
            started,
        }
    }

    /// Whether nothing was written to `user` since `epoch`.
    pub(super) fn is_current(&self, user: &UserRef, epoch: Epoch) -> bool {
        epoch.evictions == self.evictions && self.epoch(user, epoch.started).writes == epoch.writes
    }

    /// Counts a write to `user` (made, or found by a read), returning its entry.
    pub(super) fn written(&mut self, user: &UserRef, now: Instant) -> &mut Remembered {
        let remembered = self.remembered(user, now);
        remembered.writes += 1;
        remembered
    }

    /// `user`'s entry, made if new, after making room for it.
    pub(super) fn remembered(&mut self, user: &UserRef, now: Instant) -> &mut Remembered {
        if self.users.len() >= CAPACITY && !self.users.contains_key(user) {
            self.users.retain(|_, r| r.is_live(now));
            if self.users.len() >= CAPACITY {
                let mut seen = 0;
                self.users.retain(|_, _| {
                    seen += 1;
                    seen % 8 != 0
                });
            }
            self.evictions += 1;
        }
        self.users.entry(user.clone()).or_default()
    }

    /// Keeps `access_token` as refused for `key`.
    pub(super) fn refuse(&mut self, key: &SessionKey, access_token: &str) {
        if self.refused.len() >= CAPACITY && !self.refused.contains_key(key) {
            self.refused.clear();
        }
        let refused = self.refused.entry(key.clone()).or_default();
        if refused.len() >= REFUSED_KEPT {
            refused.remove(0);
        }
        refused.push(SecretString::from(access_token.to_owned()));
    }

    /// Whether the API refused `access_token` of `key`.
    pub(super) fn is_refused(&self, key: &SessionKey, access_token: &str) -> bool {
        (self.refused.get(key))
            .is_some_and(|refused| refused.iter().any(|t| t.expose_secret() == access_token))
    }
}
