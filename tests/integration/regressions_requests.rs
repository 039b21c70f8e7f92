//! Requests as the fast path builds them, against what tries to break them: query texts
//! with every awkward character (byte for byte what the `url` crate writes), queries of
//! base and absolute URLs, a `Display` that fails, headers that cannot be headers.

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Environment, Error, Method};
use oauth2_api_tests::{Company, authorize, builder_for, sandbox_builder};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::regressions_fast_path::{
    echo, echo_authorized, echo_config, echo_routes, long_cache_sandbox,
};

fn url_crate_query(base: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(base).unwrap();
    for (n, v) in pairs {
        url.query_pairs_mut().append_pair(n, v);
    }
    url.query().map(str::to_owned)
}

const AWKWARD: &[(&str, &str)] = &[
    ("a&b", "c=d"),
    ("plus", "1+1 = 2"),
    ("pct", "100%25 %zz"),
    ("tab", "\t\r\n"),
    ("ünï", "çødé ✓ 𝄞"),
    ("", ""),
    ("empty", ""),
    ("hash", "#frag?x"),
    ("star", "*-._~'!()"),
];

#[tokio::test]
async fn awkward_query_texts_arrive_as_the_url_crate_encodes_them() {
    let company = Company(8);
    let (_sandbox, runtime) = echo_authorized(&company).await;
    let got = echo(&runtime, &company, AWKWARD).await;
    assert_eq!(
        got["query"].as_str().map(str::to_owned),
        url_crate_query("http://x/echo", AWKWARD)
    );
    // The same request again (the URL comes from the recent-URL memory).
    let again = echo(&runtime, &company, AWKWARD).await;
    assert_eq!(again["query"], got["query"]);
}

/// A base URL with its own query (an API version), then the call's parameters.
#[tokio::test]
async fn a_base_url_with_a_query_keeps_it_before_the_calls_parameters() {
    let sandbox = Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let provider = oauth2_api::Provider::new("Xero").environment(Environment::new(
        "sandbox",
        format!("{}/?api-version=2&x=a+b", sandbox.url()),
        sandbox.auth_url(),
        sandbox.token_url(),
    ));
    let runtime = builder_for(provider)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let company = Company(9);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let got = echo(&runtime, &company, &[("q", "a&b")]).await;
    assert_eq!(got["query"], "api-version=2&x=a+b&q=a%26b");
    let none = echo(&runtime, &company, &[]).await;
    assert_eq!(none["query"], "api-version=2&x=a+b");
}

/// An absolute URL (a `Link` target) with its own query, and raw parameters added.
#[tokio::test]
async fn an_absolute_url_with_a_query_gets_the_parameters_after_its_own() {
    let company = Company(10);
    let (sandbox, runtime) = echo_authorized(&company).await;
    let url = format!("{}/echo?page=2&q=%C3%BC+x#frag", sandbox.url());
    let answer = runtime
        .request(&company, Method::Get, &url)
        .scopes(&["hello"])
        .query("page", "3 4")
        .send()
        .await
        .unwrap();
    let got: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(got["query"], "page=2&q=%C3%BC+x&page=3+4");
    // A foreign absolute URL with a cached token: refused, nothing sent there.
    let before = sandbox.counts().api;
    let err = runtime
        .request(&company, Method::Get, "https://evil.example.com/echo?x=1")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ForeignUrl { .. }), "{err:?}");
    assert_eq!(sandbox.counts().api, before);
}

/// A `Display` that fails in the escape hatch's `.query` is refused by the parameter's
/// name when the request is sent, and nothing goes out (it used to panic).
#[tokio::test]
async fn a_failing_display_in_a_raw_query_is_refused_not_sent() {
    struct Failing;
    impl std::fmt::Display for Failing {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("half")?;
            Err(std::fmt::Error)
        }
    }
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let company = Company(11);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let sent_before = sandbox.counts().api;
    let err = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .query("bad", Failing)
        .send()
        .await
        .unwrap_err();
    let Error::InvalidArgument { argument, .. } = &err else {
        panic!("expected InvalidArgument, got {err:?}");
    };
    assert_eq!(argument, "bad");
    assert_eq!(sandbox.counts().api, sent_before, "nothing was sent");
}

// ---------------------------------------------------------------------------------
// 3./4. Headers built in place.
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn raw_headers_that_cannot_be_headers_are_refused_by_name_and_not_sent() {
    let company = Company(12);
    let (sandbox, runtime) = echo_authorized(&company).await;
    echo(&runtime, &company, &[]).await; // the token is cached
    let before = sandbox.counts().api;
    // A name that is not one is shown up to where it goes wrong.
    for (name, value, shown) in [
        ("X-Note", "s3cr3t\r\nX-Injected: 1", "X-Note"),
        ("X-Note", "s3cr3t\n", "X-Note"),
        ("X-Note", "s3cr3t\0", "X-Note"),
        ("Bad Name", "s3cr3t", "Bad…"),
        ("X-Note:", "s3cr3t", "X-Note…"),
        ("", "s3cr3t", ""),
    ] {
        let err = runtime
            .request(&company, Method::Get, "/echo")
            .scopes(&["hello"])
            .header(name, value)
            .send()
            .await
            .unwrap_err();
        let Error::InvalidArgument { argument, .. } = &err else {
            panic!("{name:?}: {err:?}");
        };
        assert_eq!(argument, &format!("header {shown}"));
        assert!(!format!("{err} {err:?}").contains("s3cr3t"), "{err:?}");
    }
    assert_eq!(sandbox.counts().api, before, "nothing sent");
}

#[tokio::test]
async fn a_hook_header_that_cannot_be_one_is_refused_and_order_is_kept() {
    let sandbox = Sandbox::serve(echo_config(), echo_routes("sandbox"))
        .await
        .unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .request_hook(|r: &mut oauth2_api::OutgoingRequest<'_>| {
            if r.url.query().is_some_and(|q| q.contains("inject")) {
                r.add_header("X-Hook", "s3cr3t\r\nX-Injected: yes");
            } else {
                r.add_header("X-Hook", "1");
                r.add_header("x-hook", "2");
            }
            Ok(())
        })
        .build()
        .unwrap();
    let company = Company(13);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let got = echo(&runtime, &company, &[]).await;
    let hooks: Vec<&str> = got["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0] == "x-hook")
        .map(|h| h[1].as_str().unwrap())
        .collect();
    assert_eq!(hooks, ["1", "2"]);
    let auth: Vec<&Value> = got["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0] == "authorization")
        .collect();
    assert_eq!(auth.len(), 1);
    let before = sandbox.counts().api;
    let err = runtime
        .request(&company, Method::Get, "/echo")
        .scopes(&["hello"])
        .query("inject", "1")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { argument, .. } if argument == "header X-Hook"),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("s3cr3t"));
    assert_eq!(sandbox.counts().api, before);
}

/// A stored access token that is not a header value: refused without showing it, and
/// nothing is sent.
#[tokio::test]
async fn a_token_that_is_not_a_header_value_is_never_shown_or_sent() {
    let company = Company(14);
    let (sandbox, runtime) = echo_authorized(&company).await;
    let mut tokens = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    let secret = "TOPSECRET\r\nX-Injected: 1";
    tokens.access_token = secret.to_owned().into();
    oauth2_api_tests::write_tokens(&runtime, &company, tokens).await;
    let before = sandbox.counts().api;
    for _ in 0..2 {
        let err = runtime
            .request(&company, Method::Get, "/echo")
            .scopes(&["hello"])
            .send()
            .await
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&err);
        while let Some(s) = source {
            assert!(!format!("{s} {s:?}").contains("TOPSECRET"));
            source = s.source();
        }
    }
    assert_eq!(sandbox.counts().api, before);
}

/// Every ASCII character in one value arrives as `url`'s `query_pairs_mut` encodes it.
#[tokio::test]
async fn every_ascii_character_in_a_query_value_arrives_as_url_encodes_it() {
    let company = Company(15);
    let (_sandbox, runtime) = echo_authorized(&company).await;
    let all: String = (1u8..128).map(char::from).collect();
    let got = echo(&runtime, &company, &[("all", &all)]).await;
    assert_eq!(
        got["query"].as_str().map(str::to_owned),
        url_crate_query("http://x/echo", &[("all", &all)])
    );
}

/// More users than the cache holds (10 000): the sweep keeps every answer right, and a
/// user whose entry was swept is read from the store again.
#[tokio::test]
async fn more_users_than_the_cache_holds_still_get_their_own_tokens() {
    let (_sandbox, runtime) = long_cache_sandbox().await;
    let store = runtime.store().clone();
    let n = 10_050u32;
    for i in 0..n {
        let user = Company(100_000 + i);
        let key = runtime.session_key(&user).await.unwrap();
        let state = oauth2_api::SessionState {
            tokens: Some(oauth2_api::TokenSet {
                access_token: format!("token-{i}").into(),
                refresh_token: None,
                expires_at: None,
                scopes: vec!["hello".to_owned()],
                token_type: "bearer".to_owned(),
            }),
            last_error: None,
        };
        store.replace(&key, &state).await.unwrap();
    }
    for round in 0..2 {
        for i in (0..n).step_by(1) {
            let user = Company(100_000 + i);
            let token = runtime.token(&user, &["hello"]).await.unwrap();
            assert_eq!(
                token.access_token.expose_secret(),
                format!("token-{i}"),
                "round {round} user {i}"
            );
        }
    }
}

/// A proxy named in the environment carries the calls: the runtime turns reqwest's proxy
/// support off only when none is named. A program (the bench client, its own process, so
/// its environment is its own) whose API host is unreachable makes its calls through it.
#[tokio::test]
async fn a_proxy_named_in_the_environment_carries_the_calls() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    let proxy = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let counted = counted.clone();
        async move {
            // A proxy is sent the whole URL (absolute form), not only the path.
            if uri.authority().is_some() && uri.path().ends_with("/obligations") {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            let obligation = serde_json::json!({
                "periodKey": "17A1", "start": "2017-01-01", "end": "2017-03-31",
                "due": "2017-05-07", "status": "O"
            });
            axum::Json(serde_json::json!({ "obligations": [obligation.clone(), obligation.clone(), obligation] }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, proxy).await });
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_bench_client"))
        .args(["--url", "http://127.0.0.1:9", "--client", "memory"])
        .args(["--n", "3", "--warmup", "0"])
        .env("HTTP_PROXY", format!("http://{address}"))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("errors=0"), "{stdout} {output:?}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "every call went through the proxy"
    );
}

/// A server answering every request with a chunked body of `pieces`, one chunk each.
async fn chunked_server(pieces: Vec<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let pieces = pieces.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                let _ = socket.write_all(head.as_bytes()).await;
                for piece in pieces {
                    let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                    chunk.extend_from_slice(&piece);
                    chunk.extend_from_slice(b"\r\n");
                    let _ = socket.write_all(&chunk).await;
                    let _ = socket.flush().await;
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    url
}

/// A body in several chunks arrives whole and in order, up to the limit exactly; one
/// byte more is refused.
#[tokio::test]
async fn a_body_in_many_chunks_arrives_whole_up_to_the_limit() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let limit = 64 * 1024;
    let quarter: Vec<Vec<u8>> = (b'a'..=b'd').map(|c| vec![c; limit / 4]).collect();
    let mut over = quarter.clone();
    over.push(b"!".to_vec());
    let json: Vec<Vec<u8>> = ["{\"items\":", "[1,2", ",3]", "}"]
        .map(|p| p.into())
        .to_vec();
    for pieces in [json, quarter, over] {
        let expected: Vec<u8> = pieces.concat();
        let server = chunked_server(pieces).await;
        let runtime = sandbox_builder(&sandbox)
            .base_url("sandbox", &server)
            .max_response_bytes(limit)
            .store(MemoryStore::new())
            .build()
            .unwrap();
        let sent = runtime
            .request(&oauth2_api::Application, Method::Get, "/data")
            .send()
            .await;
        match sent {
            Ok(answer) => {
                assert!(
                    expected.len() <= limit,
                    "{} bytes were read",
                    answer.body.len()
                );
                assert_eq!(answer.body, expected);
            }
            Err(err) => {
                assert!(expected.len() > limit, "{} bytes: {err:?}", expected.len());
                assert!(matches!(err, Error::ResponseTooLarge { .. }), "{err:?}");
            }
        }
    }
}
