//! The sandbox's PISTE Légifrance routes: POST with JSON bodies, a client-credentials
//! token with scope `openid`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Shared;
use super::api::admit;

const BASE: &str = "/dila/legifrance/lf-engine-app";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(&format!("{BASE}/consult/ping"), get(ping))
        .route(&format!("{BASE}/search"), post(search))
        .route(&format!("{BASE}/consult/getArticle"), post(get_article))
        .route(&format!("{BASE}/consult/code"), post(code))
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": 400, "error": "Bad Request", "message": message})),
    )
        .into_response()
}

async fn ping(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match admit(&shared, &headers, Some("openid")).await {
        Ok(_) => "pong".into_response(),
        Err(response) => response,
    }
}

async fn search(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = admit(&shared, &headers, Some("openid")).await {
        return response;
    }
    let Some(fond) = body["fond"].as_str() else {
        return bad_request("`fond` is required");
    };
    let page_size = body["recherche"]["pageSize"]
        .as_u64()
        .unwrap_or(10)
        .min(100);
    let results: Vec<Value> = (0..page_size.min(2))
        .map(|i| json!({"titles": [{"id": format!("LEGITEXT00000607{i}"), "title": format!("Code civil ({fond})")}]}))
        .collect();
    Json(json!({"totalResultNumber": results.len(), "results": results})).into_response()
}

async fn get_article(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = admit(&shared, &headers, Some("openid")).await {
        return response;
    }
    match body["id"].as_str() {
        Some(id) if id.starts_with("LEGIARTI") => Json(json!({
            "article": {"id": id, "num": "1", "texte": "Les lois et, lorsqu'ils sont publiés au Journal officiel..."}
        }))
        .into_response(),
        Some(_) => Json(json!({"article": null})).into_response(),
        None => bad_request("`id` is required"),
    }
}

async fn code(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = admit(&shared, &headers, Some("openid")).await {
        return response;
    }
    let (Some(text_id), Some(date)) = (body["textId"].as_str(), body["date"].as_str()) else {
        return bad_request("`textId` and `date` are required");
    };
    Json(json!({"id": text_id, "title": "Code civil", "dateDebutVersion": date, "sections": []}))
        .into_response()
}
