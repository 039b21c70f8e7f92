//! GitHub's API as the example uses it: `/user`, `/user/repos` in pages with `Link`
//! headers, and the 422 GitHub answers to a name already taken; requests without a
//! `User-Agent` are refused, as GitHub does.

use std::collections::HashMap;

use axum::extract::{Extension, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use oauth2_api::sandbox::{SandboxConfig, SandboxGrant};
use serde_json::{Value, json};

/// The repositories the sandbox's person owns: seven, so three pages of three.
pub const REPOS: [&str; 7] = [
    "hello-world",
    "dotfiles",
    "blog",
    "notes",
    "oauth2-demo",
    "advent",
    "scratch",
];

/// The sandbox's authorization server as GitHub's: its paths (so the declaration's
/// URLs keep theirs), the broader `user` granted for `read:user`, the granted scopes
/// listed comma-separated.
pub fn config() -> SandboxConfig {
    SandboxConfig {
        auth_path: "/login/oauth/authorize".to_owned(),
        token_path: "/login/oauth/access_token".to_owned(),
        scopes: ["read:user", "user", "repo"].map(str::to_owned).to_vec(),
        broader_scopes: vec![("read:user".to_owned(), "user".to_owned())],
        scope_answer_separator: ",".to_owned(),
        ..SandboxConfig::default()
    }
}

/// The routes, to pass to `Sandbox::serve` with [`config`].
pub fn routes() -> Router {
    Router::new()
        .route("/user", get(user))
        .route("/user/repos", get(repos).post(create_repo))
        .layer(axum::middleware::from_fn(require_user_agent))
}

#[allow(clippy::result_large_err)] // the `Err` is the answer, returned with `?`
fn person(grant: &SandboxGrant, scope: &str) -> Result<String, Response> {
    grant.require(scope)?;
    Ok(grant.user.clone().unwrap_or_default())
}

async fn user(Extension(grant): Extension<SandboxGrant>) -> Result<Json<Value>, Response> {
    let login = person(&grant, "read:user")?;
    Ok(Json(json!({ "login": login, "id": 1 })))
}

/// One page of [`REPOS`], with GitHub's `Link` header (absolute URLs) while more follow.
async fn repos(
    Extension(grant): Extension<SandboxGrant>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Response> {
    let login = person(&grant, "repo")?;
    let number = |name: &str, default: usize| {
        let value = query.get(name).and_then(|v| v.parse().ok());
        value.unwrap_or(default).max(1)
    };
    let (page, per_page) = (number("page", 1), number("per_page", 30));
    let items: Vec<Value> = REPOS
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|name| json!({ "full_name": format!("{login}/{name}"), "private": name.len() % 2 == 0 }))
        .collect();
    let last = REPOS.len().div_ceil(per_page);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let link = |page: usize, rel: &str| {
        let host = host.unwrap_or("localhost");
        format!("<http://{host}/user/repos?per_page={per_page}&page={page}>; rel=\"{rel}\"")
    };
    let mut answer = Json(items).into_response();
    if page < last {
        let links = format!("{}, {}", link(page + 1, "next"), link(last, "last"));
        let value = links
            .parse()
            .map_err(|_| StatusCode::BAD_REQUEST.into_response())?;
        answer.headers_mut().insert(header::LINK, value);
    }
    Ok(answer)
}

/// A name among [`REPOS`] is taken: GitHub's 422 with its error body.
async fn create_repo(
    Extension(grant): Extension<SandboxGrant>,
    Json(body): Json<Value>,
) -> Result<Response, Response> {
    let login = person(&grant, "repo")?;
    let name = body["name"].as_str().unwrap_or_default();
    if REPOS.contains(&name) {
        let error = json!({
            "message": "Repository creation failed.",
            "errors": [{"resource": "Repository", "code": "custom", "field": "name",
                        "message": "name already exists on this account"}],
            "documentation_url": "https://docs.github.com/rest/repos/repos#create-a-repository-for-the-authenticated-user",
            "status": "422"
        });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(error)).into_response());
    }
    let repo = json!({ "full_name": format!("{login}/{name}"), "private": false });
    Ok((StatusCode::CREATED, Json(repo)).into_response())
}

/// GitHub's answer to a request without `User-Agent`.
async fn require_user_agent(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.headers().contains_key(header::USER_AGENT) {
        return next.run(request).await;
    }
    let error = json!({
        "message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.",
        "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required"
    });
    (StatusCode::FORBIDDEN, Json(error)).into_response()
}
