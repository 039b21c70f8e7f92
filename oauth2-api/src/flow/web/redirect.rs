//! The redirect middleware: a handler's [`Error::AuthorizationRequired`] becomes a
//! browser-bound redirect to the provider that comes back to the page asked for.

use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::PendingRedirect;
use crate::error::{AuthorizationReason, AuthorizationRequired};
use crate::flow::page::{error_page, page, respond};
use crate::runtime::Runtime;
use crate::scope::ScopeSet;
use crate::session::Session;

/// After an authorization that came back without some scopes, how long the same user is
/// not sent to the provider again for them: long enough to stop a redirect loop, short
/// enough for a person who changed something at the provider to try again.
const LOOP_WINDOW: Duration = Duration::from_secs(60);

/// Middleware (for `axum::middleware::from_fn_with_state`) that makes the authorization a
/// handler asked for come back to the page the person asked for, bound to this browser
/// (see the [module documentation](super#browser-binding)).
///
/// When the provider has just granted fewer scopes than asked (it drops or renames
/// them), the person is not sent back to it for the same scopes within a minute: a page
/// names the scopes it did not grant (and the session's last error says the same),
/// instead of a redirect loop.
pub async fn redirect_to_authorize(
    State(runtime): State<Runtime>,
    request: Request,
    next: Next,
) -> Response {
    let return_to = return_target(&request);
    let response = next.run(request).await;
    let Some(PendingRedirect(required)) = response.extensions().get::<PendingRedirect>().cloned()
    else {
        return response;
    };
    if let Some(refused) = loop_guard(&runtime, &required).await {
        return refused;
    }
    match runtime
        .begin_for_browser(
            &required.session,
            required.scopes.iter().collect(),
            Some(return_to),
        )
        .await
    {
        Ok(bound) => bound.into_response(),
        Err(e) => error_page(&e).into_response(),
    }
}

/// Where to come back: the page asked for (`GET`), the page that sent a form (its
/// same-host `Referer`), else `/`; `/` too for anything the return-target rule refuses.
fn return_target(request: &Request) -> String {
    let target = if matches!(*request.method(), Method::GET | Method::HEAD) {
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
    } else {
        referer_path(request)
    };
    target
        .filter(|t| crate::oauth::return_to::check(t).is_ok())
        .unwrap_or_else(|| "/".to_owned())
}

/// The page refusing to send the person to the provider again, when the last completed
/// authorization of this session, within [`LOOP_WINDOW`], lacked scopes still missing.
async fn loop_guard(runtime: &Runtime, required: &AuthorizationRequired) -> Option<Response> {
    if !matches!(
        required.reason,
        AuthorizationReason::MissingScopes | AuthorizationReason::InsufficientScope
    ) {
        return None;
    }
    let session = match runtime.store().load(&required.session).await {
        Ok(session) => session?,
        Err(e) => return Some(error_page(&e.into()).into_response()),
    };
    if required.reason == AuthorizationReason::InsufficientScope {
        return refused_despite_grant(required, &session);
    }
    let last = session.state.last_error.as_ref()?;
    let recent = SystemTime::now()
        .duration_since(last.at)
        .map_or(true, |age| age < LOOP_WINDOW);
    let not_granted = last.withheld_scopes().filter(|_| recent)?;
    let granted = session.state.tokens.as_ref().map(|t| &t.scopes[..]);
    let required_scopes: ScopeSet = required.scopes.iter().collect();
    let missing = required_scopes.missing_from(granted.unwrap_or_default());
    // Only the scopes the provider has just refused: others may still be granted.
    if !missing.iter().any(|s| not_granted.contains(&s)) {
        return None;
    }
    let missing = missing.join(" ");
    tracing::warn!(session = %required.session, missing = %missing, "the provider does not grant these scopes: not redirecting again");
    let message = format!(
        "The provider did not grant the scopes {missing} that this page needs, so asking it \
         again would end the same way. Check the application's registration and \
         permissions at the provider."
    );
    Some(incomplete(&message))
}

/// The API answered `insufficient_scope` although the grant stored within
/// [`LOOP_WINDOW`] holds every scope asked for: authorizing again would end the same way.
fn refused_despite_grant(required: &AuthorizationRequired, session: &Session) -> Option<Response> {
    let tokens = session.state.tokens.as_ref()?;
    let recent = SystemTime::now()
        .duration_since(session.updated_at)
        .map_or(true, |age| age < LOOP_WINDOW);
    if !recent || !tokens.covers(&required.scopes) {
        return None;
    }
    tracing::warn!(session = %required.session, "the API refuses scopes the provider has just granted: not redirecting again");
    let message = format!(
        "The API refuses this page for lack of the scopes {}, which the provider has just \
         granted, so asking it again would end the same way. Check the application's \
         registration and permissions at the provider.",
        required.scopes.iter().collect::<ScopeSet>().join(" ")
    );
    Some(incomplete(&message))
}

fn incomplete(message: &str) -> Response {
    respond(
        StatusCode::FORBIDDEN,
        page("Authorization incomplete", message),
    )
    .into_response()
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
