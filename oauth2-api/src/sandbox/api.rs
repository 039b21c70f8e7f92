//! The sandbox's API: HMRC-shaped routes and error bodies.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{ApiFault, Grant, Shared};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/hello/world", get(hello_world))
        .route("/hello/application", get(hello_application))
        .route("/hello/user", get(hello_user))
        .route("/organisations/vat/{vrn}/obligations", get(obligations))
        .route("/organisations/vat/{vrn}/returns", post(submit_return))
        .route(
            "/organisations/vat/{vrn}/returns/{period_key}",
            get(view_return),
        )
        .route("/organisations/vat/{vrn}/liabilities", get(liabilities))
        .route("/organisations/vat/{vrn}/payments", get(payments))
        .route(
            "/test/fraud-prevention-headers/validate",
            get(validate_fraud_headers),
        )
}

/// The headers each connection method requires (spec 3.3), checked like HMRC's validator:
/// present, non-empty, never `null`.
async fn validate_fraud_headers(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(response) = admit(&shared, &headers, None).await {
        return response;
    }
    let method = headers
        .get("Gov-Client-Connection-Method")
        .and_then(|v| v.to_str().ok());
    let required: &[&str] = match method {
        Some("WEB_APP_VIA_SERVER") => &[
            "Gov-Client-Browser-JS-User-Agent",
            "Gov-Client-Device-ID",
            "Gov-Client-Public-IP",
            "Gov-Client-Public-IP-Timestamp",
            "Gov-Client-Public-Port",
            "Gov-Client-Screens",
            "Gov-Client-Timezone",
            "Gov-Client-User-IDs",
            "Gov-Client-Window-Size",
            "Gov-Vendor-Product-Name",
            "Gov-Vendor-Public-IP",
            "Gov-Vendor-Version",
        ],
        Some("BATCH_PROCESS_DIRECT") => &[
            "Gov-Client-Device-ID",
            "Gov-Client-Local-IPs",
            "Gov-Client-Local-IPs-Timestamp",
            "Gov-Client-MAC-Addresses",
            "Gov-Client-Timezone",
            "Gov-Client-User-Agent",
            "Gov-Client-User-IDs",
            "Gov-Vendor-Product-Name",
            "Gov-Vendor-Version",
        ],
        _ => {
            return Json(json!({"code": "INVALID_HEADERS", "message": "At least 1 header is invalid",
                "errors": [{"code": "INVALID_HEADER", "message": "missing or unknown Gov-Client-Connection-Method", "headers": ["gov-client-connection-method"]}]}))
            .into_response();
        }
    };
    let errors: Vec<Value> = required
        .iter()
        .filter(|name| {
            let value = headers.get(**name).and_then(|v| v.to_str().ok()).unwrap_or("");
            value.is_empty() || value == "null" || value.contains("=null")
        })
        .map(|name| json!({"code": "MISSING_HEADER", "message": format!("Header required"), "headers": [name.to_ascii_lowercase()]}))
        .collect();
    if errors.is_empty() {
        Json(json!({"specVersion": "3.3", "code": "VALID_HEADERS", "message": "All headers appear to be valid"})).into_response()
    } else {
        Json(json!({"specVersion": "3.3", "code": "INVALID_HEADERS", "message": "At least 1 header is invalid", "errors": errors})).into_response()
    }
}

const HMRC_ACCEPT: &str = "application/vnd.hmrc.1.0+json";

fn check_accept(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if shared.config.require_hmrc_accept && accept != Some(HMRC_ACCEPT) {
        return Err(hmrc_error(
            StatusCode::NOT_ACCEPTABLE,
            "ACCEPT_HEADER_INVALID",
            "The accept header is missing or invalid",
        ));
    }
    Ok(())
}

pub(crate) fn hmrc_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// Counts the call, applies an injected fault, checks the bearer token and its scope.
pub(crate) async fn admit(
    shared: &Shared,
    headers: &HeaderMap,
    scope: Option<&str>,
) -> Result<Grant, Response> {
    let fault = {
        let mut state = shared.state();
        state.counts.api += 1;
        state.api_faults.pop_front()
    };
    check_accept(shared, headers)?;
    match fault {
        None => {}
        Some(ApiFault::Delay(d)) => tokio::time::sleep(d).await,
        Some(ApiFault::Status(status, body)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Err(
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
            );
        }
        Some(ApiFault::Challenge(status, challenge)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
            return Err((status, [(header::WWW_AUTHENTICATE, challenge)], "").into_response());
        }
        Some(ApiFault::Throttled(secs)) => {
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, secs.to_string())],
                Json(json!({"code": "MESSAGE_THROTTLED_OUT", "message": "The request for the API is throttled as you have exceeded your quota."})),
            )
                .into_response());
        }
    }
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Err(hmrc_error(
            StatusCode::UNAUTHORIZED,
            "MISSING_CREDENTIALS",
            "Authentication information is not provided",
        ));
    };
    let state = shared.state();
    let valid = state
        .access
        .get(token)
        .filter(|(g, expires)| {
            *expires > SystemTime::now() && !state.revoked_families.contains(&g.family)
        })
        .map(|(g, _)| g.clone());
    drop(state);
    let Some(grant) = valid else {
        return Err(hmrc_error(
            StatusCode::UNAUTHORIZED,
            "INVALID_CREDENTIALS",
            "Invalid Authentication information provided",
        ));
    };
    let broader = |s: &String| {
        shared
            .config
            .broader_scopes
            .iter()
            .any(|(asked, granted)| Some(asked.as_str()) == scope && granted == s)
    };
    if let Some(scope) = scope
        && !grant.scopes.iter().any(|s| s == scope || broader(s))
    {
        return Err(hmrc_error(
            StatusCode::FORBIDDEN,
            "INVALID_SCOPE",
            "Cannot access the requested resource with the provided token",
        ));
    }
    Ok(grant)
}

async fn hello_world() -> Json<Value> {
    Json(json!({"message": "Hello World"}))
}

async fn hello_application(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match admit(&shared, &headers, None).await {
        Ok(_) => Json(json!({"message": "Hello Application"})).into_response(),
        Err(response) => response,
    }
}

async fn hello_user(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match admit(&shared, &headers, Some("hello")).await {
        Ok(Grant {
            user: Some(user), ..
        }) => (
            [("X-Sandbox-User", user)],
            Json(json!({"message": "Hello User"})),
        )
            .into_response(),
        Ok(_) => hmrc_error(
            StatusCode::FORBIDDEN,
            "INCORRECT_ACCESS_TOKEN_TYPE",
            "A user-restricted endpoint needs a user token",
        ),
        Err(response) => response,
    }
}

fn check_vrn(vrn: &str) -> Result<(), Response> {
    if vrn.len() == 9 && vrn.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(hmrc_error(
            StatusCode::BAD_REQUEST,
            "VRN_INVALID",
            "The provided VRN is invalid",
        ))
    }
}

fn date(
    q: &HashMap<String, String>,
    name: &str,
    code: &str,
) -> Result<chrono::NaiveDate, Response> {
    q.get(name)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            hmrc_error(
                StatusCode::BAD_REQUEST,
                code,
                &format!("Invalid {name} date: expected YYYY-MM-DD"),
            )
        })
}

/// `from` and `to`, checked as HMRC does: both present, in order, at most 366 days apart.
fn date_range(
    q: &HashMap<String, String>,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), Response> {
    let from = date(q, "from", "INVALID_DATE_FROM")?;
    let to = date(q, "to", "INVALID_DATE_TO")?;
    if to < from || (to - from).num_days() > 366 {
        return Err(hmrc_error(
            StatusCode::BAD_REQUEST,
            "INVALID_DATE_RANGE",
            "Invalid date range, must be 366 days or less",
        ));
    }
    Ok((from, to))
}

/// Admission, VRN and date range: what every VAT read checks.
async fn vat_read(
    shared: &Shared,
    headers: &HeaderMap,
    vrn: &str,
    q: &HashMap<String, String>,
) -> Result<(), Response> {
    admit(shared, headers, Some("read:vat")).await?;
    check_vrn(vrn)?;
    date_range(q)?;
    Ok(())
}

async fn obligations(
    State(shared): State<Arc<Shared>>,
    Path(vrn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = vat_read(&shared, &headers, &vrn, &q).await {
        return response;
    }
    let obligation = |start: &str, end: &str, due: &str, key: &str, met: bool| {
        let mut o = json!({"start": start, "end": end, "due": due, "status": if met { "F" } else { "O" }, "periodKey": key});
        if met {
            o["received"] = json!(due);
        }
        o
    };
    let quarter = |n: usize, met: bool| {
        let q = [
            ("2017-01-01", "2017-03-31", "2017-05-07", "18A1"),
            ("2017-04-01", "2017-06-30", "2017-08-07", "18A2"),
            ("2017-07-01", "2017-09-30", "2017-11-07", "18A3"),
            ("2017-10-01", "2017-12-31", "2018-02-07", "18A4"),
        ][n];
        obligation(q.0, q.1, q.2, q.3, met)
    };
    // `Gov-Test-Scenario` picks canned answers, as in HMRC's sandbox.
    let scenario = headers
        .get("Gov-Test-Scenario")
        .and_then(|v| v.to_str().ok());
    let all: Vec<Value> = match scenario {
        Some("QUARTERLY_NONE_MET") => (0..4).map(|n| quarter(n, false)).collect(),
        Some("QUARTERLY_ONE_MET") => (0..4).map(|n| quarter(n, n == 0)).collect(),
        Some("QUARTERLY_FOUR_MET") => (0..4).map(|n| quarter(n, true)).collect(),
        Some("NOT_FOUND") => {
            return hmrc_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "The requested resource could not be found",
            );
        }
        _ => vec![quarter(0, true), quarter(1, false)],
    };
    let status = q.get("status");
    let obligations: Vec<&Value> = all
        .iter()
        .filter(|o| status.is_none_or(|s| o["status"] == json!(s)))
        .collect();
    Json(json!({"obligations": obligations})).into_response()
}

/// The nine boxes of a VAT return, and the rules HMRC checks on them.
const BOXES: [&str; 9] = [
    "vatDueSales",
    "vatDueAcquisitions",
    "totalVatDue",
    "vatReclaimedCurrPeriod",
    "netVatDue",
    "totalValueSalesExVAT",
    "totalValuePurchasesExVAT",
    "totalValueGoodsSuppliedExVAT",
    "totalAcquisitionsExVAT",
];

fn check_return(body: &Value) -> Result<(), Response> {
    let bad = |code: &str, message: &str| Err(hmrc_error(StatusCode::BAD_REQUEST, code, message));
    if !body["periodKey"].is_string() {
        return bad("PERIOD_KEY_INVALID", "Invalid period key");
    }
    for name in BOXES {
        if !body[name].is_number() {
            return bad(
                "INVALID_REQUEST",
                &format!("/{name} is missing or not a number"),
            );
        }
    }
    let pence = |name: &str| (body[name].as_f64().unwrap_or(0.0) * 100.0).round() as i64;
    if pence("totalVatDue") != pence("vatDueSales") + pence("vatDueAcquisitions") {
        return bad(
            "VAT_TOTAL_VALUE",
            "totalVatDue should be equal to vatDueSales + vatDueAcquisitions",
        );
    }
    if !body["finalised"].is_boolean() {
        return bad("INVALID_REQUEST", "/finalised is missing");
    }
    Ok(())
}

async fn submit_return(
    State(shared): State<Arc<Shared>>,
    Path(vrn): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(response) = admit(&shared, &headers, Some("write:vat")).await {
        return response;
    }
    if let Err(response) = check_vrn(&vrn) {
        return response;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return hmrc_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "Invalid request body",
        );
    };
    if let Err(response) = check_return(&body) {
        return response;
    }
    if body["finalised"] != json!(true) {
        return hmrc_error(
            StatusCode::FORBIDDEN,
            "NOT_FINALISED",
            "User has not declared VAT return as final",
        );
    }
    let period_key = body["periodKey"].as_str().unwrap_or_default().to_owned();
    {
        let mut state = shared.state();
        let key = (vrn.clone(), period_key.clone());
        if state.returns.contains_key(&key) {
            return hmrc_error(
                StatusCode::FORBIDDEN,
                "DUPLICATE_SUBMISSION",
                "The VAT return was already submitted for the given period",
            );
        }
        state.returns.insert(key, body.clone());
    }
    (
        StatusCode::CREATED,
        [
            ("Receipt-ID", "2f5b3b6a-0d6c-4c42-9a0a-9f2bd2c81d1e"),
            ("Receipt-Timestamp", "2026-11-28T12:00:00.000Z"),
            ("X-CorrelationId", "sandbox-correlation"),
        ],
        Json(json!({
            "processingDate": "2026-11-28T12:00:00.000Z",
            "paymentIndicator": "BANK",
            "formBundleNumber": "256660290587",
            "chargeRefNumber": "aCxFaNx0FZsCvyWF",
        })),
    )
        .into_response()
}

async fn view_return(
    State(shared): State<Arc<Shared>>,
    Path((vrn, period_key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&shared, &headers, Some("read:vat")).await {
        return response;
    }
    if let Err(response) = check_vrn(&vrn) {
        return response;
    }
    match shared.state().returns.get(&(vrn, period_key)) {
        Some(submitted) => {
            let mut answer = submitted.clone();
            if let Some(o) = answer.as_object_mut() {
                o.remove("finalised");
            }
            Json(answer).into_response()
        }
        None => hmrc_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource could not be found",
        ),
    }
}

async fn liabilities(
    State(shared): State<Arc<Shared>>,
    Path(vrn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = vat_read(&shared, &headers, &vrn, &q).await {
        return response;
    }
    Json(json!({"liabilities": [
        {"taxPeriod": {"from": "2017-01-01", "to": "2017-03-31"}, "type": "VAT Return Debit Charge",
         "originalAmount": 463872.00, "outstandingAmount": 463872.00, "due": "2017-05-07"},
        {"taxPeriod": {"from": "2017-04-01", "to": "2017-06-30"}, "type": "VAT Return Debit Charge",
         "originalAmount": 15.00, "outstandingAmount": 0, "due": "2017-08-07"},
    ]}))
    .into_response()
}

async fn payments(
    State(shared): State<Arc<Shared>>,
    Path(vrn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = vat_read(&shared, &headers, &vrn, &q).await {
        return response;
    }
    Json(json!({"payments": [
        {"amount": 15.00, "received": "2017-08-07"},
        {"amount": 5.00, "received": "2017-08-08"},
    ]}))
    .into_response()
}
