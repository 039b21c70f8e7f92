//! Review of issue 15: a Stripe/Calendar-like API it was not built around, declared and
//! used behind the sandbox's test kit (attacks: `regressions_paging.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Extension, Query, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response as AxResponse};
use axum::routing::get;
use axum::{Json, Router};
use oauth2_api::sandbox::{Sandbox, SandboxConfig, SandboxGrant};
use oauth2_api::store::MemoryStore;
use oauth2_api::{ApiUser, Response, UserRef, oauth2_api};
use oauth2_api_tests::{REDIRECT_URL, authorize, sandbox_client};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------- (a) the declaration

#[derive(Clone, Debug)]
pub struct Merchant(pub u32);
impl ApiUser for Merchant {
    fn user_ref(&self) -> UserRef {
        UserRef::new("merchant", self.0)
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Event {
    pub id: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Customer {
    pub id: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StripeErrorBody {
    pub error: StripeErrorDetail,
}
#[derive(Clone, Debug, Deserialize)]
pub struct StripeErrorDetail {
    pub r#type: String,
    pub message: String,
}

#[derive(Debug)]
pub enum PayError {
    Declined(String),
    Other(oauth2_api::Error),
}
impl From<oauth2_api::Error> for PayError {
    fn from(e: oauth2_api::Error) -> Self {
        match e.error_body::<StripeErrorBody>() {
            Some(b) if b.error.r#type == "card_error" => {
                PayError::Declined(b.error.message.clone())
            }
            _ => PayError::Other(e),
        }
    }
}
pub type PayResult<T> = Result<T, PayError>;

#[derive(Debug, Serialize)]
pub struct EventFilter {
    #[serde(rename = "timeMin")]
    pub time_min: Option<String>,
    #[serde(rename = "singleEvents")]
    pub single_events: bool,
    pub weight: f64,
}

#[oauth2_api(
    provider = "Stripe",
    environment(name = "live", base_url = "https://api.stripe.com/v1",
                base_urls(files = "https://files.stripe.com/v1"),
                auth_url = "https://connect.stripe.com/oauth/authorize",
                token_url = "https://connect.stripe.com/oauth/token"),
    environment(name = "test", base_url = "https://api.stripe.com/v1",
                base_urls(files = "https://files.stripe.com/v1"),
                auth_url = "https://connect.stripe.com/oauth/authorize",
                token_url = "https://connect.stripe.com/oauth/token"),
    scopes = ["offline_access"],
    scope_implies("read_write" = "read_only"),
    error_body = StripeErrorBody
)]
pub trait Stripe {
    /// Calendar-style: `{"items":[..],"nextPageToken":".."}`.
    #[endpoint(method = GET, path = "/events", scope = "read_only", user = Merchant,
               paginate(cursor = "nextPageToken", param = "pageToken", items = "items"))]
    async fn events(
        &self,
        #[query] r#type: Option<&str>,
        #[query] filter: &EventFilter,
    ) -> PayResult<Vec<Event>>;

    #[endpoint(method = GET, path = "/customers/{id}", scope = "read_only", user = Merchant)]
    async fn customer(&self, id: &str) -> PayResult<Response<Customer>>;

    #[endpoint(method = GET, path = "/files", scope = "read_only", user = Merchant, base_url = files)]
    async fn files(&self) -> PayResult<Value>;

    #[endpoint(method = POST, path = "/charges", scope = "read_write", user = Merchant)]
    async fn charge(&self) -> PayResult<Value>;

    /// Stripe-style `has_more` + `starting_after = last id`: no declaration fits, so by hand.
    #[endpoint(method = GET, path = "/customers", scope = "read_only", user = Merchant)]
    async fn customers(
        &self,
        #[query] starting_after: Option<&str>,
        #[query] limit: u32,
    ) -> PayResult<Value>;
}

pub(crate) type Seen = Arc<Mutex<Vec<String>>>;

fn stripe_routes(seen: Seen, throttled: Arc<AtomicUsize>) -> Router {
    let record = move |req: Request, next: Next| {
        let seen = seen.clone();
        async move {
            let auth = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap_or("?").to_owned());
            seen.lock().unwrap().push(format!(
                "{} auth={:?}",
                req.uri(),
                auth.map(|a| a.split(' ').next().unwrap().to_owned())
            ));
            next.run(req).await
        }
    };
    Router::new()
        .route("/v1/events", get(|Extension(g): Extension<SandboxGrant>, Query(q): Query<std::collections::HashMap<String, String>>| async move {
            g.require("read_only")?;
            let page: usize = q.get("pageToken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let items: Vec<Value> = (page * 2..(page * 2 + 2).min(5)).map(|i| json!({"id": format!("ev{i}"), "echo": q})).collect();
            let next = if page < 2 { json!((page + 1).to_string()) } else { Value::Null };
            Ok::<_, AxResponse>(Json(json!({"items": items, "nextPageToken": next})))
        }))
        .route("/v1/customers/{id}", get(move |axum::extract::Path(id): axum::extract::Path<String>| {
            let throttled = throttled.clone();
            async move {
                if throttled.fetch_add(1, Ordering::SeqCst) == 0 {
                    let at = http_date(2);
                    return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, at)], "slow down").into_response();
                }
                if id == "missing" {
                    return (StatusCode::NOT_FOUND, Json(json!({"error":{"type":"invalid_request_error","message":"No such customer"}}))).into_response();
                }
                ([("request-id", "req_123")], Json(json!({"id": id}))).into_response()
            }
        }))
        .route("/files-host/v1/files", get(|| async { Json(json!({"from": "files"})) }))
        .route("/v1/files", get(|| async { Json(json!({"from": "api"})) }))
        .route("/v1/charges", axum::routing::post(|| async {
            (StatusCode::PAYMENT_REQUIRED, Json(json!({"error":{"type":"card_error","message":"Your card was declined."}})))
        }))
        .route("/v1/customers", get(|Query(q): Query<std::collections::HashMap<String, String>>| async move {
            let all = ["c1", "c2", "c3"];
            let start = q.get("starting_after").and_then(|s| all.iter().position(|c| c == s)).map_or(0, |p| p + 1);
            let data: Vec<Value> = all[start..].iter().take(2).map(|c| json!({"id": c})).collect();
            Json(json!({"data": data, "has_more": start + 2 < all.len()}))
        }))
        .layer(axum::middleware::from_fn(record))
}

pub(crate) fn stripe_sandbox() -> SandboxConfig {
    SandboxConfig {
        scopes: ["read_only", "read_write", "offline_access"]
            .map(str::to_owned)
            .to_vec(),
        broader_scopes: vec![("read_only".to_owned(), "read_write".to_owned())],
        auth_path: "/oauth/authorize".to_owned(),
        token_path: "/oauth/token".to_owned(),
        ..SandboxConfig::default()
    }
}

async fn stripe(sandbox: &Sandbox, merchant: &Merchant) -> StripeClient {
    // glue begins
    let runtime = StripeClient::builder()
        .credentials_for(StripeEnv::Test, sandbox_client(REDIRECT_URL))
        .default_environment(StripeEnv::Test)
        .all_urls_at(sandbox.url())
        .named_base_url(
            StripeEnv::Test,
            "files",
            format!("{}/files-host/v1", sandbox.url()),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let client = StripeClient::new(runtime);
    // glue ends
    authorize(
        sandbox,
        client.runtime(),
        merchant,
        &["read_only", "read_write", "offline_access"],
    )
    .await;
    client
}

#[tokio::test]
async fn a_stripe_like_api_in_a_few_lines() {
    let seen: Seen = Arc::default();
    let sandbox = Sandbox::serve(
        stripe_sandbox(),
        stripe_routes(seen.clone(), Arc::default()),
    )
    .await
    .unwrap();
    let m = Merchant(1);
    let client = stripe(&sandbox, &m).await;

    let filter = EventFilter {
        time_min: None,
        single_events: true,
        weight: f64::NAN,
    };
    let all = client
        .events_items(&m, Some("charge.succeeded"), &filter)
        .collect()
        .await
        .unwrap();
    println!(
        "events: {:?}",
        all.iter().map(|e| &e.id).collect::<Vec<_>>()
    );
    assert_eq!(all.len(), 5);

    let started = std::time::Instant::now();
    let c = client.customer(&m, "cus_1").await.unwrap();
    println!(
        "customer: status {} request-id {:?} body {:?} after {:?} (429 with HTTP-date Retry-After first)",
        c.status,
        c.header("Request-Id"),
        c.body,
        started.elapsed()
    );
    assert_eq!(c.body.id, "cus_1");

    let files = client.files(&m).await.unwrap();
    println!("files: {files}");
    assert_eq!(files["from"], "files");

    match client.charge(&m).await {
        Err(PayError::Declined(msg)) => println!("charge declined: {msg}"),
        other => panic!("expected Declined, got {other:?}"),
    }
    match client.customer(&m, "missing").await {
        Err(PayError::Other(e)) => {
            let b = e.error_body::<StripeErrorBody>().expect("typed body");
            println!(
                "missing: {} {} / {}",
                e.status().unwrap(),
                b.error.r#type,
                b.error.message
            );
        }
        other => panic!("{other:?}"),
    }
    // Stripe's has_more/starting_after by hand.
    let mut after: Option<String> = None;
    let mut ids = Vec::new();
    loop {
        let page = client.customers(&m, after.as_deref(), 2).await.unwrap();
        let data = page["data"].as_array().unwrap();
        ids.extend(data.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
        after = data.last().map(|c| c["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids, ["c1", "c2", "c3"]);
    for line in seen.lock().unwrap().iter() {
        println!("seen: {line}");
    }
}

/// An HTTP date `offset` seconds from now.
pub(crate) fn http_date(offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    chrono::DateTime::from_timestamp(now + offset, 0)
        .unwrap()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}
