//! Named extra base URLs: a Xero-style API whose tenants list lives on another base
//! than its accounting endpoints.

use axum::routing::get;
use axum::{Json, Router};
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Application, Error, Method, oauth2_api};
use oauth2_api_tests::{REDIRECT_URL, sandbox_client};
use serde_json::{Value, json};

#[oauth2_api(
    provider = "Xero",
    environment(
        name = "production",
        base_url = "https://api.xero.com/api.xro/2.0",
        base_urls(identity = "https://api.xero.com"),
        auth_url = "https://login.xero.com/identity/connect/authorize",
        token_url = "https://identity.xero.com/connect/token"
    )
)]
pub trait Xero {
    #[endpoint(method = GET, path = "/connections", user = Application, base_url = identity)]
    async fn connections(&self) -> Result<Value, Error>;

    #[endpoint(method = GET, path = "/Invoices", user = Application)]
    async fn invoices(&self) -> Result<Value, Error>;
}

fn routes() -> Router {
    Router::new()
        .route("/connections", get(|| async { Json(json!(["tenant"])) }))
        .route(
            "/api.xro/2.0/Invoices",
            get(|| async { Json(json!({"Invoices": []})) }),
        )
        .route(
            "/elsewhere/connections",
            get(|| async { Json(json!(["moved"])) }),
        )
}

async fn xero(sandbox: &Sandbox, identity: Option<String>) -> XeroClient {
    let mut builder = XeroClient::builder()
        .credentials(sandbox_client(REDIRECT_URL))
        .all_urls_at(sandbox.url())
        .store(MemoryStore::new());
    if let Some(url) = identity {
        builder = builder.named_base_url(XeroEnv::Production, "identity", url);
    }
    XeroClient::new(builder.build().unwrap())
}

fn xero_sandbox() -> SandboxConfig {
    SandboxConfig {
        token_path: "/connect/token".to_owned(),
        auth_path: "/identity/connect/authorize".to_owned(),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn an_endpoint_picks_its_base_url_by_name() {
    let sandbox = Sandbox::serve(xero_sandbox(), routes()).await.unwrap();
    let client = xero(&sandbox, None).await;
    assert_eq!(client.connections().await.unwrap(), json!(["tenant"]));
    assert_eq!(client.invoices().await.unwrap(), json!({"Invoices": []}));
    // The escape hatch picks one the same way.
    let raw = client
        .runtime()
        .request(&Application, Method::Get, "/connections")
        .base_url("identity")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.json::<Value>("connections").unwrap(), json!(["tenant"]));
    let unknown = client
        .runtime()
        .request(&Application, Method::Get, "/connections")
        .base_url("idenity")
        .send()
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("no base URL named `idenity`"),
        "{unknown}"
    );
}

#[tokio::test]
async fn the_builder_overrides_a_named_base_url() {
    let sandbox = Sandbox::serve(xero_sandbox(), routes()).await.unwrap();
    let client = xero(&sandbox, Some(format!("{}/elsewhere", sandbox.url()))).await;
    assert_eq!(client.connections().await.unwrap(), json!(["moved"]));
}

/// The same path sent in turn to two base URLs and with other queries: each call goes
/// where it is addressed, however recently the other URL was built.
#[tokio::test]
async fn a_repeated_path_goes_to_the_base_url_each_call_names() {
    let echo = |uri: axum::http::Uri| async move { uri.to_string() };
    let routes = Router::new()
        .route("/echo", get(echo))
        .route("/api.xro/2.0/echo", get(echo));
    let sandbox = Sandbox::serve(xero_sandbox(), routes).await.unwrap();
    let client = xero(&sandbox, None).await;
    let runtime = client.runtime();
    let reached = |base: Option<&'static str>, page: &'static str| async move {
        let mut request = runtime.request(&Application, Method::Get, "/echo");
        if let Some(base) = base {
            request = request.base_url(base);
        }
        let answer = request.query("page", page).send().await.unwrap();
        answer.text()
    };
    for _ in 0..3 {
        assert_eq!(reached(None, "1").await, "/api.xro/2.0/echo?page=1");
        assert_eq!(reached(Some("identity"), "1").await, "/echo?page=1");
        assert_eq!(reached(Some("identity"), "2").await, "/echo?page=2");
        assert_eq!(reached(None, "a b").await, "/api.xro/2.0/echo?page=a+b");
        assert_eq!(reached(None, "1").await, "/api.xro/2.0/echo?page=1");
    }
}
