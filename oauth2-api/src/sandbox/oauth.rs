//! The sandbox's authorization server: authorize, consent, token, revoke.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use oauth2::{PkceCodeChallenge, PkceCodeVerifier};
use serde_json::json;
use url::Url;

use super::{Code, Grant, SandboxClient, Shared, TokenFault, random_token};
use crate::flow::page::escape;

pub(crate) fn routes(config: &super::SandboxConfig) -> Router<Arc<Shared>> {
    Router::new()
        .route(&config.auth_path, get(authorize))
        .route("/oauth/consent", post(consent))
        .route(&config.token_path, post(token))
        .route("/oauth/revoke", post(revoke))
}

type Params = HashMap<String, String>;

fn client<'a>(shared: &'a Shared, id: &str) -> Option<&'a SandboxClient> {
    shared.config.clients.iter().find(|c| c.id == id)
}

fn redirect_allowed(client: &SandboxClient, uri: &str) -> bool {
    if client.redirect_uris.is_empty() {
        Url::parse(uri)
            .is_ok_and(|u| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")))
    } else {
        client.redirect_uris.iter().any(|r| r == uri)
    }
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><title>Sandbox error</title><p>{}</p>",
            escape(message)
        )),
    )
        .into_response()
}

/// Where to send the browser back, with `params` added to the redirect URI.
fn back(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = match Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "bad redirect_uri"),
    };
    url.query_pairs_mut().extend_pairs(params);
    Redirect::to(url.as_str()).into_response()
}

/// Checks an authorization request; `Err` is the response to send.
fn check_authorize(shared: &Shared, p: &Params) -> Result<(String, Vec<String>), Response> {
    let client_id = p.get("client_id").map(String::as_str).unwrap_or("");
    let Some(client) = client(shared, client_id) else {
        return Err(error_page(StatusCode::BAD_REQUEST, "unknown client_id"));
    };
    let redirect_uri = p.get("redirect_uri").cloned().unwrap_or_default();
    // An unregistered redirect URI gets an error page, never a redirect (RFC 6749 §4.1.2.1).
    if !redirect_allowed(client, &redirect_uri) {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not registered",
        ));
    }
    let state = p.get("state").cloned().unwrap_or_default();
    let fail = |error: &str, description: &str| {
        back(
            &redirect_uri,
            &[
                ("error", error),
                ("error_description", description),
                ("state", &state),
            ],
        )
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Err(fail("unsupported_response_type", "only response_type=code"));
    }
    if p.get("code_challenge_method").map(String::as_str) != Some("S256")
        || !p.contains_key("code_challenge")
    {
        return Err(fail("invalid_request", "PKCE with S256 is required"));
    }
    let scopes =
        requested_scopes(shared, p).map_err(|description| fail("invalid_scope", &description))?;
    Ok((redirect_uri, scopes))
}

fn issue_code(
    shared: &Shared,
    p: &Params,
    redirect_uri: &str,
    scopes: Vec<String>,
    user: &str,
) -> Response {
    let code = random_token();
    let mut granted: Vec<String> = Vec::new();
    for asked in scopes {
        if shared.config.withheld_scopes.contains(&asked) {
            continue;
        }
        let scope = match shared
            .config
            .broader_scopes
            .iter()
            .find(|(a, _)| *a == asked)
        {
            Some((_, broader)) => broader.clone(),
            None => asked,
        };
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    let scopes = granted;
    let mut state = shared.state();
    let family = state.next_family;
    state.next_family += 1;
    state.codes.insert(
        code.clone(),
        Code {
            grant: Grant {
                client_id: p["client_id"].clone(),
                user: Some(user.to_owned()),
                scopes,
                family,
            },
            redirect_uri: redirect_uri.to_owned(),
            challenge: p.get("code_challenge").cloned(),
            expires_at: SystemTime::now() + shared.config.code_ttl,
        },
    );
    drop(state);
    let st = p.get("state").cloned().unwrap_or_default();
    back(redirect_uri, &[("code", &code), ("state", &st)])
}

async fn authorize(State(shared): State<Arc<Shared>>, Query(p): Query<Params>) -> Response {
    shared.state().counts.authorize += 1;
    let (redirect_uri, scopes) = match check_authorize(&shared, &p) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    if shared.config.auto_approve {
        let user = p
            .get("login_hint")
            .unwrap_or(&shared.config.default_user)
            .clone();
        return issue_code(&shared, &p, &redirect_uri, scopes, &user);
    }
    let hidden: String = p
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html><meta charset="utf-8"><title>Sandbox: authorize</title>
<h1>Authorize {client}?</h1><p>It asks for: {scopes}</p>
<form method="post" action="/oauth/consent">{hidden}
<label>User <input name="user" value="{user}"></label>
<button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></form>"#,
        client = escape(&p["client_id"]),
        scopes = escape(&scopes.join(" ")),
        user = escape(&shared.config.default_user),
    ))
    .into_response()
}

async fn consent(State(shared): State<Arc<Shared>>, Form(p): Form<Params>) -> Response {
    let (redirect_uri, scopes) = match check_authorize(&shared, &p) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let state = p.get("state").cloned().unwrap_or_default();
    if p.get("decision").map(String::as_str) != Some("approve") {
        return back(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user refused"),
                ("state", &state),
            ],
        );
    }
    let user = p
        .get("user")
        .filter(|u| !u.is_empty())
        .unwrap_or(&shared.config.default_user)
        .clone();
    issue_code(&shared, &p, &redirect_uri, scopes, &user)
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client authenticated by HTTP Basic or by the form body.
fn authenticate<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
    p: &Params,
) -> Result<&'a SandboxClient, Response> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(decode_basic);
    let (id, secret) = match basic {
        Some(_) if shared.config.body_client_auth_only => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client credentials must be in the request body",
            ));
        }
        Some((id, secret)) => (id, Some(secret)),
        None => (
            p.get("client_id").cloned().unwrap_or_default(),
            p.get("client_secret").cloned(),
        ),
    };
    match client(shared, &id) {
        Some(c) if c.secret.is_none() || c.secret == secret => Ok(c),
        _ => Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )),
    }
}

fn decode_basic(b64: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let raw =
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).ok()?).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let form = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((form(id)?, form(secret)?))
}

fn issue_tokens(shared: &Shared, grant: Grant, with_refresh: bool) -> serde_json::Value {
    let access = random_token();
    let ttl = shared.config.access_ttl;
    let scope = grant.scopes.join(&shared.config.scope_answer_separator);
    let mut state = shared.state();
    state
        .access
        .insert(access.clone(), (grant.clone(), SystemTime::now() + ttl));
    let mut answer = json!({
        "access_token": access,
        "token_type": shared.config.token_type,
        "expires_in": ttl.as_secs(),
        "scope": scope,
    });
    if with_refresh {
        let refresh = random_token();
        state.refresh.insert(refresh.clone(), (grant, false));
        answer["refresh_token"] = json!(refresh);
    }
    answer
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    let break_access = {
        let mut state = shared.state();
        let front = matches!(
            state.token_faults.front(),
            Some(TokenFault::BreakAccessToken)
        );
        front && state.token_faults.pop_front().is_some()
    };
    let response = grant(&shared, &headers, &p).await;
    shared.persist();
    match break_access {
        true => break_access_token(response).await,
        false => response,
    }
}

/// The answer with a CR LF inside its access token (the rest, a rotation included, as
/// issued).
async fn break_access_token(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(serde_json::Value::String(access)) = json.get_mut("access_token") {
        access.push_str("\r\nX-Injected: 1");
    }
    let mut response = Json(json).into_response();
    *response.status_mut() = parts.status;
    response
}

/// An error page that shows what it was sent: what a secret-safe client must not keep.
fn echo(status: u16, headers: &HeaderMap, p: &Params) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut page = String::from("<html><body><h1>Error</h1><pre>");
    for (name, value) in p {
        page.push_str(&format!("{name}={value}\n"));
    }
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        page.push_str(&format!("Authorization: {auth}\n"));
        if let Some((_, secret)) = auth.strip_prefix("Basic ").and_then(decode_basic) {
            page.push_str(&format!("secret: {secret}\n"));
        }
    }
    page.push_str("</pre></body></html>");
    (status, Html(page)).into_response()
}

async fn grant(shared: &Shared, headers: &HeaderMap, p: &Params) -> Response {
    let grant_type = p.get("grant_type").cloned().unwrap_or_default();
    if let Some(response) = injected_fault(shared, &grant_type, headers, p).await {
        return response;
    }
    let client = match authenticate(shared, headers, p) {
        Ok(c) => c,
        Err(response) => return response,
    };
    // A refresh continues the grant the code began: the code's grant type allows it.
    let needs = match grant_type.as_str() {
        "refresh_token" => "authorization_code",
        other => other,
    };
    if !client.grant_types.is_empty() && !client.grant_types.iter().any(|g| g == needs) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client may not use this grant type",
        );
    }
    match grant_type.as_str() {
        "authorization_code" => authorization_code_grant(shared, client, p),
        "refresh_token" => refresh_token_grant(shared, client, p),
        "client_credentials" => client_credentials_grant(shared, client, p),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type",
        ),
    }
}

/// Counts the token request, then plays the next fault a test queued: `Some` is the
/// answer to send instead of the grant's, `None` lets the grant go on (after a delay or
/// a hold, for those faults).
async fn injected_fault(
    shared: &Shared,
    grant_type: &str,
    headers: &HeaderMap,
    p: &Params,
) -> Option<Response> {
    let fault = {
        let mut state = shared.state();
        match grant_type {
            "authorization_code" => state.counts.authorization_code += 1,
            "refresh_token" => state.counts.refresh_token += 1,
            "client_credentials" => state.counts.client_credentials += 1,
            _ => {}
        }
        state.token_faults.pop_front()
    };
    let fault = match fault {
        Some(TokenFault::Held(gate, then)) => {
            gate.notified().await;
            then.map(|f| *f)
        }
        other => other,
    };
    let response = match fault? {
        TokenFault::Held(..) | TokenFault::BreakAccessToken => return None,
        TokenFault::Echo(status) => echo(status, headers, p),
        TokenFault::Delay(d) => {
            tokio::time::sleep(d).await;
            return None;
        }
        TokenFault::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                status,
                Html("<html><body><h1>Gateway error</h1></body></html>"),
            )
                .into_response()
        }
        TokenFault::StatusRetryAfter(status, secs) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (status, [(header::RETRY_AFTER, secs.to_string())], "busy").into_response()
        }
        TokenFault::InvalidGrant => invalid_grant("injected fault"),
        TokenFault::InvalidClient => {
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "injected fault")
        }
        TokenFault::RefreshInProgress => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Refresh operation is already in progress",
        ),
        TokenFault::Raw(status, content_type, body) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        TokenFault::Body(body) => {
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
    };
    Some(response)
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// The requested scopes, or the description of the first one the sandbox does not know.
fn requested_scopes(shared: &Shared, p: &Params) -> Result<Vec<String>, String> {
    let scopes: Vec<String> = p
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    match scopes.iter().find(|s| !shared.config.scopes.contains(s)) {
        Some(bad) => Err(format!("unknown scope {bad}")),
        None => Ok(scopes),
    }
}

/// A code exchange: single use, for its client and redirect URI, with the PKCE verifier.
fn authorization_code_grant(shared: &Shared, client: &SandboxClient, p: &Params) -> Response {
    let code = p.get("code").cloned().unwrap_or_default();
    let Some(found) = shared.state().codes.remove(&code) else {
        return invalid_grant("unknown or used code");
    };
    if found.grant.client_id != client.id || found.expires_at <= SystemTime::now() {
        return invalid_grant("code expired or for another client");
    }
    if p.get("redirect_uri") != Some(&found.redirect_uri) {
        return invalid_grant("redirect_uri mismatch");
    }
    let verifier = p.get("code_verifier").cloned().unwrap_or_default();
    if !valid_verifier(&verifier) {
        return invalid_grant(
            "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)",
        );
    }
    let computed = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier));
    if found.challenge.as_deref() != Some(computed.as_str()) {
        return invalid_grant("code_verifier does not match");
    }
    Json(issue_tokens(shared, found.grant, true)).into_response()
}

/// A refresh: rotated (single use) or kept, or left out of the answer, as configured.
fn refresh_token_grant(shared: &Shared, client: &SandboxClient, p: &Params) -> Response {
    let refresh = p.get("refresh_token").cloned().unwrap_or_default();
    let mut state = shared.state();
    let Some((grant, used)) = state.refresh.get(&refresh).cloned() else {
        return invalid_grant("unknown refresh token");
    };
    if grant.client_id != client.id || state.revoked_families.contains(&grant.family) {
        return invalid_grant("refresh token revoked");
    }
    if used {
        // Reuse of a rotated refresh token: someone has a copy. Revoke the grant.
        state.revoked_families.insert(grant.family);
        return invalid_grant("refresh token already used");
    }
    let rotate = shared.config.rotate_refresh_tokens;
    if rotate {
        state.refresh.insert(refresh.clone(), (grant.clone(), true));
    }
    drop(state);
    let mut answer = issue_tokens(shared, grant, rotate);
    if !rotate && !shared.config.omit_refresh_token_on_refresh {
        answer["refresh_token"] = json!(refresh);
    }
    if shared.config.omit_refresh_token_on_refresh
        && let Some(rt) = answer
            .as_object_mut()
            .and_then(|o| o.remove("refresh_token"))
    {
        shared
            .state()
            .refresh
            .remove(rt.as_str().unwrap_or_default());
    }
    Json(answer).into_response()
}

/// The application's own token: confidential clients only, no refresh token.
fn client_credentials_grant(shared: &Shared, client: &SandboxClient, p: &Params) -> Response {
    if client.secret.is_none() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "public clients have no credentials",
        );
    }
    let scopes = match requested_scopes(shared, p) {
        Ok(scopes) => scopes,
        Err(description) => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &description);
        }
    };
    let family = {
        let mut state = shared.state();
        state.next_family += 1;
        state.next_family
    };
    let grant = Grant {
        client_id: client.id.clone(),
        user: None,
        scopes,
        family,
    };
    Json(issue_tokens(shared, grant, false)).into_response()
}

async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    shared.state().counts.revocation += 1;
    if let Err(response) = authenticate(&shared, &headers, &p) {
        return response;
    }
    let token = p.get("token").cloned().unwrap_or_default();
    let mut state = shared.state();
    let family = state
        .access
        .get(&token)
        .map(|(g, _)| g.family)
        .or_else(|| state.refresh.get(&token).map(|(g, _)| g.family));
    if let Some(family) = family {
        state.revoked_families.insert(family);
    }
    drop(state);
    shared.persist();
    // RFC 7009 §2.2: an unknown token is answered 200 too.
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_basic_credentials() {
        assert_eq!(
            super::decode_basic("c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ="),
            Some(("sandbox-client".to_owned(), "sandbox-secret".to_owned()))
        );
        assert_eq!(super::decode_basic("!!"), None);
    }
}
