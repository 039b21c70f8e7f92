//! Access tokens the API refused, kept until their renewal is written: until then the
//! store still holds a refused token, and a call that reads it there must not send it
//! again.

use std::collections::{HashMap, VecDeque};

use secrecy::{ExposeSecret, SecretString};

use crate::session::SessionKey;

/// Sessions kept; past this, the session refused longest ago is dropped first (its
/// renewal is the likeliest to be written already).
pub(super) const SESSIONS: usize = 100_000;

/// Tokens kept per session: a late refusal of an older token must not push out the one
/// being renewed.
const PER_SESSION: usize = 4;

struct Token {
    secret: SecretString,
    version: Option<u64>,
}

#[derive(Default)]
pub(super) struct Refused {
    /// Per session: when it was last refused (a count), and the tokens, newest last,
    /// each with the version of the session that held it when it was refused, if known:
    /// a session written since (a renewal or a new authorization, in any process) holds
    /// the token anew, even the same string.
    sessions: HashMap<SessionKey, (u64, Vec<Token>), super::entries::Hasher>,
    /// Sessions in the order they were refused, with that count: an entry whose count
    /// is not its session's any more was refused again since, and is passed over.
    order: VecDeque<(u64, SessionKey)>,
    count: u64,
}

impl Refused {
    /// Keeps `access_token` as refused for `key`.
    pub(super) fn refuse(&mut self, key: &SessionKey, access_token: &str) {
        if !self.sessions.contains_key(key) {
            while self.sessions.len() >= SESSIONS {
                self.drop_oldest();
            }
        }
        self.count += 1;
        let (last, tokens) = self.sessions.entry(key.clone()).or_default();
        *last = self.count;
        if tokens.len() >= PER_SESSION {
            tokens.remove(0);
        }
        tokens.push(Token {
            secret: SecretString::from(access_token.to_owned()),
            version: None,
        });
        self.order.push_back((self.count, key.clone()));
        if self.order.len() > 2 * SESSIONS {
            // Refused again and again: keep the queue to one entry a session.
            let sessions = &self.sessions;
            self.order
                .retain(|(count, key)| sessions.get(key).is_some_and(|(last, _)| last == count));
        }
    }

    fn drop_oldest(&mut self) {
        while let Some((count, key)) = self.order.pop_front() {
            if self
                .sessions
                .get(&key)
                .is_some_and(|(last, _)| *last == count)
            {
                self.sessions.remove(&key);
                return;
            }
        }
    }

    /// Whether the API refused `access_token` of `key`, wherever it was held.
    pub(super) fn is_refused_anywhere(&self, key: &SessionKey, access_token: &str) -> bool {
        (self.sessions.get(key))
            .is_some_and(|(_, tokens)| tokens.iter().any(|t| t.is(access_token)))
    }

    /// Notes that the session of `key` held the refused `access_token` at `version`.
    pub(super) fn held_at(&mut self, key: &SessionKey, access_token: &str, version: u64) {
        if let Some((_, tokens)) = self.sessions.get_mut(key) {
            for token in tokens.iter_mut().filter(|t| t.is(access_token)) {
                token.version.get_or_insert(version);
            }
        }
    }

    /// Whether the API refused `access_token` of `key`, as the session held it at
    /// `version` (a session written since holds it anew).
    pub(super) fn is_refused(&self, key: &SessionKey, access_token: &str, version: u64) -> bool {
        (self.sessions.get(key)).is_some_and(|(_, tokens)| {
            (tokens.iter()).any(|t| t.is(access_token) && t.version.is_none_or(|v| v == version))
        })
    }

    /// Forgets every refusal of `key`: a new grant was stored (the provider may give the
    /// same token again: it is the new grant's).
    pub(super) fn granted(&mut self, key: &SessionKey) {
        self.sessions.remove(key);
    }

    /// Forgets that `access_token` of `key` was refused: a renewal from it was written,
    /// and whatever the store holds now (the same token, when a provider gives it back)
    /// is the renewal's. Other refusals stay: one recorded after that renewal wrote its
    /// token is of the new token, which a later renewal replaces.
    pub(super) fn renewed(&mut self, key: &SessionKey, access_token: &str) {
        if let Some((_, tokens)) = self.sessions.get_mut(key) {
            tokens.retain(|t| !t.is(access_token));
            if tokens.is_empty() {
                self.sessions.remove(key);
            }
        }
    }
}

impl Token {
    fn is(&self, access_token: &str) -> bool {
        self.secret.expose_secret() == access_token
    }
}
