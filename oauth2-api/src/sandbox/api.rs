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
}

pub(crate) fn hmrc_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// Counts the call, applies an injected fault, checks the bearer token and its scope.
async fn admit(
    shared: &Shared,
    headers: &HeaderMap,
    scope: Option<&str>,
) -> Result<Grant, Response> {
    let fault = {
        let mut state = shared.state();
        state.counts.api += 1;
        state.api_faults.pop_front()
    };
    match fault {
        None => {}
        Some(ApiFault::Delay(d)) => tokio::time::sleep(d).await,
        Some(ApiFault::Status(status, body)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Err(
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
            );
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
    if let Some(scope) = scope
        && !grant.scopes.iter().any(|s| s == scope)
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

async fn obligations(
    State(shared): State<Arc<Shared>>,
    Path(vrn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&shared, &headers, Some("read:vat")).await {
        return response;
    }
    if let Err(response) = check_vrn(&vrn) {
        return response;
    }
    let (Some(from), Some(to)) = (q.get("from"), q.get("to")) else {
        return hmrc_error(
            StatusCode::BAD_REQUEST,
            "INVALID_DATE_RANGE",
            "Invalid date range, must be 366 days or less",
        );
    };
    if from > to {
        return hmrc_error(
            StatusCode::BAD_REQUEST,
            "INVALID_DATE_RANGE",
            "Invalid date range, must be 366 days or less",
        );
    }
    let all = [
        json!({"start": "2017-01-01", "end": "2017-03-31", "due": "2017-05-07", "status": "F", "periodKey": "18A1", "received": "2017-05-06"}),
        json!({"start": "2017-04-01", "end": "2017-06-30", "due": "2017-08-07", "status": "O", "periodKey": "18A2"}),
    ];
    let status = q.get("status");
    let obligations: Vec<&Value> = all
        .iter()
        .filter(|o| status.is_none_or(|s| o["status"] == json!(s)))
        .collect();
    Json(json!({"obligations": obligations})).into_response()
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
    if body["finalised"] != json!(true) {
        return hmrc_error(
            StatusCode::FORBIDDEN,
            "NOT_FINALISED",
            "The return was not finalised",
        );
    }
    (
        StatusCode::CREATED,
        [
            ("Receipt-ID", "sandbox-receipt"),
            ("X-CorrelationId", "sandbox-correlation"),
        ],
        Json(json!({
            "processingDate": "2026-11-28T12:00:00.000Z",
            "paymentIndicator": "BANK",
            "formBundleNumber": "256660290587",
            "chargeRefNumber": "aCxFaNx0FZsCvyWF",
            "periodKey": body["periodKey"],
        })),
    )
        .into_response()
}
