//! Xero's API as the example uses it: `/connections` at the identity origin, and under
//! `/api.xro/2.0` the invoices of each organisation named by `xero-tenant-id`, in
//! numbered pages, with Xero's problem-details error bodies.

use std::collections::HashMap;

use axum::extract::{Extension, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use oauth2_api::sandbox::{SandboxConfig, SandboxGrant};
use serde_json::{Value, json};

/// The organisations the sandbox's person connected: (tenant id, name, invoices).
pub const TENANTS: [(&str, &str, usize); 2] = [
    ("7a3c1e0f-demo", "Demo Company (UK)", 7),
    ("b41d9a62-acme", "Acme Ltd", 2),
];

/// The sandbox's authorization server as Xero's: its paths (so the declaration's URLs
/// keep theirs), its scopes; refresh tokens rotate on each use (the default).
pub fn config() -> SandboxConfig {
    let scopes = [
        "offline_access",
        "accounting.transactions",
        "accounting.transactions.read",
    ];
    SandboxConfig {
        auth_path: "/identity/connect/authorize".to_owned(),
        token_path: "/connect/token".to_owned(),
        scopes: scopes.map(str::to_owned).to_vec(),
        rotate_refresh_tokens: true,
        ..SandboxConfig::default()
    }
}

/// The routes, to pass to `Sandbox::serve` with [`config`].
pub fn routes() -> Router {
    Router::new()
        .route("/connections", get(connections))
        .route("/api.xro/2.0/Invoices", get(invoices).post(create_invoice))
}

/// Xero's error body.
fn problem(status: StatusCode, kind: Option<&str>, title: &str, detail: &str) -> Response {
    let body = json!({"Type": kind, "Title": title, "Status": status.as_u16(), "Detail": detail});
    (status, Json(body)).into_response()
}

async fn connections() -> Json<Value> {
    let tenants: Vec<Value> = TENANTS
        .iter()
        .map(|(id, name, _)| json!({"id": format!("conn-{id}"), "tenantId": id, "tenantName": name, "tenantType": "ORGANISATION"}))
        .collect();
    Json(Value::Array(tenants))
}

/// How many invoices the organisation in `xero-tenant-id` has; 403 for none or another.
#[allow(clippy::result_large_err)] // the `Err` is the answer, returned with `?`
fn tenant(grant: &SandboxGrant, scope: &str, headers: &HeaderMap) -> Result<usize, Response> {
    grant.require(scope)?;
    let id = headers.get("xero-tenant-id").and_then(|v| v.to_str().ok());
    let known = TENANTS.iter().find(|(tenant, _, _)| Some(*tenant) == id);
    let forbidden = || {
        problem(
            StatusCode::FORBIDDEN,
            None,
            "Forbidden",
            "AuthorizationUnsuccessful",
        )
    };
    known.map(|(_, _, count)| *count).ok_or_else(forbidden)
}

/// One page of the organisation's invoices, `pageSize` per page (Xero's default 100).
async fn invoices(
    Extension(grant): Extension<SandboxGrant>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, usize>>,
) -> Result<Json<Value>, Response> {
    let count = tenant(&grant, "accounting.transactions.read", &headers)?;
    let page = query.get("page").copied().unwrap_or(1).max(1);
    let size = query.get("pageSize").copied().unwrap_or(100).max(1);
    let invoices: Vec<Value> = (1..=count)
        .skip((page - 1) * size)
        .take(size)
        .map(|n| json!({"InvoiceNumber": format!("INV-{n:04}"), "Status": if n % 3 == 0 { "PAID" } else { "AUTHORISED" }, "Total": 100.0 * n as f64}))
        .collect();
    Ok(Json(
        json!({"Id": "page", "Status": "OK", "Invoices": invoices}),
    ))
}

/// An invoice without a date is refused with Xero's validation problem.
async fn create_invoice(
    Extension(grant): Extension<SandboxGrant>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, Response> {
    tenant(&grant, "accounting.transactions", &headers)?;
    if body.get("Date").is_none() {
        let detail = "A Date is required for an invoice";
        return Err(problem(
            StatusCode::BAD_REQUEST,
            Some("ValidationException"),
            "Validation failed",
            detail,
        ));
    }
    let invoice = json!({"InvoiceNumber": "INV-0100", "Status": "DRAFT", "Total": 0.0});
    Ok(Json(json!({"Invoices": [invoice]})).into_response())
}
