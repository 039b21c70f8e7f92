//! Bad input at the callback: each case asserts the typed outcome and that no session
//! changed (RFC 9700, RFC 6819).

use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::MemoryStore;
use oauth2_api::{CallbackError, CallbackParams, Environment, Error, Provider, Runtime};
use oauth2_api_tests::{Company, approved_callback, authorize, sandbox_builder};

/// A runtime where company 1 is authorized and company 2 has a pending authorization.
struct Setup {
    sandbox: Sandbox,
    runtime: Runtime,
    state: String,
    callback: String,
}

async fn setup() -> Setup {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    authorize(&sandbox, &runtime, &Company(1), &["hello"]).await;
    let (request, callback) = approved_callback(&sandbox, &runtime, &Company(2), &["hello"]).await;
    Setup {
        sandbox,
        runtime,
        state: request.state,
        callback,
    }
}

/// What a bad callback must leave alone: both sessions, the pending state, the exchanges.
#[derive(Debug, PartialEq)]
struct Snapshot {
    one: Option<u64>,
    two: Option<u64>,
    pending: usize,
    exchanges: u64,
}

async fn snapshot(s: &Setup) -> Snapshot {
    Snapshot {
        one: s
            .runtime
            .session(&Company(1))
            .await
            .unwrap()
            .map(|x| x.version),
        two: s
            .runtime
            .session(&Company(2))
            .await
            .unwrap()
            .map(|x| x.version),
        pending: s
            .runtime
            .pending_authorizations(&Company(2))
            .await
            .unwrap()
            .len(),
        exchanges: s.sandbox.counts().authorization_code,
    }
}

async fn refused(s: &Setup, query: &str) -> Error {
    let before = snapshot(s).await;
    let err = match CallbackParams::from_query(query) {
        Ok(params) => s.runtime.complete_authorization(&params).await.unwrap_err(),
        Err(e) => e.into(),
    };
    assert_eq!(snapshot(s).await, before, "`{query}` changed nothing");
    err
}

fn code(callback: &str) -> String {
    url::Url::parse(callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn unknown_state() {
    let s = setup().await;
    let err = refused(&s, &format!("code={}&state=not-a-state", code(&s.callback))).await;
    assert!(
        matches!(err, Error::Callback(CallbackError::UnknownState)),
        "{err:?}"
    );
}

#[tokio::test]
async fn reused_state() {
    let s = setup().await;
    let params = CallbackParams::from_url(&s.callback).unwrap();
    s.runtime.complete_authorization(&params).await.unwrap();
    let err = refused(&s, s.callback.split_once('?').unwrap().1).await;
    assert!(
        matches!(err, Error::Callback(CallbackError::StateAlreadyUsed)),
        "{err:?}"
    );
}

#[tokio::test]
async fn expired_state() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .state_ttl(Duration::from_millis(20))
        .build()
        .unwrap();
    let (_, callback) = approved_callback(&sandbox, &runtime, &Company(2), &["hello"]).await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    let err = runtime
        .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::StateExpired)),
        "{err:?}"
    );
    assert!(runtime.session(&Company(2)).await.unwrap().is_none());
    assert_eq!(sandbox.counts().authorization_code, 0);
}

#[tokio::test]
async fn state_for_another_user() {
    let s = setup().await;
    let before = snapshot(&s).await;
    let params = CallbackParams::from_url(&s.callback).unwrap();
    let err = s
        .runtime
        .complete_authorization_for(&Company(1), &params)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::StateMismatch("user"))),
        "{err:?}"
    );
    assert_eq!(snapshot(&s).await, before);
}

#[tokio::test]
async fn state_for_another_environment() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let env =
        |name: &str| Environment::new(name, sandbox.url(), sandbox.auth_url(), sandbox.token_url());
    let runtime = Runtime::builder(
        Provider::new("HMRC")
            .environment(env("sandbox"))
            .environment(env("production")),
    )
    .credentials(oauth2_api_tests::sandbox_client(
        oauth2_api_tests::REDIRECT_URL,
    ))
    .store(MemoryStore::new())
    .build()
    .unwrap();
    let request = runtime
        .begin_authorization(&Company(2), &["hello"], None)
        .await
        .unwrap();
    let params =
        CallbackParams::from_url(&sandbox.approve(request.url.as_str()).await.unwrap()).unwrap();
    let err = runtime
        .complete_authorization_in("production", &params)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Callback(CallbackError::StateMismatch("environment"))
        ),
        "{err:?}"
    );
    assert_eq!(sandbox.counts().authorization_code, 0);
    runtime
        .complete_authorization_in("sandbox", &params)
        .await
        .expect("its own environment completes it");
}

#[tokio::test]
async fn missing_code() {
    let s = setup().await;
    let err = refused(&s, &format!("state={}", s.state)).await;
    assert!(
        matches!(err, Error::Callback(CallbackError::MissingCode)),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_state() {
    let s = setup().await;
    let err = refused(&s, &format!("code={}", code(&s.callback))).await;
    assert!(
        matches!(err, Error::Callback(CallbackError::MissingState)),
        "{err:?}"
    );
}

async fn denied(query: impl FnOnce(&str) -> String, error: &str, description: Option<&str>) {
    let s = setup().await;
    let query = query(&s.state);
    let before = snapshot(&s).await;
    let err = s
        .runtime
        .complete_authorization(&CallbackParams::from_query(&query).unwrap())
        .await
        .unwrap_err();
    match &err {
        Error::AuthorizationDenied {
            error: e,
            description: d,
            ..
        } => {
            assert_eq!((e.as_str(), d.as_deref()), (error, description));
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    let after = snapshot(&s).await;
    assert_eq!(
        (after.one, after.exchanges),
        (before.one, before.exchanges),
        "nothing exchanged, company 1 untouched"
    );
    assert_eq!(after.pending, 0, "the refused state is used up");
    let last = s
        .runtime
        .last_error(&Company(2))
        .await
        .unwrap()
        .expect("the refusal is recorded");
    assert_eq!(last.kind, error);
    assert!(
        s.runtime
            .session(&Company(2))
            .await
            .unwrap()
            .unwrap()
            .state
            .tokens
            .is_none()
    );
}

#[tokio::test]
async fn access_denied_with_description() {
    denied(
        |state| format!("error=access_denied&error_description=User+said+no&state={state}"),
        "access_denied",
        Some("User said no"),
    )
    .await;
}

#[tokio::test]
async fn access_denied_without_description() {
    denied(
        |state| format!("error=access_denied&state={state}"),
        "access_denied",
        None,
    )
    .await;
}

#[tokio::test]
async fn an_unknown_error_code() {
    denied(
        |state| format!("error=temporarily_unavailable_x&state={state}"),
        "temporarily_unavailable_x",
        None,
    )
    .await;
}

#[tokio::test]
async fn oversized_parameters() {
    let s = setup().await;
    let err = refused(
        &s,
        &format!("code={}&state={}", "a".repeat(10_000), s.state),
    )
    .await;
    assert!(
        matches!(err, Error::Callback(CallbackError::Malformed(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn duplicated_parameters() {
    let s = setup().await;
    let c = code(&s.callback);
    let err = refused(&s, &format!("code={c}&state={0}&state={0}", s.state)).await;
    assert!(
        matches!(err, Error::Callback(CallbackError::DuplicateParameter(ref p)) if p == "state"),
        "{err:?}"
    );
    let err = refused(&s, &format!("code={c}&code=other&state={}", s.state)).await;
    assert!(
        matches!(err, Error::Callback(CallbackError::DuplicateParameter(ref p)) if p == "code"),
        "{err:?}"
    );
}

#[tokio::test]
async fn non_utf8_and_percent_garbage() {
    let s = setup().await;
    let err = refused(&s, &format!("code=%FF%FE&state={}", s.state)).await;
    assert!(
        matches!(err, Error::Callback(CallbackError::Malformed(_))),
        "{err:?}"
    );
    let err = refused(&s, "code=x&state=%zz%").await;
    assert!(
        matches!(err, Error::Callback(CallbackError::UnknownState)),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_issuer_that_is_not_the_provider() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let provider = Provider::new("HMRC").environment(
        Environment::new(
            "sandbox",
            sandbox.url(),
            sandbox.auth_url(),
            sandbox.token_url(),
        )
        .issuer(sandbox.url()),
    );
    let runtime = oauth2_api_tests::builder_for(provider)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let (_, callback) = approved_callback(&sandbox, &runtime, &Company(2), &["hello"]).await;
    let err = runtime
        .complete_authorization(
            &CallbackParams::from_url(&format!("{callback}&iss=https%3A%2F%2Fevil.example"))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::IssuerMismatch { .. })),
        "{err:?}"
    );
    assert_eq!(
        runtime
            .pending_authorizations(&Company(2))
            .await
            .unwrap()
            .len(),
        1,
        "the state is not used up"
    );
    assert_eq!(sandbox.counts().authorization_code, 0);
    // The same callback with the provider's own issuer completes.
    let good = format!(
        "{callback}&iss={}",
        url::form_urlencoded::byte_serialize(sandbox.url().as_bytes()).collect::<String>()
    );
    runtime
        .complete_authorization(&CallbackParams::from_url(&good).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_code_the_token_endpoint_rejects() {
    let s = setup().await;
    s.sandbox.fail_next_token_request(TokenFault::InvalidGrant);
    let err = s
        .runtime
        .complete_authorization(&CallbackParams::from_url(&s.callback).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("invalid_grant"));
    assert_eq!(
        s.runtime
            .last_error(&Company(2))
            .await
            .unwrap()
            .unwrap()
            .kind,
        "invalid_grant"
    );
    assert!(
        s.runtime
            .session(&Company(2))
            .await
            .unwrap()
            .unwrap()
            .state
            .tokens
            .is_none()
    );
    assert!(
        s.runtime
            .is_authorized(&Company(1), &["hello"])
            .await
            .unwrap(),
        "company 1 untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_callback_arriving_twice_at_once_completes_once() {
    let s = setup().await;
    let exchanges = s.sandbox.counts().authorization_code;
    let params = CallbackParams::from_url(&s.callback).unwrap();
    let (a, b) = tokio::join!(
        s.runtime.complete_authorization(&params),
        s.runtime.complete_authorization(&params)
    );
    let (ok, err) = match (a, b) {
        (Ok(ok), Err(err)) | (Err(err), Ok(ok)) => (ok, err),
        other => panic!("exactly one must win: {other:?}"),
    };
    assert_eq!(ok.state, s.state);
    assert!(
        matches!(err, Error::Callback(CallbackError::StateAlreadyUsed)),
        "{err:?}"
    );
    assert_eq!(
        s.sandbox.counts().authorization_code - exchanges,
        1,
        "the code was exchanged once"
    );
}

#[tokio::test]
async fn a_missing_issuer_is_refused_when_the_provider_declares_one() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let env = || {
        Environment::new(
            "sandbox",
            sandbox.url(),
            sandbox.auth_url(),
            sandbox.token_url(),
        )
        .issuer(sandbox.url())
    };
    let runtime = oauth2_api_tests::builder_for(Provider::new("HMRC").environment(env()))
        .store(MemoryStore::new())
        .build()
        .unwrap();
    // The sandbox sends no `iss`.
    let (_, callback) = approved_callback(&sandbox, &runtime, &Company(2), &["hello"]).await;
    let params = CallbackParams::from_url(&callback).unwrap();
    let err = runtime.complete_authorization(&params).await.unwrap_err();
    assert!(matches!(err, Error::Callback(_)), "{err:?}");
    assert!(err.to_string().contains("no `iss`"), "{err}");
    assert_eq!(sandbox.counts().authorization_code, 0);
    assert_eq!(
        runtime
            .pending_authorizations(&Company(2))
            .await
            .unwrap()
            .len(),
        1,
        "the state is not used up"
    );
    // Declared optional for this environment, the same callback completes.
    let lenient = oauth2_api_tests::builder_for(Provider::new("HMRC").environment(env()))
        .issuer_optional("sandbox", true)
        .shared_store(runtime.store().clone())
        .build()
        .unwrap();
    lenient.complete_authorization(&params).await.unwrap();
}
