//! A paginated list, four ways: what real APIs do, for tests of declared pagination.
//! Seven items `{"id": 1}` .. `{"id": 7}`, three per page unless asked otherwise, behind
//! the `hello` scope:
//!
//! - `/pages/link?page=2&per_page=3`: an array, with GitHub's `Link: <...>; rel="next"`
//!   (absolute URLs; relative ones with `relative=true`, on another origin with
//!   `foreign=true`) until the last page;
//! - `/pages/numbered?page=2&pageSize=3`: Xero's `{"Items": [...]}`, 1-based page numbers;
//! - `/pages/offset?offset=3&limit=3`: an array;
//! - `/pages/cursor?cursor=c3&limit=3`: `{"data": [...], "meta": {"next_cursor": "c6"}}`,
//!   `null` on the last page.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Shared;
use super::api::admit;

/// How many items the list holds.
const TOTAL: usize = 7;
const DEFAULT_SIZE: usize = 3;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/pages/link", get(link))
        .route("/pages/numbered", get(numbered))
        .route("/pages/offset", get(offset))
        .route("/pages/cursor", get(cursor))
}

type Params = Query<HashMap<String, String>>;

fn number(params: &HashMap<String, String>, name: &str, default: usize) -> usize {
    params
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Items `start + 1 ..` (at most `size`), as JSON.
fn slice(start: usize, size: usize) -> Vec<Value> {
    (start + 1..=TOTAL.min(start + size))
        .map(|id| json!({ "id": id }))
        .collect()
}

async fn link(State(shared): State<Arc<Shared>>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(refused) = admit(&shared, &headers, Some("hello")).await {
        return refused;
    }
    let (page, size) = (
        number(&p, "page", 1).max(1),
        number(&p, "per_page", DEFAULT_SIZE),
    );
    let items = slice((page - 1) * size, size);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let mut response = Json(items).into_response();
    if page * size < TOTAL
        && let Ok(value) = link_header(&p, host, page, size).parse()
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// The `Link` header of page `page`: absolute targets; relative ones (which RFC 8288
/// allows) when asked `relative=true`; on another origin (`localhost`, which a client
/// must not follow with its token) when asked `foreign=true`.
fn link_header(p: &HashMap<String, String>, host: &str, page: usize, size: usize) -> String {
    let flag = |name: &str| p.get(name).is_some_and(|v| v == "true");
    let (origin, rel) = if flag("relative") {
        (String::new(), "&relative=true")
    } else if flag("foreign") {
        let port = host.rsplit(':').next().unwrap_or("80");
        (format!("http://localhost:{port}"), "&foreign=true")
    } else {
        (format!("http://{host}"), "")
    };
    format!(
        "<{origin}/pages/link?per_page={size}&page={}{rel}>; rel=\"next\", \
         <{origin}/pages/link?per_page={size}&page=1{rel}>; rel=\"first\"",
        page + 1
    )
}

async fn numbered(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Err(refused) = admit(&shared, &headers, Some("hello")).await {
        return refused;
    }
    let (page, size) = (
        number(&p, "page", 1).max(1),
        number(&p, "pageSize", DEFAULT_SIZE),
    );
    Json(json!({ "Items": slice((page - 1) * size, size) })).into_response()
}

async fn offset(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Err(refused) = admit(&shared, &headers, Some("hello")).await {
        return refused;
    }
    let size = number(&p, "limit", DEFAULT_SIZE);
    Json(slice(number(&p, "offset", 0), size)).into_response()
}

async fn cursor(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Err(refused) = admit(&shared, &headers, Some("hello")).await {
        return refused;
    }
    // The cursor is opaque to clients: `c` and the offset.
    let start = p
        .get("cursor")
        .and_then(|c| c.strip_prefix('c'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let size = number(&p, "limit", DEFAULT_SIZE);
    let end = start + size;
    let next = (end < TOTAL).then(|| format!("c{end}"));
    Json(json!({ "data": slice(start, size), "meta": { "next_cursor": next } })).into_response()
}
