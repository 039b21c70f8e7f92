//! The [`Runtime`]: one provider's configuration, its store and its HTTP clients, shared
//! by every generated client and every flow.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::call::ApiClient;
use crate::config::{ProviderConfig, ResolvedEnvironment, RuntimeBuilder};
use crate::error::Error;
use crate::hooks::CallContext;
use crate::oauth::TokenSource;
use crate::provider::Provider;
use crate::scope::ScopeSet;
use crate::session::{LastError, Ready, Session, SessionKey};
use crate::store::SessionStore;
use crate::user::{ApiUser, UserRef};

/// A handle on one provider's configuration, session store and HTTP clients.
///
/// Cheap to clone: clones share everything, including the refresh single-flight.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
    pub(crate) context: Arc<CallContext>,
}

/// What a runtime is made of, one part per layer: the provider as configured, where
/// tokens come from, and how the API is called.
pub(crate) struct Inner {
    pub(crate) config: ProviderConfig,
    pub(crate) tokens: TokenSource,
    pub(crate) api: ApiClient,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("provider", self.inner.config.provider())
            .field("environments", &self.inner.config.environments())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Starts the configuration of a runtime for `provider`.
    pub fn builder(provider: Provider) -> RuntimeBuilder {
        RuntimeBuilder::new(provider)
    }

    pub(crate) fn from_inner(inner: Inner) -> Result<Self, Error> {
        Ok(Self {
            inner: Arc::new(inner),
            context: Arc::new(CallContext::default()),
        })
    }

    /// This runtime with `context` for its calls' [`RequestHook`](crate::RequestHook)s
    /// (an end user's IP address and device, for HMRC's fraud-prevention headers).
    /// Sessions, store and single flight stay shared.
    pub fn with_context(&self, context: CallContext) -> Self {
        Self {
            inner: self.inner.clone(),
            context: Arc::new(context),
        }
    }

    /// The context attached with [`with_context`](Self::with_context).
    pub fn context(&self) -> &CallContext {
        &self.context
    }

    /// The provider's name, under which sessions are stored.
    pub fn provider(&self) -> &str {
        self.inner.config.provider()
    }

    /// The session store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        self.inner.tokens.store()
    }

    /// The declared environment names, default first.
    pub fn environments(&self) -> impl Iterator<Item = &str> {
        self.inner.config.environments().iter().map(|e| &*e.name)
    }

    /// Each environment with a redirect URL, and that URL: where callbacks arrive.
    #[cfg(feature = "axum")]
    pub(crate) fn redirect_urls(&self) -> impl Iterator<Item = (&str, &url::Url)> {
        self.inner
            .config
            .environments()
            .iter()
            .filter_map(|e| Some((&*e.name, e.redirect_url.as_ref()?)))
    }

    pub(crate) fn environment_named(&self, name: &str) -> Result<&ResolvedEnvironment, Error> {
        self.inner
            .config
            .environments()
            .iter()
            .find(|e| &*e.name == name)
            .ok_or_else(|| Error::UnknownEnvironment {
                name: name.to_owned(),
                known: self.environments().collect::<Vec<_>>().join(", "),
            })
    }

    /// Chooses the environment `user` works in (e.g. a company moving from sandbox to
    /// production). Each environment keeps its own session.
    pub async fn select_environment(
        &self,
        user: &impl ApiUser,
        environment: &str,
    ) -> Result<(), Error> {
        let env = self.environment_named(environment)?;
        self.inner
            .tokens
            .store()
            .set_environment(self.inner.config.provider(), &user.user_ref(), &env.name)
            .await?;
        Ok(())
    }

    /// The environment `user` works in: the chosen one, else the default.
    pub async fn environment_of(&self, user: &impl ApiUser) -> Result<String, Error> {
        Ok(self
            .resolve_environment(&user.user_ref())
            .await?
            .name
            .to_string())
    }

    pub(crate) async fn resolve_environment(
        &self,
        user: &UserRef,
    ) -> Result<&ResolvedEnvironment, Error> {
        match self
            .inner
            .tokens
            .store()
            .environment(self.inner.config.provider(), user)
            .await?
        {
            Some(name) => self.environment_named(&name),
            None => Ok(self.default_environment()),
        }
    }

    /// The environment of users who have not chosen one.
    pub(crate) fn default_environment(&self) -> &ResolvedEnvironment {
        &self.inner.config.environments()[self.inner.config.default_environment()]
    }

    /// The key of `user`'s session in `env`.
    pub(crate) fn key_in(&self, env: &ResolvedEnvironment, user: UserRef) -> SessionKey {
        SessionKey::new(self.inner.config.provider().clone(), env.name.clone(), user)
    }

    /// The key of `user`'s session in the environment it works in.
    pub async fn session_key(&self, user: &impl ApiUser) -> Result<SessionKey, Error> {
        let user = user.user_ref();
        let env = self.resolve_environment(&user).await?;
        Ok(self.key_in(env, user))
    }

    /// [`session_key`](Self::session_key) for a call: the environment choice may come
    /// from the cache (see [`RuntimeBuilder::cache_ttl`]).
    pub(crate) async fn call_key(&self, user: UserRef) -> Result<SessionKey, Error> {
        let chosen = self
            .inner
            .tokens
            .cache()
            .environment_of(self.inner.config.provider(), &user)
            .await?;
        let env = match chosen {
            Some(name) => self.environment_named(&name)?,
            None => self.default_environment(),
        };
        Ok(self.key_in(env, user))
    }

    /// What a call needs when the call cache holds it: `user`'s session key and a token
    /// covering `scopes`, found in one lookup without the store. Else `user`, handed back
    /// for [`call_key`](Self::call_key) and the token lifecycle.
    pub(crate) fn cached_call(
        &self,
        user: UserRef,
        scopes: &ScopeSet,
    ) -> Result<Arc<Ready>, UserRef> {
        let default = &self.default_environment().name;
        let cache = self.inner.tokens.cache();
        let Some(ready) = cache.call(&user, default, scopes) else {
            return Err(user);
        };
        // Tokens waiting to be saved are newer than any the cache holds.
        if self.inner.tokens.unsaved().holds(&ready.key) {
            return Err(user);
        }
        Ok(ready)
    }

    /// `user`'s session in the environment it works in, if any.
    pub async fn session(&self, user: &impl ApiUser) -> Result<Option<Session>, Error> {
        let key = self.session_key(user).await?;
        Ok(self.inner.tokens.store().load(&key).await?)
    }

    /// Whether `user` holds tokens granted for every scope in `scopes`. An expired access
    /// token with a refresh token still counts: the next call refreshes it.
    pub async fn is_authorized(&self, user: &impl ApiUser, scopes: &[&str]) -> Result<bool, Error> {
        let session = self.session(user).await?;
        Ok(session.and_then(|s| s.state.tokens).is_some_and(|t| {
            t.covers(scopes)
                && (t.refresh_token.is_some()
                    || t.is_fresh(
                        SystemTime::now(),
                        self.inner.config.settings().expiry_margin,
                    ))
        }))
    }

    /// Why `user`'s session last failed, if it did.
    pub async fn last_error(&self, user: &impl ApiUser) -> Result<Option<LastError>, Error> {
        Ok(self.session(user).await?.and_then(|s| s.state.last_error))
    }
}
