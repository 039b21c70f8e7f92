//! The in-memory backend: for tests and single-process programs that need no persistence.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;

use super::{CasOutcome, Consumed, MAX_PENDING_PER_SESSION, SessionStore, StoreError};
use crate::session::{PendingAuthorization, Session, SessionKey, SessionState};
use crate::user::UserRef;

/// Sessions in a map, gone when the process ends. Cheap to create; one per test.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<SessionKey, Session>,
    pending: HashMap<String, (PendingAuthorization, bool)>,
    environments: HashMap<(String, UserRef), String>,
    leases: HashMap<SessionKey, (String, SystemTime)>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the maps consistent (each write is one
        // insert), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        Ok(self.lock().sessions.get(key).cloned())
    }

    async fn compare_and_swap(
        &self,
        key: &SessionKey,
        expected: u64,
        state: &SessionState,
    ) -> Result<CasOutcome, StoreError> {
        let mut inner = self.lock();
        let current = inner.sessions.get(key).map_or(0, |s| s.version);
        if current != expected {
            return Ok(CasOutcome::Conflict);
        }
        let version = expected + 1;
        inner.sessions.insert(
            key.clone(),
            Session {
                key: key.clone(),
                state: state.clone(),
                version,
                updated_at: SystemTime::now(),
            },
        );
        Ok(CasOutcome::Written(version))
    }

    async fn replace(&self, key: &SessionKey, state: &SessionState) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let version = inner.sessions.get(key).map_or(0, |s| s.version) + 1;
        let session = Session {
            key: key.clone(),
            state: state.clone(),
            version,
            updated_at: SystemTime::now(),
        };
        inner.sessions.insert(key.clone(), session);
        Ok(version)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.lock().sessions.remove(key);
        Ok(())
    }

    async fn insert_pending(&self, pending: &PendingAuthorization) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.pending.contains_key(&pending.state) {
            return Err(StoreError::message("insert_pending", "duplicate state"));
        }
        inner
            .pending
            .insert(pending.state.clone(), (pending.clone(), false));
        let mut mine: Vec<_> = inner
            .pending
            .values()
            .filter(|(p, _)| p.key == pending.key)
            .map(|(p, _)| (p.created_at, p.state.clone()))
            .collect();
        if mine.len() > MAX_PENDING_PER_SESSION {
            mine.sort_unstable_by(|a, b| b.cmp(a));
            for (_, state) in &mine[MAX_PENDING_PER_SESSION..] {
                inner.pending.remove(state);
            }
        }
        Ok(())
    }

    async fn rebind_pending(
        &self,
        state: &str,
        browser_binding: Option<&str>,
    ) -> Result<bool, StoreError> {
        Ok(match self.lock().pending.get_mut(state) {
            Some((pending, false)) => {
                pending.browser_binding = browser_binding.map(str::to_owned);
                true
            }
            _ => false,
        })
    }

    async fn peek_pending(&self, state: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        Ok(self.lock().pending.get(state).map(|(p, _)| p.clone()))
    }

    async fn consume_pending(&self, state: &str, now: SystemTime) -> Result<Consumed, StoreError> {
        let mut inner = self.lock();
        let Some((pending, used)) = inner.pending.get_mut(state) else {
            return Ok(Consumed::Unknown);
        };
        if *used {
            return Ok(Consumed::AlreadyUsed);
        }
        *used = true;
        if pending.expires_at <= now {
            return Ok(Consumed::Expired);
        }
        Ok(Consumed::Taken(Box::new(pending.clone())))
    }

    async fn pending_for(
        &self,
        key: &SessionKey,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthorization>, StoreError> {
        let mut found: Vec<_> = self
            .lock()
            .pending
            .values()
            .filter(|(p, used)| !used && &p.key == key && p.expires_at > now)
            .map(|(p, _)| p.clone())
            .collect();
        found.sort_by_key(|p| p.created_at);
        Ok(found)
    }

    async fn purge_pending(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let before = inner.pending.len();
        inner.pending.retain(|_, (p, _)| p.expires_at >= cutoff);
        Ok((before - inner.pending.len()) as u64)
    }

    async fn environment(&self, api: &str, user: &UserRef) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .environments
            .get(&(api.to_owned(), user.clone()))
            .cloned())
    }

    async fn set_environment(
        &self,
        api: &str,
        user: &UserRef,
        environment: &str,
    ) -> Result<(), StoreError> {
        self.lock()
            .environments
            .insert((api.to_owned(), user.clone()), environment.to_owned());
        Ok(())
    }

    async fn acquire_lease(
        &self,
        key: &SessionKey,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.leases.get(key) {
            Some((h, exp)) if h != holder && *exp > now => Ok(false),
            _ => {
                inner.leases.insert(key.clone(), (holder.to_owned(), until));
                Ok(true)
            }
        }
    }

    async fn release_lease(&self, key: &SessionKey, holder: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.leases.get(key).is_some_and(|(h, _)| h == holder) {
            inner.leases.remove(key);
        }
        Ok(())
    }
}
