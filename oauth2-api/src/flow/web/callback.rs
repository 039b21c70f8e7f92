//! The callback route: completes authorizations in the browser that began them.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use crate::flow::page::{error_page, page, respond};
use crate::oauth::authorize::{Checks, UserCheckFn};
use crate::oauth::callback::CallbackParams;
use crate::runtime::Runtime;
use crate::user::UserRef;

type AppUserCheck =
    dyn Fn(Parts, UserRef) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync;

/// Builds the callback route, with an optional check of the application's signed-in user
/// (see the [module documentation](super#checking-the-signed-in-user)).
///
/// [`callback_router`] is `CallbackRouter::new(runtime).into_router()`.
#[must_use = "mount `.into_router()` at the redirect URL"]
pub struct CallbackRouter {
    runtime: Runtime,
    user_check: Option<Arc<AppUserCheck>>,
}

impl fmt::Debug for CallbackRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackRouter")
            .field("runtime", &self.runtime)
            .field("checks_user", &self.user_check.is_some())
            .finish()
    }
}

impl CallbackRouter {
    /// The callback route of `runtime`'s environments, checking the browser binding.
    pub fn new(runtime: Runtime) -> Self {
        Self {
            runtime,
            user_check: None,
        }
    }

    /// Also asks `check` whether the person at the callback is the user the state was
    /// begun for: it gets the callback request's parts (its cookies, the application's
    /// session) and that user, and answers `true` to complete. It runs before the state
    /// is used up; `false` refuses with `CallbackError::StateMismatch("user")` (403).
    ///
    /// With a check, states begun without a browser binding are accepted too: see the
    /// [module documentation](super#checking-the-signed-in-user).
    pub fn check_user<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(Parts, UserRef) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.user_check = Some(Arc::new(move |parts, user| Box::pin(check(parts, user))));
        self
    }

    /// The route of every environment's redirect URL path, completing authorizations.
    ///
    /// On success it redirects (303) to the return target given when the authorization
    /// was begun, if it is a path of this application; else it shows a short page.
    /// When environments have redirect URLs of their own, a state is only accepted on
    /// its own environment's path.
    pub fn into_router(self) -> Router {
        let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (environment, url) in self.runtime.redirect_urls() {
            paths
                .entry(url.path().to_owned())
                .or_default()
                .push(environment.to_owned());
        }
        let route = Arc::new(self);
        let mut router = Router::new();
        for (path, environments) in paths {
            let only: Option<Arc<str>> =
                (environments.len() == 1).then(|| environments[0].as_str().into());
            let route = route.clone();
            router = router.route(
                &path,
                axum::routing::get(move |request: Request| {
                    let route = route.clone();
                    let only = only.clone();
                    async move { route.callback(only.as_deref(), request).await }
                }),
            );
        }
        router
    }

    async fn callback(&self, environment: Option<&str>, request: Request) -> Response {
        let (parts, _) = request.into_parts();
        let params = match CallbackParams::from_query(parts.uri.query().unwrap_or("")) {
            Ok(params) => params,
            Err(e) => return error_page(&e.into()).into_response(),
        };
        let app_check = self.user_check.clone();
        let request_parts = parts.clone();
        let user_check = move |user: UserRef| match &app_check {
            Some(check) => check(request_parts.clone(), user),
            None => Box::pin(async { true }) as Pin<Box<dyn Future<Output = bool> + Send>>,
        };
        let checks = Checks {
            user: None,
            environment,
            browser: Some(&parts.headers),
            user_check: self
                .user_check
                .is_some()
                .then_some(&user_check as &UserCheckFn),
        };
        let done = match self.runtime.complete(&params, &checks).await {
            Ok(done) => done,
            Err(e) => return error_page(&e).into_response(),
        };
        // The return target was checked when the authorization was begun; checked again
        // for states stored by an older version.
        let back = done
            .return_to
            .as_deref()
            .filter(|target| crate::oauth::return_to::check(target).is_ok());
        // The binding cookie stays until it expires with the state: the same browser
        // replaying the callback is then told the state is used, not that it is a stranger.
        match back {
            Some(back) => Redirect::to(back).into_response(),
            None => respond(
                http::StatusCode::OK,
                page("Authorized", "You can go back to the application."),
            )
            .into_response(),
        }
    }
}

impl From<CallbackRouter> for Router {
    fn from(router: CallbackRouter) -> Self {
        router.into_router()
    }
}

/// The route of every environment's redirect URL path, completing authorizations begun
/// for a browser in that browser only: `CallbackRouter::new(runtime).into_router()`.
/// See [`CallbackRouter`] to also check the application's signed-in user.
pub fn callback_router(runtime: Runtime) -> Router {
    CallbackRouter::new(runtime).into_router()
}
