//! Web applications with axum: the callback route, and turning
//! [`Error::AuthorizationRequired`] from a handler into a redirect to the provider that
//! comes back to the page the person asked for.
//!
//! ```no_run
//! # fn app(runtime: oauth2_api::Runtime) -> axum::Router {
//! use axum::{middleware, routing::get, Router};
//! use oauth2_api::web;
//!
//! async fn vat_page() -> Result<String, oauth2_api::Error> {
//!     // ... call the API; `?` on AuthorizationRequired becomes a redirect ...
//!     Ok("obligations".to_owned())
//! }
//!
//! Router::new()
//!     .route("/vat", get(vat_page))
//!     .layer(middleware::from_fn_with_state(runtime.clone(), web::redirect_to_authorize))
//!     .merge(web::callback_router(runtime))
//! # }
//! ```
//!
//! The state lives in the store, so with a shared store any instance completes any
//! authorization. A `POST` that needed authorization is not replayed: the person comes
//! back to the page that sent it (its `Referer`), or to `/`.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::authorize::CallbackParams;
use crate::error::{AuthorizationRequired, CallbackError, Error};
use crate::loopback::page;
use crate::runtime::Runtime;

/// The route of every environment's redirect URL path, completing authorizations.
///
/// On success it redirects (303) to the return target given when the authorization
/// was begun, if it is a path of this application; else it shows a short page.
///
/// When environments have redirect URLs of their own, a state is only accepted on its
/// own environment's path.
pub fn callback_router(runtime: Runtime) -> Router {
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for env in &runtime.inner.environments {
        if let Some(url) = &env.redirect_url {
            paths
                .entry(url.path().to_owned())
                .or_default()
                .push(env.name.to_string());
        }
    }
    let mut router = Router::new();
    for (path, environments) in paths {
        let only = (environments.len() == 1).then(|| environments[0].clone());
        let runtime = runtime.clone();
        router = router.route(
            &path,
            axum::routing::get(move |RawQuery(query): RawQuery| callback(runtime, only, query)),
        );
    }
    router
}

async fn callback(
    runtime: Runtime,
    environment: Option<String>,
    query: Option<String>,
) -> Response {
    let outcome = match CallbackParams::from_query(query.as_deref().unwrap_or("")) {
        Ok(params) => match &environment {
            Some(env) => runtime.complete_authorization_in(env, &params).await,
            None => runtime.complete_authorization(&params).await,
        },
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(done) => match done.return_to.as_deref().filter(|r| is_local_path(r)) {
            Some(back) => Redirect::to(back).into_response(),
            None => page("Authorized", "You can go back to the application.").into_response(),
        },
        Err(e) => {
            let status = match e {
                Error::Callback(_) | Error::AuthorizationDenied { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            };
            (status, page("Authorization failed", &e.to_string())).into_response()
        }
    }
}

/// A path of this application (`/x?y`), not another site (`//evil`, `https://...`):
/// an open redirect would let anyone bounce people through the callback.
fn is_local_path(target: &str) -> bool {
    target.starts_with('/') && !target.starts_with("//") && !target.starts_with("/\\")
}

/// Errors as responses: [`Error::AuthorizationRequired`] redirects (303) to the provider
/// (with [`redirect_to_authorize`] layered, the person then comes back to the page);
/// callback errors are 400, others 502 — with a message that holds no secret.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::AuthorizationRequired(required) => {
                let mut response = Redirect::to(required.url.as_str()).into_response();
                response.extensions_mut().insert(PendingRedirect(required));
                response
            }
            Error::Callback(CallbackError::MissingState | CallbackError::MissingCode) => (
                StatusCode::BAD_REQUEST,
                page("Bad request", &self.to_string()),
            )
                .into_response(),
            e => (
                StatusCode::BAD_GATEWAY,
                page("The provider failed", &e.to_string()),
            )
                .into_response(),
        }
    }
}

#[derive(Clone)]
struct PendingRedirect(Box<AuthorizationRequired>);

/// Middleware (for `axum::middleware::from_fn_with_state`) that makes the authorization a
/// handler asked for come back to the page the person asked for.
pub async fn redirect_to_authorize(
    State(runtime): State<Runtime>,
    request: Request,
    next: Next,
) -> Response {
    let return_to = if matches!(*request.method(), Method::GET | Method::HEAD) {
        Some(
            request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
        )
    } else {
        Some(referer_path(&request).unwrap_or_else(|| "/".to_owned()))
    };
    let response = next.run(request).await;
    let Some(PendingRedirect(required)) = response.extensions().get::<PendingRedirect>().cloned()
    else {
        return response;
    };
    match runtime
        .begin_for_key(&required.session, required.scopes.clone(), return_to)
        .await
    {
        Ok(request) => Redirect::to(request.url.as_str()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The path of the `Referer` when it is on the same host as the request.
fn referer_path(request: &Request) -> Option<String> {
    let referer = request.headers().get(header::REFERER)?.to_str().ok()?;
    let referer = url::Url::parse(referer).ok()?;
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let same = match referer.port() {
        Some(port) => format!("{}:{port}", referer.host_str()?) == host,
        None => referer.host_str()? == host,
    };
    if !same {
        return None;
    }
    let mut path = referer.path().to_owned();
    if let Some(q) = referer.query() {
        path.push('?');
        path.push_str(q);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_are_return_targets() {
        assert!(super::is_local_path("/vat?x=1"));
        assert!(!super::is_local_path("//evil.example"));
        assert!(!super::is_local_path("/\\evil.example"));
        assert!(!super::is_local_path("https://evil.example"));
    }
}
