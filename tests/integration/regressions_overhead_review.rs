//! An outside review of the per-call fast path: attacks on the call cache, the
//! pre-encoded query, requests built in place, capped bodies. The first three found
//! bugs (fixed); the others are attacks that held.

use std::sync::Arc;
use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SessionStore};
use oauth2_api::{Application, Error, Method};
use oauth2_api_tests::backends::Backend;
use oauth2_api_tests::{Company, authorize, hello_status, sandbox_builder};

use crate::regressions_fast_path::{echo, echo_authorized};

/// A server answering every request with `head` (status line and headers, up to the
/// blank line) and then `pieces`, each written and flushed apart, then holding the
/// connection open without sending the rest.
async fn lying_server(head: String, pieces: Vec<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (head, pieces) = (head.clone(), pieces.clone());
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.flush().await;
                for piece in pieces {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = socket.write_all(&piece).await;
                    let _ = socket.flush().await;
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    url
}

/// A server's `Content-Length` is believed only up to 1 MiB when the body comes in
/// several chunks: under a large cap (`max_response_bytes(usize::MAX)`), a server
/// announcing 2^63+1 bytes and sending two panicked the call (`capacity overflow`);
/// 2^40 would have aborted the process, and under the default cap every such answer
/// reserved 16 MiB before the bytes existed.
#[tokio::test]
async fn a_lying_content_length_under_a_large_cap_neither_panics_nor_reserves_it() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                content-length: 9223372036854775809\r\n\r\n"
        .to_owned();
    let server = lying_server(head, vec![b"[".to_vec(), b"1".to_vec()]).await;
    let runtime = sandbox_builder(&sandbox)
        .base_url("sandbox", &server)
        .max_response_bytes(usize::MAX)
        .api_timeout(Duration::from_secs(2))
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let call = tokio::spawn(async move {
        runtime
            .request(&Application, Method::Get, "/data")
            .send()
            .await
            .map(|a| a.status)
    });
    let joined = tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .expect("the call ends (its timeout)");
    match joined {
        Err(e) if e.is_panic() => panic!("the call panicked on a server's Content-Length"),
        Err(e) => panic!("{e}"),
        // Expected: a transport error (timeout, the body never completes).
        Ok(result) => assert!(result.is_err(), "{result:?}"),
    }
}

/// `RawRequest`'s `Debug` shows header and parameter names, never their values or the
/// body: `tracing::debug!(?request)` must not log an API key header or a `code` (it
/// printed them all, where errors and `Pages` already showed no query).
#[tokio::test]
async fn a_raw_requests_debug_shows_no_header_query_or_body_value() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let request = runtime
        .request(&Company(1), Method::Post, "/things")
        .header("X-Api-Key", "s3cret-header-value")
        .query("code", "s3cret-query-value")
        .json(&serde_json::json!({ "password": "s3cret-body-value" }))
        .unwrap();
    let shown = format!("{request:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    for named in ["X-Api-Key", "\"code\"", "/things", "body_bytes: Some(32)"] {
        assert!(shown.contains(named), "{named} in {shown}");
    }
}

/// A body announced by `Content-Length` at the cap, in two chunks, arrives whole;
/// one byte over is refused before reading; a lying length (shorter body, then the
/// connection held) ends in a transport error, not a short body.
#[tokio::test]
async fn content_length_at_and_over_the_cap_and_a_short_body() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let limit = 16usize;
    let send = |server: String| {
        let runtime = sandbox_builder(&sandbox)
            .base_url("sandbox", &server)
            .max_response_bytes(limit)
            .api_timeout(Duration::from_secs(1))
            .store(MemoryStore::new())
            .build()
            .unwrap();
        async move {
            runtime
                .request(&Application, Method::Get, "/data")
                .send()
                .await
        }
    };
    let head = |len: usize| format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n");
    let at = lying_server(head(16), vec![vec![b'a'; 8], vec![b'b'; 8]]).await;
    let answer = send(at).await.unwrap();
    assert_eq!(&answer.body[..], b"aaaaaaaabbbbbbbb");
    let over = lying_server(head(17), vec![vec![b'a'; 17]]).await;
    assert!(matches!(
        send(over).await.unwrap_err(),
        Error::ResponseTooLarge { .. }
    ));
    let short = lying_server(head(10), vec![vec![b'a'; 4]]).await;
    assert!(matches!(
        send(short).await.unwrap_err(),
        Error::Transport { .. }
    ));
}

/// SQLite and PostgreSQL: two runtimes on one database (two processes), a
/// provider with no revocation endpoint (the token stays valid there). The second
/// disconnects the user; the first, with a 300 ms time to live, may send the token it
/// remembered only until its entry ages out, then asks for authorization and sends
/// nothing.
async fn a_disconnect_elsewhere_is_seen_after_the_ttl(backend: &Backend) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let provider = oauth2_api::Provider::new("HMRC").environment(oauth2_api::Environment::new(
        "sandbox",
        sandbox.url(),
        sandbox.auth_url(),
        sandbox.token_url(),
    ));
    let one = oauth2_api_tests::builder_for(provider.clone())
        .shared_store(backend.open().await)
        .cache_ttl(Duration::from_millis(300))
        .build()
        .unwrap();
    let other = oauth2_api_tests::builder_for(provider)
        .shared_store(backend.open().await)
        .build()
        .unwrap();
    let company = Company(1);
    authorize(&sandbox, &one, &company, &["hello"]).await;
    assert_eq!(hello_status(&one, &company).await.unwrap(), 200);
    assert_eq!(hello_status(&other, &company).await.unwrap(), 200);
    other.disconnect(&company).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = sandbox.counts().api;
    let err = hello_status(&one, &company).await.unwrap_err();
    assert_eq!(
        err.authorization_required().map(|r| r.reason),
        Some(oauth2_api::AuthorizationReason::NotAuthorized)
    );
    assert_eq!(
        sandbox.counts().api,
        before,
        "the forgotten token was not sent"
    );
}

oauth2_api_tests::on_both_backends!(
    disconnect_elsewhere_after_ttl,
    super::a_disconnect_elsewhere_is_seen_after_the_ttl
);

/// A cached token is never handed to another user of the same id and another
/// kind, nor to the same user for scopes it does not cover, nor after `disconnect`.
#[tokio::test]
async fn a_cached_token_stays_with_its_user_scopes_and_session() {
    let company = Company(1);
    let (sandbox, runtime) = echo_authorized(&company).await;
    echo(&runtime, &company, &[]).await;
    let person = oauth2_api::UserRef::new("person", "1");
    let err = runtime
        .request(&person, Method::Get, "/echo")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    assert!(err.authorization_required().is_some(), "{err:?}");
    let err = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello", "admin"])
        .send()
        .await
        .unwrap_err();
    assert!(err.authorization_required().is_some(), "{err:?}");
    let before = sandbox.counts().api;
    runtime.disconnect(&company).await.unwrap();
    let err = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    assert!(err.authorization_required().is_some(), "{err:?}");
    assert_eq!(
        sandbox.counts().api,
        before,
        "nothing sent after disconnect"
    );
}

/// A store write whose answer is lost (it landed, then reported a failure) still
/// forgets the cached token: the next call sees the cleared session.
#[tokio::test]
async fn a_write_reported_failed_still_forgets_the_cached_token() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = oauth2_api_tests::backends::FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = sandbox_builder(&sandbox)
        .shared_store(store.clone())
        .cache_ttl(Duration::from_secs(3600))
        .build()
        .unwrap();
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    let key = runtime.session_key(&company).await.unwrap();
    let version = runtime.store().load(&key).await.unwrap().unwrap().version;
    store.lose_write_answers(1);
    let cleared = oauth2_api::SessionState::default();
    let written = runtime
        .store()
        .compare_and_swap(&key, version, &cleared)
        .await;
    assert!(written.is_err(), "the answer was lost");
    let before = sandbox.counts().api;
    let err = hello_status(&runtime, &company).await.unwrap_err();
    assert!(err.authorization_required().is_some(), "{err:?}");
    assert_eq!(sandbox.counts().api, before);
    let _: &Arc<dyn SessionStore> = runtime.store();
}

/// `cache_ttl(Duration::MAX)` with a two-second token: the token remembered is
/// not sent once due (a second before expiry, half its life), the call renews it first;
/// no call is refused.
#[tokio::test]
async fn an_endless_ttl_does_not_outlive_a_short_token() {
    let sandbox = Sandbox::start(SandboxConfig {
        access_ttl: Duration::from_secs(2),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .cache_ttl(Duration::MAX)
        .build()
        .unwrap();
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(hello_status(&runtime, &company).await.unwrap(), 200);
    let counts = sandbox.counts();
    assert_eq!(
        (counts.refresh_token, counts.api),
        (2, 4),
        "renewed before use, no 401"
    );
}

static QUERY_ENDPOINT: oauth2_api::__private::Endpoint = oauth2_api::__private::Endpoint {
    name: "echo",
    method: Method::Get,
    scopes: oauth2_api::__private::ScopeSet::declared(&["hello"]),
    authorize_scopes: oauth2_api::__private::ScopeSet::declared(&["hello"]),
    headers: &[],
    base_url: None,
};

/// Declared query arguments of every shape (strings with `+&=#`, tabs and line
/// breaks, empty, non-ASCII, `None`, NaN, floats, sequences, a date's `Display`, a
/// flattened struct) arrive byte for byte as `url`'s `append_pair` writes their texts.
#[tokio::test]
async fn declared_query_values_arrive_as_url_encodes_their_texts() {
    #[derive(serde::Serialize)]
    struct Filter {
        #[serde(rename = "where")]
        condition: &'static str,
        skipped: Option<u8>,
        ids: Vec<f64>,
    }
    let company = Company(1);
    let (_sandbox, runtime) = echo_authorized(&company).await;
    let date = chrono::NaiveDate::from_ymd_opt(2017, 1, 31).unwrap();
    let mut request = oauth2_api::__private::Request::new(&QUERY_ENDPOINT);
    request.path("/echo");
    request.query("a", "a+b&c=d#e", "x y\t\r\n");
    request.query("b", "é", &Some("ü ✓"));
    request.query("c", "c", &Option::<u8>::None);
    request.query("d", "d", &f64::NAN);
    request.query("e", "e", &[0.1f64, -0.0, 1e300]);
    request.query("f", "f", "");
    request.query("g", "g", &date);
    request.query(
        "h",
        "h",
        &Filter {
            condition: "Status==\"PAID\"",
            skipped: None,
            ids: vec![1.5, f64::NAN],
        },
    );
    let company = oauth2_api::ApiUser::user_ref(&company);
    let decode = <serde_json::Value as oauth2_api::FromAnswer>::from_answer;
    let call = oauth2_api::__private::call(&runtime, company, request, decode, |e| e);
    let answer: serde_json::Value = call.await.unwrap();
    let expected = [
        ("a+b&c=d#e", "x y\t\r\n"),
        ("é", "ü ✓"),
        ("e", "0.1"),
        ("e", "-0.0"),
        ("e", "1e+300"), // serde_json's text, as before
        ("f", ""),
        ("g", "2017-01-31"),
        ("ids", "1.5"),
        ("where", "Status==\"PAID\""),
    ];
    let mut url = url::Url::parse("http://x/echo").unwrap();
    for (n, v) in expected {
        url.query_pairs_mut().append_pair(n, v);
    }
    assert_eq!(answer["query"].as_str(), url.query());
}

/// A header name that cannot be one is shown up to where it goes wrong: curl's `-H`
/// habit, `.header("Authorization: Bearer <token>", "")`, put the token in the error's
/// text. It is refused before any token is fetched, and nothing is sent.
#[tokio::test]
async fn a_refused_header_name_does_not_show_what_follows_it() {
    let company = Company(1);
    let (sandbox, runtime) = echo_authorized(&company).await;
    let before = sandbox.counts().api;
    let err = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .header("Authorization: Bearer s3cret-token", "")
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::InvalidArgument { argument, .. } => assert_eq!(argument, "header Authorization…"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sandbox.counts().api, before, "nothing sent");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}
