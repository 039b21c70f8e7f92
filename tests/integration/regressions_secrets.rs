//! Regressions for hostile and echoing answers found in review: broken token answers
//! leave the grant usable; secrets echoed by token and revocation errors (in any
//! encoding) or by an undecodable API answer are never shown; `insufficient_scope` is
//! read in every challenge shape, also after a refresh, and keeps the grant.

use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::MemoryStore;
use oauth2_api::{
    AuthorizationReason, CallbackParams, Environment, Error, ExposeSecret, Method, Provider,
    Runtime,
};
use oauth2_api_tests::{
    Company, HANG_GUARD, approved_callback, authorize, builder_for, expire_stored_token,
    hello_status, sandbox_runtime, stored_tokens,
};

/// Everything an error shows: `Debug` and `Display`.
fn shown(err: &Error) -> String {
    format!("{err:?} || {err}")
}

/// The basic credentials of the sandbox client, `sandbox-client:sandbox-secret`.
const BASIC: &str = "c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=";

/// A sandbox, a runtime, and company 1 authorized for `hello`.
async fn authorized() -> (Sandbox, Runtime, Company) {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let user = Company(1);
    authorize(&sandbox, &runtime, &user, &["hello"]).await;
    (sandbox, runtime, user)
}

fn hostile_token_bodies() -> Vec<String> {
    let big = "a".repeat(60 * 1024);
    let mut bodies: Vec<String> = [
        // A string `error` is the provider's refusal whatever the status (a 200
        // `invalid_grant` ends the grant as a 400 would): only a broken one is hostile.
        r#"{"error":7}"#,
        r#"{"error":"invalid_grant","access_token":"b\r\nx","token_type":"bearer"}"#,
        r#"{"access_token":"ok","access_token":"b\r\nx","token_type":"bearer"}"#,
        r#"{"access_token":"b\r\nx","access_token":"ok","token_type":"bearer"}"#,
        r#"{"access_token":"ok","token_type":"bearer","scope":["hello",5,null,{"x":1},["y"]]}"#,
        r#"{"access_token":"ok","token_type":"bearer","scope":"hello\u0000"}"#,
        r#"{"access_token":"ok","token_type":"bearer","expires_in":"NaN"}"#,
        r#"{"access_token":"ok","token_type":"bearer","expires_in":"-Infinity"}"#,
        r#"{"access_token":"ok","token_type":"bearer","expires_in":1e999}"#,
        r#"{"access_token":"ok","token_type":"bearer","expires_in":-1e308}"#,
        r#"{"access_token":"ok","token_type":"bearer","expires_in":[1]}"#,
        r#"{"access_token":"ok","token_type":"bearer","expires_in":0.0000001}"#,
        r#"{"access_token":"ok","token_type":"bearer","expires_in":"  18446744073709551616  "}"#,
        r#"{"access_token":"ok","token_type":7}"#,
        r#"{"access_token":"ok","token_type":"bearer\u2028"}"#,
        r#"{"access_token":"","token_type":"bearer"}"#,
        r#"{"access_token":"ok","refresh_token":"","token_type":"bearer"}"#,
        r#"{"access_token":"ok\u0085","token_type":"bearer"}"#,
        "[]",
        "null",
        "\"a\"",
        "",
    ]
    .map(str::to_owned)
    .to_vec();
    bodies.push(format!(
        r#"{{"access_token":"{big}","token_type":"bearer"}}"#
    ));
    bodies.push(format!("{}{}", "[".repeat(5000), "]".repeat(5000)));
    bodies
}

/// A refresh answered with `body`: what went wrong, if anything (a hang, a panic, a
/// control character accepted, or a grant unusable afterwards).
async fn hostile_answer_failure(body: String) -> Option<String> {
    let label: String = body.chars().take(70).collect();
    let (sandbox, runtime, user) = authorized().await;
    expire_stored_token(&runtime, &user).await;
    sandbox.fail_next_token_request(TokenFault::Body(body));
    let call = {
        let (runtime, user) = (runtime.clone(), user.clone());
        tokio::spawn(async move { runtime.token(&user, &["hello"]).await })
    };
    let out = match tokio::time::timeout(HANG_GUARD, call).await {
        Err(_) => return Some(format!("{label}: hang")),
        Ok(Err(join)) => return Some(format!("{label}: panic {join}")),
        Ok(Ok(out)) => out,
    };
    if let Ok(t) = &out
        && (t.access_token.expose_secret().chars().any(char::is_control)
            || t.scopes.iter().any(|s| s.chars().any(char::is_control)))
    {
        return Some(format!("{label}: a control character was accepted"));
    }
    // The grant survives a broken answer: the next call refreshes normally.
    if out.is_err() {
        let again = tokio::time::timeout(HANG_GUARD, hello_status(&runtime, &user)).await;
        if !matches!(again, Ok(Ok(200))) {
            return Some(format!("{label}: grant unusable afterwards: {again:?}"));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_token_answers_neither_panic_nor_hang_nor_lose_the_grant() {
    let mut failures = Vec::new();
    for body in hostile_token_bodies() {
        failures.extend(hostile_answer_failure(body).await);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A JSON error whose `error_description` echoes the refresh token and the client
/// secret: neither is in the error nor in the stored last error.
#[tokio::test]
async fn a_token_error_echoing_secrets_shows_none_of_them() {
    let mut leaks = Vec::new();
    for code in ["invalid_request", "invalid_grant"] {
        let (sandbox, runtime, user) = authorized().await;
        expire_stored_token(&runtime, &user).await;
        let refresh = stored_tokens(&runtime, &user).await.refresh_token.unwrap();
        let refresh = refresh.expose_secret();
        let body = format!(
            r#"{{"error":"{code}","error_description":"refresh_token={refresh}&client_secret=sandbox-secret not accepted"}}"#
        );
        sandbox.fail_next_token_request(TokenFault::Raw(400, "application/json", body));
        let err = hello_status(&runtime, &user).await.unwrap_err();
        let text = shown(&err);
        let last = format!("{:?}", runtime.last_error(&user).await.unwrap());
        for (what, secret) in [
            ("refresh token", refresh),
            ("client secret", "sandbox-secret"),
        ] {
            if text.contains(secret) {
                leaks.push(format!("{code}: {what} in the error: {text}"));
            }
            if last.contains(secret) {
                leaks.push(format!("{code}: {what} in the stored last error: {last}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}

/// A refresh token with `/` and `+` (as Google's `1//0g...`), echoed JSON-escaped (PHP's
/// `\/`) and form-encoded in lower-case hex: neither form is readable in the error.
#[tokio::test]
async fn an_echoed_refresh_token_is_hidden_in_any_encoding() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let user = Company(1);
    let refresh = "1//0gZk3Xq9LmTnPvRsWuYb/A+c=";
    let (_, callback) = approved_callback(&sandbox, &runtime, &user, &["hello"]).await;
    sandbox.fail_next_token_request(TokenFault::Body(format!(
        r#"{{"access_token":"at-1","refresh_token":"{refresh}","token_type":"bearer","expires_in":3600,"scope":"hello"}}"#
    )));
    runtime
        .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
    expire_stored_token(&runtime, &user).await;
    let php = refresh.replace('/', "\\/");
    let lower: String = url::form_urlencoded::byte_serialize(refresh.as_bytes())
        .collect::<String>()
        .to_lowercase();
    sandbox.fail_next_token_request(TokenFault::Raw(
        500,
        "application/json",
        format!(r#"{{"message":"bad token","token":"{php}","form":"refresh_token={lower}"}}"#),
    ));
    let err = runtime.token(&user, &["hello"]).await.unwrap_err();
    let text = shown(&err);
    assert!(
        !text.contains("0gZk3Xq9LmTnPvRsWuYb"),
        "the refresh token is readable in the error: {text}"
    );
}

/// A revocation endpoint with two error pages echoing the request: `/revoke-html` (the
/// `Authorization` header and the form), `/revoke-json` (the token in a JSON error's
/// description). Its base URL.
async fn echoing_revocation_endpoint() -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let html = |headers: HeaderMap, body: Bytes| async move {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        let form = String::from_utf8_lossy(&body).into_owned();
        let page = format!("<pre>Authorization: {}\n{form}</pre>", auth.unwrap_or(""));
        (StatusCode::INTERNAL_SERVER_ERROR, page)
    };
    let json = |body: Bytes| async move {
        let token = url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let error =
            format!(r#"{{"error":"invalid_request","error_description":"unknown token {token}"}}"#);
        let json = [("content-type", "application/json")];
        (StatusCode::BAD_REQUEST, json, error)
    };
    let router = axum::Router::new()
        .route("/revoke-html", axum::routing::post(html))
        .route("/revoke-json", axum::routing::post(json));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// The refresh token, the client secret and the basic credentials echoed by a failing
/// revocation are not shown by the disconnect's error.
#[tokio::test]
async fn a_revocation_error_echoing_the_request_shows_no_secret() {
    let base = echoing_revocation_endpoint().await;
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let mut leaks = Vec::new();
    for path in ["/revoke-html", "/revoke-json"] {
        let environment = Environment::new(
            "sandbox",
            sandbox.url(),
            sandbox.auth_url(),
            sandbox.token_url(),
        );
        let provider =
            Provider::new("HMRC").environment(environment.revoke_url(base.clone() + path));
        let runtime = builder_for(provider)
            .store(MemoryStore::new())
            .build()
            .unwrap();
        let user = Company(1);
        authorize(&sandbox, &runtime, &user, &["hello"]).await;
        let refresh = stored_tokens(&runtime, &user).await.refresh_token.unwrap();
        let err = runtime.disconnect(&user).await.unwrap_err();
        let text = shown(&err);
        for secret in [refresh.expose_secret(), "sandbox-secret", BASIC] {
            if text.contains(secret) {
                leaks.push(format!("{path}: `{secret}` in {text}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}

/// A 200 answer echoing the request (an echo endpoint, a misrouted gateway page) that
/// does not decode as declared: the decode error does not show the access token.
#[tokio::test]
async fn an_undecodable_answer_echoing_the_access_token_does_not_show_it() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Hello {
        message: String,
    }
    let (sandbox, runtime, user) = authorized().await;
    let access = stored_tokens(&runtime, &user).await.access_token;
    let access = access.expose_secret();
    sandbox.fail_next_api_call(ApiFault::Status(
        200,
        format!(r#"{{"headers":{{"Authorization":"Bearer {access}"}}}}"#),
    ));
    let answer = runtime
        .request(&user, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    // What a declared endpoint does with a success answer (`__private::decode`).
    let err = answer.json::<Hello>("hello_user").unwrap_err();
    let text = shown(&err);
    assert!(
        !text.contains(access),
        "the access token is in the error: {text}"
    );
}

/// Company 1's call answered 401 with the challenge `first`, then (after a refresh, if
/// any) `second`: the call's outcome, the sandbox and the runtime.
async fn challenged_call(first: &str, second: &str) -> (Result<u16, Error>, Sandbox, Runtime) {
    let (sandbox, runtime, user) = authorized().await;
    sandbox.fail_next_api_call(ApiFault::Challenge(401, first.to_owned()));
    sandbox.fail_next_api_call(ApiFault::Challenge(401, second.to_owned()));
    let out = tokio::time::timeout(HANG_GUARD, hello_status(&runtime, &user))
        .await
        .expect("no hang");
    (out, sandbox, runtime)
}

fn reason(out: &Result<u16, Error>) -> Option<AuthorizationReason> {
    let required = out.as_ref().err()?.authorization_required()?;
    Some(required.reason)
}

async fn grant_kept(runtime: &Runtime) -> bool {
    let session = runtime.session(&Company(1)).await.unwrap();
    session.and_then(|s| s.state.tokens).is_some()
}

/// The token expired (401 `invalid_token`) and was refreshed, and the renewed one lacks
/// the scope (401 `insufficient_scope`): more scopes are asked for, the grant is kept.
#[tokio::test]
async fn insufficient_scope_after_a_refresh_keeps_the_renewed_grant() {
    let (out, _sandbox, runtime) = challenged_call(
        r#"Bearer error="invalid_token""#,
        r#"Bearer error="insufficient_scope", scope="hello read:vat""#,
    )
    .await;
    assert_eq!(
        reason(&out),
        Some(AuthorizationReason::InsufficientScope),
        "{out:?}"
    );
    assert!(grant_kept(&runtime).await, "the grant was destroyed");
}

/// Odd but valid shapes of the challenge (RFC 7235: several challenges in one header,
/// quoted-pairs, any case, a token instead of a quoted string): each is read as
/// `insufficient_scope`, without a refresh, and keeps the grant.
#[tokio::test]
async fn insufficient_scope_is_read_in_every_challenge_shape() {
    let mut broken = Vec::new();
    for challenge in [
        r#"Basic realm="api", Bearer error="insufficient_scope", scope="hello read:vat""#,
        r#"DPoP algs="ES256", Bearer error="insufficient_scope""#,
        r#"Bearer realm="a \"quoted\" realm", error="insufficient_scope""#,
        r#"Bearer error_description="needs \"read:vat\"", error="insufficient_scope""#,
        r#"bearer error="insufficient_scope""#,
        r#"Bearer error=insufficient_scope, scope="read:vat""#,
    ] {
        let (out, sandbox, runtime) = challenged_call(challenge, challenge).await;
        let refreshes = sandbox.counts().refresh_token;
        if reason(&out) != Some(AuthorizationReason::InsufficientScope)
            || !grant_kept(&runtime).await
            || refreshes != 0
        {
            broken.push(format!("{challenge}: {out:?}, {refreshes} refreshes"));
        }
    }
    assert!(broken.is_empty(), "not recognised, grant lost: {broken:#?}");
}
