//! The authorize-and-retry flow: a call that needs a person's authorization hands the
//! URL to an [`Authorizer`], waits for that very authorization to complete, and runs
//! once more. Other errors pass through unchanged; it never loops.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{AuthorizationReason, AuthorizationRequired, Error};
use crate::oauth::authorize::Authorized;
use crate::runtime::Runtime;

/// Gets a person to authorize: sends them to [`AuthorizationRequired::url`] and returns
/// once the callback carrying [`AuthorizationRequired::state`] has completed.
///
/// [`LoopbackAuthorizer`](crate::LoopbackAuthorizer) is the desktop and command-line one.
#[async_trait]
pub trait Authorizer: Send + Sync {
    /// Obtains the authorization `required` describes.
    async fn authorize(
        &self,
        runtime: &Runtime,
        required: &AuthorizationRequired,
    ) -> Result<Authorized, Error>;
}

/// The default wait for a person: five minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs a call, authorizing once when needed; see [`Runtime::authorize_and_retry`].
#[must_use = "nothing runs until `.run(...)` is awaited"]
pub struct AuthorizeAndRetry<'a> {
    runtime: &'a Runtime,
    authorizer: &'a dyn Authorizer,
    timeout: Duration,
    cancel: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
}

impl std::fmt::Debug for AuthorizeAndRetry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeAndRetry")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<'a> AuthorizeAndRetry<'a> {
    /// How long to wait for the person (default five minutes); then [`Error::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Gives up with [`Error::Cancelled`] when `signal` completes (a Cancel button, Ctrl-C).
    pub fn cancel_on(mut self, signal: impl Future<Output = ()> + Send + 'a) -> Self {
        self.cancel = Some(Box::pin(signal));
        self
    }

    /// Runs `call`; on [`Error::AuthorizationRequired`] has the authorizer obtain it,
    /// then runs `call` once more and returns whatever that gives.
    pub async fn run<T, F, Fut>(self, mut call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let required = match call().await {
            Err(Error::AuthorizationRequired(required)) => required,
            other => return other,
        };
        tracing::info!(session = %required.session, "authorization required: handing over to the authorizer");
        let authorize = tokio::time::timeout(
            self.timeout,
            self.authorizer.authorize(self.runtime, &required),
        );
        let outcome = match self.cancel {
            Some(cancel) => tokio::select! {
                outcome = authorize => outcome,
                () = cancel => return Err(Error::Cancelled),
            },
            None => authorize.await,
        };
        let authorized = outcome.map_err(|_| Error::Timeout(self.timeout))??;
        tracing::info!(session = %authorized.session, "authorized: retrying the call once");
        match call().await {
            // The grant just made lacks scopes the call needs: say so rather than hand
            // back a plain "authorization required" an application would act on again.
            Err(Error::AuthorizationRequired(mut again))
                if !crate::scope::all_granted(
                    again.scopes.iter().map(String::as_str),
                    &authorized.scopes,
                ) =>
            {
                again.reason = AuthorizationReason::ScopesNotGranted;
                Err(Error::AuthorizationRequired(again))
            }
            other => other,
        }
    }
}

impl Runtime {
    /// Runs a call that may need a person's authorization, authorizing through
    /// `authorizer` at most once:
    ///
    /// ```no_run
    /// # async fn f(runtime: oauth2_api::Runtime, company: oauth2_api::UserRef) -> Result<(), oauth2_api::Error> {
    /// use oauth2_api::{LoopbackAuthorizer, Method};
    /// let authorizer = LoopbackAuthorizer::new();
    /// let answer = runtime
    ///     .authorize_and_retry(&authorizer)
    ///     .run(|| runtime.request(&company, Method::Get, "/hello/user").scopes(&["hello"]).send())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn authorize_and_retry<'a>(
        &'a self,
        authorizer: &'a dyn Authorizer,
    ) -> AuthorizeAndRetry<'a> {
        AuthorizeAndRetry {
            runtime: self,
            authorizer,
            timeout: DEFAULT_TIMEOUT,
            cancel: None,
        }
    }
}
