//! What bench 1 compares, shared by `runtime` (criterion) and `call_profile` (for
//! profilers): a declared API, a loopback server, and the hand-written request.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oauth2_api::store::SessionStore;
use oauth2_api::{ApiUser, Credentials, Error, SessionState, TokenSet, UserRef, oauth2_api};
use serde::Deserialize;

/// The API user of every bench call.
#[derive(Clone)]
pub(crate) struct Bench(pub(crate) u32);

impl ApiUser for Bench {
    fn user_ref(&self) -> UserRef {
        UserRef::new("bench", self.0)
    }
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // decoded, as a caller would, not read
pub(crate) struct Hello {
    message: String,
}

#[oauth2_api(
    provider = "BENCH",
    base_url = "http://127.0.0.1:1",
    auth_url = "http://127.0.0.1:1/auth",
    token_url = "http://127.0.0.1:1/token"
)]
pub(crate) trait BenchApi {
    #[endpoint(method = GET, path = "/hello", scope = "hello", user = Bench)]
    async fn hello(&self) -> Result<Hello, Error>;
}

pub(crate) const TOKEN: &str = "bench-access-token-0123456789";

/// A loopback API that checks the bearer token and answers a small JSON body.
pub(crate) async fn api_server() -> String {
    use axum::http::{HeaderMap, StatusCode, header};
    async fn hello(headers: HeaderMap) -> Result<&'static str, StatusCode> {
        match headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            Some(v) if v.strip_prefix("Bearer ") == Some(TOKEN) => {
                Ok(r#"{"message":"Hello User"}"#)
            }
            _ => Err(StatusCode::UNAUTHORIZED),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().route("/hello", axum::routing::get(hello)),
        )
        .await
    });
    url
}

pub(crate) fn valid_tokens() -> SessionState {
    SessionState {
        tokens: Some(TokenSet {
            access_token: TOKEN.to_owned().into(),
            refresh_token: Some("bench-refresh-token".to_owned().into()),
            expires_at: Some(SystemTime::now() + Duration::from_secs(3600)),
            scopes: vec!["hello".into()],
            token_type: "bearer".into(),
        }),
        last_error: None,
    }
}

pub(crate) async fn client(base: &str, store: Arc<dyn SessionStore>) -> BenchApiClient {
    let runtime = BenchApiClient::builder()
        .credentials(Credentials::new("id").secret("secret"))
        .base_url("default", base)
        .shared_store(store)
        .build()
        .unwrap();
    let key = runtime.session_key(&Bench(1)).await.unwrap();
    runtime
        .store()
        .compare_and_swap(&key, 0, &valid_tokens())
        .await
        .unwrap();
    BenchApiClient::new(runtime)
}

pub(crate) async fn by_hand(http: &reqwest::Client, url: &str) -> Hello {
    http.get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}
