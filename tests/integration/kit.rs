//! The test kit: a GitHub-style integration tested against its own routes behind the
//! sandbox's authorization server, in a few lines; with it, what the declared calls send
//! (raw identifiers, flattened struct queries).

use std::collections::BTreeMap;

use axum::extract::{Extension, Query};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use oauth2_api::sandbox::{Sandbox, SandboxConfig, SandboxGrant};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Error, RuntimeBuilder, oauth2_api};
use oauth2_api_tests::{Company, REDIRECT_URL, authorize, sandbox_client};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Serialize)]
pub struct Filter {
    pub state: &'static str,
    pub per_page: Option<u32>,
}

#[oauth2_api(
    provider = "GitHub",
    base_url = "https://api.github.com",
    auth_url = "https://github.com/login/oauth/authorize",
    token_url = "https://github.com/login/oauth/access_token"
)]
pub trait GitHub {
    #[endpoint(method = GET, path = "/user", scope = "read:user", user = Company)]
    async fn user(&self) -> Result<User, Error>;

    #[endpoint(method = GET, path = "/echo", scope = "read:user", user = Company)]
    async fn echo(
        &self,
        #[query] r#where: Option<&str>,
        #[query] filter: &Filter,
    ) -> Result<BTreeMap<String, String>, Error>;

    #[endpoint(method = GET, path = "/agent", user = Application)]
    async fn agent(&self) -> Result<BTreeMap<String, String>, Error>;
}

/// The stand-in for the provider's API: what a new integration writes.
pub(crate) fn routes() -> Router {
    Router::new()
        .route(
            "/user",
            get(|Extension(grant): Extension<SandboxGrant>| async move {
                grant.require("read:user")?;
                Ok::<_, Response>(Json(json!({ "login": grant.user })))
            }),
        )
        .route(
            "/agent",
            get(|headers: axum::http::HeaderMap| async move {
                let header = |name: &str| {
                    let value = headers.get(name).and_then(|v| v.to_str().ok());
                    (name.to_owned(), value.unwrap_or_default().to_owned())
                };
                Json(BTreeMap::from([
                    header("user-agent"),
                    header("x-own-client"),
                ]))
            }),
        )
        .route(
            "/echo",
            get(|Query(query): Query<BTreeMap<String, String>>| async move { Json(query) }),
        )
}

pub(crate) fn github_sandbox() -> SandboxConfig {
    SandboxConfig {
        scopes: vec!["read:user".to_owned()],
        auth_path: "/login/oauth/authorize".to_owned(),
        token_path: "/login/oauth/access_token".to_owned(),
        ..SandboxConfig::default()
    }
}

pub(crate) async fn github(sandbox: &Sandbox) -> GitHubClient {
    github_with(sandbox, |b| b).await
}

async fn github_with(
    sandbox: &Sandbox,
    more: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder,
) -> GitHubClient {
    let builder = GitHubClient::builder()
        .credentials(sandbox_client(REDIRECT_URL))
        .all_urls_at(sandbox.url())
        .store(MemoryStore::new());
    GitHubClient::new(more(builder).build().unwrap())
}

#[tokio::test]
async fn an_integration_is_tested_against_its_routes_behind_the_sandbox() {
    let sandbox = Sandbox::serve(github_sandbox(), routes()).await.unwrap();
    let client = github(&sandbox).await;
    let company = Company(1);
    let err = client.user(&company).await.unwrap_err();
    assert!(matches!(err, Error::AuthorizationRequired(_)), "{err:?}");
    authorize(&sandbox, client.runtime(), &company, &["read:user"]).await;
    assert_eq!(client.user(&company).await.unwrap().login, "sandbox-user");
    // The token is checked before the route runs.
    let anonymous = reqwest::get(format!("{}/user", sandbox.url()))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(sandbox.counts().api, 2);
}

#[tokio::test]
async fn raw_identifiers_and_struct_queries_are_sent_as_the_server_names_them() {
    let sandbox = Sandbox::serve(github_sandbox(), routes()).await.unwrap();
    let client = github(&sandbox).await;
    let company = Company(2);
    authorize(&sandbox, client.runtime(), &company, &["read:user"]).await;
    let filter = Filter {
        state: "open",
        per_page: None,
    };
    let sent = client
        .echo(&company, Some("Status==\"PAID\""), &filter)
        .await
        .unwrap();
    let expected: BTreeMap<String, String> = [("where", "Status==\"PAID\""), ("state", "open")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn requests_name_their_user_agent_or_use_the_applications_client() {
    let sandbox = Sandbox::serve(github_sandbox(), routes()).await.unwrap();
    let sent = github(&sandbox).await.agent().await.unwrap();
    assert_eq!(sent["user-agent"], oauth2_api::DEFAULT_USER_AGENT);
    assert!(sent["user-agent"].starts_with("oauth2-api/"));
    let named = github_with(&sandbox, |b| b.user_agent("my-app/1.0")).await;
    assert_eq!(named.agent().await.unwrap()["user-agent"], "my-app/1.0");
    let own = reqwest::Client::builder()
        .user_agent("own/2")
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::HeaderName::from_static("x-own-client"),
            reqwest::header::HeaderValue::from_static("yes"),
        )]))
        .build()
        .unwrap();
    let own = github_with(&sandbox, |b| b.reqwest_client(own)).await;
    let sent = own.agent().await.unwrap();
    assert_eq!(
        (sent["user-agent"].as_str(), sent["x-own-client"].as_str()),
        ("own/2", "yes")
    );
}
