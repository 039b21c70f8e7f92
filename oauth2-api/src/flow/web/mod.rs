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
//!
//! # Browser binding
//!
//! A provider URL is a bearer instrument: whoever opens it and consents completes the
//! authorization *begun by someone else*. Without more, an attacker begins an
//! authorization as their own user, sends the URL to a victim, and the victim's grant is
//! stored under the attacker's user (RFC 9700 §4.7.1). So [`redirect_to_authorize`] (and
//! [`Runtime::begin_authorization_for_browser`](crate::Runtime::begin_authorization_for_browser), for applications that build their own
//! redirect) sets a cookie with the redirect: a random value, `HttpOnly`, `SameSite=Lax`,
//! scoped to the callback path, `Secure` on an `https` redirect URL, lasting as long as
//! the state; only its SHA-256 is stored with the pending authorization. The callback
//! route completes a state only in the browser that brings that cookie; any other gets
//! [`CallbackError::BrowserMismatch`](crate::CallbackError::BrowserMismatch) (403) and
//! the state stays usable. The callback route must therefore be served on the same host
//! as the pages that begin authorizations.
//!
//! # Checking the signed-in user
//!
//! An application with its own sign-in also checks, at the callback, that the person
//! signed in is the user the state was begun for (its session cookie, a header...):
//!
//! ```no_run
//! # fn app(runtime: oauth2_api::Runtime) -> axum::Router {
//! use oauth2_api::{UserRef, web::CallbackRouter};
//!
//! /// The application's own: who is signed in, from the request's session cookie.
//! async fn signed_in(parts: &axum::http::request::Parts) -> Option<UserRef> {
//!     # let _ = parts; None
//! }
//!
//! CallbackRouter::new(runtime)
//!     .check_user(|parts, user| async move { signed_in(&parts).await == Some(user) })
//!     .into_router()
//! # }
//! ```
//!
//! A refused check is [`CallbackError::StateMismatch("user")`](crate::CallbackError::StateMismatch)
//! (403), the state unused. With a user check the route also accepts states begun
//! without a browser binding ([`Runtime::begin_authorization`](crate::Runtime::begin_authorization), or a handler's error
//! turned into a redirect without the middleware): the check is what binds them.
//! Without one, such states are refused.
//!
//! Error pages say what went wrong in a sentence; internal details (the store's, the
//! HTTP client's) are logged, never shown.

mod callback;
mod redirect;

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

pub use callback::{CallbackRouter, callback_router};
pub use redirect::redirect_to_authorize;

use crate::error::{AuthorizationRequired, Error};
use crate::flow::page::error_page;
use crate::oauth::binding::BrowserAuthorization;

/// Errors as responses: [`Error::AuthorizationRequired`] redirects (303) to the provider
/// (with [`redirect_to_authorize`] layered, the person then comes back to the page);
/// callback errors are 400 (403 for the wrong browser or user), others 502 or 500 with a
/// sentence that holds no secret and no internal detail.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::AuthorizationRequired(required) => {
                let mut response = Redirect::to(required.url.as_str()).into_response();
                response.extensions_mut().insert(PendingRedirect(required));
                response
            }
            e => error_page(&e).into_response(),
        }
    }
}

/// A browser-bound authorization as a response: 303 to the provider, with the cookie.
impl IntoResponse for BrowserAuthorization {
    fn into_response(self) -> Response {
        let mut response = Redirect::to(self.request.url.as_str()).into_response();
        match header::HeaderValue::from_str(self.set_cookie()) {
            Ok(cookie) => {
                response.headers_mut().append(header::SET_COOKIE, cookie);
                response
            }
            // The cookie is base64url and an ASCII path: never here. Without it the
            // callback would be refused, so say so now.
            Err(_) => error_page(&Error::Internal(
                "the browser-binding cookie is not a valid header",
            ))
            .into_response(),
        }
    }
}

#[derive(Clone)]
struct PendingRedirect(Box<AuthorizationRequired>);
