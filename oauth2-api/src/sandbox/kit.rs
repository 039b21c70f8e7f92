//! The test kit: the sandbox's token check in front of an application's own routes, so
//! an integration with a provider the sandbox does not model is tested against routes
//! written in a few lines, with the real authorization and token flows.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

use super::{Grant, Shared};

/// What the sandbox's token check found, handed to the routes behind it as an axum
/// extension (`axum::Extension<SandboxGrant>`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxGrant {
    /// The client the token was issued to.
    pub client_id: String,
    /// The person who approved; `None` for a client-credentials token.
    pub user: Option<String>,
    /// The scopes granted, and those asked for that the sandbox granted as broader
    /// ones ([`SandboxConfig::broader_scopes`](super::SandboxConfig::broader_scopes)).
    pub scopes: Vec<String>,
}

impl SandboxGrant {
    /// `Ok` when the grant covers `scope`; else the answer a resource server gives
    /// (RFC 6750 §3.1): 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
    #[allow(clippy::result_large_err)] // the `Err` is the response, returned with `?`
    pub fn require(&self, scope: &str) -> Result<(), Response> {
        if self.scopes.iter().any(|s| s == scope) {
            return Ok(());
        }
        let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
        Err((
            StatusCode::FORBIDDEN,
            [(header::WWW_AUTHENTICATE, challenge)],
            axum::Json(serde_json::json!({"error": "insufficient_scope", "scope": scope})),
        )
            .into_response())
    }

    fn of(grant: Grant, shared: &Shared) -> Self {
        let mut scopes = grant.scopes;
        for (asked, granted) in &shared.config.broader_scopes {
            if scopes.contains(granted) && !scopes.contains(asked) {
                scopes.push(asked.clone());
            }
        }
        Self {
            client_id: grant.client_id,
            user: grant.user,
            scopes,
        }
    }
}

/// `routes` behind the sandbox's token check.
pub(super) fn protect(routes: axum::Router, shared: Arc<Shared>) -> axum::Router {
    routes.layer(middleware::from_fn_with_state(shared, check_token))
}

async fn check_token(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    match super::api::admit(&shared, request.headers(), None).await {
        Ok(grant) => {
            let grant = SandboxGrant::of(grant, &shared);
            request.extensions_mut().insert(grant);
            next.run(request).await
        }
        Err(answer) => answer,
    }
}
