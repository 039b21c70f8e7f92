//! Writing what the token lifecycle learns, without losing a grant or undoing a newer one.
//!
//! Every write in the token path names what it replaces (a [`Basis`]): renewed tokens are
//! stored, and refused ones cleared, only while the stored tokens are still the ones the
//! renewal started from. A disconnect or a newer authorization written meanwhile wins:
//! the late result is discarded (and revoked). A new grant from a completed authorization
//! replaces whatever is stored, without reading it.
//!
//! Tokens the provider issued are not dropped when the store fails: the write is retried
//! with a bounded backoff, and if it still fails the tokens wait in an in-process slot
//! ([`Unsaved`]), where this process keeps using them and from which it writes them at
//! the next call for that session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::runtime::Runtime;
use crate::session::{LastError, Session, SessionKey, SessionState, TokenSet};
use crate::store::{CasOutcome, StoreError};
use crate::user::ApiUser;

/// Pauses between attempts at a write that failed: about 1 s in all, so a store that
/// hiccups (SQLite busy, a PostgreSQL connection reset) does not cost a grant.
const WRITE_BACKOFF: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(200),
    Duration::from_millis(800),
];

/// The tokens a write expects to find stored: those a renewal started from, or none.
#[derive(Clone)]
pub(crate) struct Basis {
    access: Option<SecretString>,
    refresh: Option<SecretString>,
}

impl Basis {
    pub(crate) fn of(tokens: Option<&TokenSet>) -> Self {
        Self {
            access: tokens.map(|t| t.access_token.clone()),
            refresh: tokens.and_then(|t| t.refresh_token.clone()),
        }
    }

    /// Whether `stored` are still the tokens this basis names.
    pub(crate) fn matches(&self, stored: Option<&TokenSet>) -> bool {
        let same = |a: Option<&SecretString>, b: Option<&SecretString>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
            _ => false,
        };
        match stored {
            None => self.access.is_none(),
            Some(t) => {
                same(self.access.as_ref(), Some(&t.access_token))
                    && same(self.refresh.as_ref(), t.refresh_token.as_ref())
            }
        }
    }
}

/// What a conditional write did.
pub(crate) enum Written {
    Yes,
    /// The stored tokens are no longer the basis: this is what is stored instead.
    Superseded(Option<Box<Session>>),
}

/// How tokens waiting in the slot are to be written.
#[derive(Clone)]
pub(crate) enum Pending {
    /// Renewed from `Basis`: written only over it.
    Renewed(Basis),
    /// A new grant, written over `Some(basis)` (what was stored when the authorization
    /// completed), or over anything when that could not be read.
    Granted(Option<Basis>),
}

/// Tokens the provider issued that the store did not take yet.
#[derive(Clone)]
pub(crate) struct Unsaved {
    pub(crate) tokens: TokenSet,
    pub(crate) pending: Pending,
}

/// The in-process slot of [`Unsaved`] tokens, one per session. Looked at on every call,
/// so its emptiness is one atomic load.
#[derive(Default)]
pub(crate) struct UnsavedTokens {
    entries: Mutex<HashMap<SessionKey, Unsaved>>,
    len: AtomicUsize,
}

impl UnsavedTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, Unsaved>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether tokens of `key` wait to be saved. Asked on every call, and almost always
    /// answered by the count alone: inlined there.
    #[inline]
    pub(crate) fn holds(&self, key: &SessionKey) -> bool {
        self.len.load(Ordering::Acquire) > 0 && self.lock().contains_key(key)
    }

    pub(crate) fn get(&self, key: &SessionKey) -> Option<Unsaved> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.lock().get(key).cloned()
    }

    /// Keeps `unsaved` for `key`, unless a new grant waits there and `unsaved` is a
    /// renewal (of an older one): then `unsaved` is handed back, to be discarded.
    pub(crate) fn put_unless_newer(&self, key: &SessionKey, unsaved: Unsaved) -> Option<Unsaved> {
        let mut entries = self.lock();
        let waiting_grant = entries
            .get(key)
            .is_some_and(|u| matches!(u.pending, Pending::Granted(_)));
        if waiting_grant && matches!(unsaved.pending, Pending::Renewed(_)) {
            return Some(unsaved);
        }
        entries.insert(key.clone(), unsaved);
        self.len.store(entries.len(), Ordering::Release);
        None
    }

    pub(crate) fn take(&self, key: &SessionKey) -> Option<Unsaved> {
        let mut entries = self.lock();
        let taken = entries.remove(key);
        self.len.store(entries.len(), Ordering::Release);
        taken
    }
}

impl Runtime {
    /// Revokes `user`'s tokens at the provider (when it has a revocation URL) and forgets
    /// the session. The session is forgotten even when revocation fails (the failure is
    /// returned so it can be shown) and even when its row cannot be read (then nothing is
    /// revoked). A refresh running meanwhile finds the session gone and discards its
    /// result.
    pub async fn disconnect(&self, user: &impl ApiUser) -> Result<(), Error> {
        let key = self.session_key(user).await?;
        let unsaved = self.inner.tokens.unsaved().take(&key).map(|u| u.tokens);
        let stored = match self.inner.tokens.store().load(&key).await {
            Ok(session) => session.and_then(|s| s.state.tokens),
            Err(e) => {
                tracing::warn!(session = %key, error = %e, "the session cannot be read: forgotten without revoking its tokens");
                None
            }
        };
        self.inner.tokens.store().delete(&key).await?;
        let env = self.environment_named(&key.environment)?;
        let mut outcome = Ok(());
        for tokens in stored.iter().chain(unsaved.iter()) {
            if let Err(e) = self.revoke(env, &key, tokens).await {
                outcome = Err(e);
            }
        }
        outcome
    }

    /// Records `error` as the session's last error, keeping its tokens. Best effort: a
    /// failure to record must not hide the error being recorded.
    pub(crate) async fn record_error(&self, key: &SessionKey, error: LastError) {
        for _ in 0..5 {
            let current = match self.inner.tokens.store().load(key).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(session = %key, error = %e, "could not record the session's last error");
                    return;
                }
            };
            let (version, tokens) = match current {
                Some(s) => (s.version, s.state.tokens),
                None => (0, None),
            };
            let state = SessionState {
                tokens,
                last_error: Some(error.clone()),
            };
            match self
                .inner
                .tokens
                .store()
                .compare_and_swap(key, version, &state)
                .await
            {
                Ok(CasOutcome::Written(_)) => return,
                Ok(CasOutcome::Conflict) => continue,
                Err(e) => {
                    tracing::warn!(session = %key, error = %e, "could not record the session's last error");
                    return;
                }
            }
        }
    }

    /// Writes `state` if the stored tokens are still `basis`, retrying a version conflict
    /// (a last error recorded meanwhile) and a failing store, a bounded number of times.
    pub(crate) async fn write_if(
        &self,
        key: &SessionKey,
        basis: &Basis,
        state: &SessionState,
    ) -> Result<Written, StoreError> {
        self.write_if_within(key, basis, state, &WRITE_BACKOFF)
            .await
    }

    /// [`write_if`](Self::write_if), pausing `backoff` between failed attempts.
    async fn write_if_within(
        &self,
        key: &SessionKey,
        basis: &Basis,
        state: &SessionState,
        backoff: &[Duration],
    ) -> Result<Written, StoreError> {
        let store = &self.inner.tokens.store();
        let mut failure = None;
        // Conflicts are retried at once, as many times as failures would be.
        for attempt in 0..=backoff.len().max(3) {
            if let (Some(_), Some(pause)) = (
                &failure,
                attempt.checked_sub(1).and_then(|i| backoff.get(i)),
            ) {
                tokio::time::sleep(*pause).await;
            } else if failure.is_some() {
                break;
            }
            let session = match store.load(key).await {
                Ok(session) => session,
                Err(e) => {
                    failure = Some(e);
                    continue;
                }
            };
            let stored = session.as_ref().and_then(|s| s.state.tokens.as_ref());
            // Already there: an earlier attempt that reported a failure had landed (a
            // commit whose answer was lost), or another holder stored these very tokens.
            // Written again only when ours last longer and were renewed from these very
            // tokens (a provider may extend a token rather than replace it, and the
            // stored expiry would leave it due for every call): the same tokens stored
            // over another basis are never superseded, which would revoke them.
            if let (Some(stored), Some(ours)) = (stored, &state.tokens)
                && Basis::of(Some(ours)).matches(Some(stored))
                && !(outlasts(ours, stored) && basis.matches(Some(stored)))
            {
                return Ok(Written::Yes);
            }
            if !basis.matches(stored) {
                return Ok(Written::Superseded(session.map(Box::new)));
            }
            let version = session.map_or(0, |s| s.version);
            match store.compare_and_swap(key, version, state).await {
                Ok(CasOutcome::Written(_)) => return Ok(Written::Yes),
                Ok(CasOutcome::Conflict) => failure = None,
                Err(e) => failure = Some(e),
            }
        }
        Err(failure.unwrap_or_else(|| {
            StoreError::message(
                "compare_and_swap",
                "the session kept changing under the write",
            )
        }))
    }

    /// Replaces the session with a new grant, retrying a failing store a bounded number
    /// of times.
    pub(crate) async fn replace_session(
        &self,
        key: &SessionKey,
        state: &SessionState,
    ) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            match self.inner.tokens.store().replace(key, state).await {
                Ok(_) => return Ok(()),
                Err(e) if attempt == WRITE_BACKOFF.len() => return Err(e),
                Err(e) => {
                    tracing::debug!(session = %key, error = %e, "store write failed: retrying");
                    tokio::time::sleep(WRITE_BACKOFF[attempt]).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Keeps tokens the store could not take: this process goes on using them and
    /// writes them at the next call for `key`.
    pub(crate) async fn keep_unsaved(
        &self,
        key: &SessionKey,
        tokens: &TokenSet,
        pending: Pending,
        e: &StoreError,
    ) {
        tracing::warn!(session = %key, error = %e, "the store did not take the new tokens: kept in memory until it does");
        let unsaved = Unsaved {
            tokens: tokens.clone(),
            pending,
        };
        // A renewal of the previous grant must not push out a new grant waiting here.
        if let Some(late) = self.inner.tokens.unsaved().put_unless_newer(key, unsaved) {
            self.discard(key, &late.tokens).await;
        }
    }

    /// Writes the unsaved tokens of `key`, if any. Returns them when they still stand
    /// (written now or still waiting), `None` when there were none or a newer state won.
    pub(crate) async fn settle_unsaved(&self, key: &SessionKey) -> Option<Unsaved> {
        let unsaved = self.inner.tokens.unsaved().get(key)?;
        let state = SessionState {
            tokens: Some(unsaved.tokens.clone()),
            last_error: None,
        };
        let outcome = match &unsaved.pending {
            Pending::Granted(None) => self
                .inner
                .tokens
                .store()
                .replace(key, &state)
                .await
                .map(|_| Written::Yes),
            // A disconnect or another authorization since then wins over this one.
            Pending::Granted(Some(basis)) => self.write_if_within(key, basis, &state, &[]).await,
            // One attempt: a call is waiting, and the tokens are safe where they are.
            Pending::Renewed(basis) => self.write_if_within(key, basis, &state, &[]).await,
        };
        match outcome {
            Ok(Written::Yes) => {
                tracing::info!(session = %key, "tokens kept in memory are now stored");
                self.inner.tokens.unsaved().take(key);
                Some(unsaved)
            }
            Ok(Written::Superseded(_)) => {
                self.inner.tokens.unsaved().take(key);
                self.discard(key, &unsaved.tokens).await;
                None
            }
            Err(e) => {
                tracing::warn!(session = %key, error = %e, "the store still refuses the tokens kept in memory");
                Some(unsaved)
            }
        }
    }

    /// Revokes tokens a newer state made useless (a disconnect, a newer authorization),
    /// so the grant they belong to does not linger at the provider. Best effort.
    pub(crate) async fn discard(&self, key: &SessionKey, tokens: &TokenSet) {
        tracing::info!(session = %key, "the session changed while renewing: the renewed tokens are discarded");
        let Ok(env) = self.environment_named(&key.environment) else {
            return;
        };
        if let Err(e) = self.revoke(env, key, tokens).await {
            tracing::warn!(session = %key, error = %e, "could not revoke the discarded tokens");
        }
    }
}

/// Whether `ours` is known to last longer than `stored`.
fn outlasts(ours: &TokenSet, stored: &TokenSet) -> bool {
    match (ours.expires_at, stored.expires_at) {
        (Some(ours), Some(stored)) => ours > stored,
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(access: &str, refresh: Option<&str>) -> TokenSet {
        TokenSet {
            access_token: access.to_owned().into(),
            refresh_token: refresh.map(|r| r.to_owned().into()),
            expires_at: None,
            scopes: Vec::new(),
            token_type: "bearer".to_owned(),
        }
    }

    #[test]
    fn a_basis_matches_only_the_same_tokens() {
        let basis = Basis::of(Some(&tokens("a", Some("r"))));
        assert!(basis.matches(Some(&tokens("a", Some("r")))));
        assert!(!basis.matches(Some(&tokens("a", Some("r2")))));
        assert!(!basis.matches(Some(&tokens("b", Some("r")))));
        assert!(!basis.matches(Some(&tokens("a", None))));
        assert!(!basis.matches(None));
        let none = Basis::of(None);
        assert!(none.matches(None));
        assert!(!none.matches(Some(&tokens("a", None))));
    }
}
