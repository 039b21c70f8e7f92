//! Calling the API through the runtime: 401 handling, errors, environments.

use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{AuthorizationReason, Environment, Error, Method, Provider, Runtime};
use oauth2_api_tests::{Company, authorize, sandbox_runtime};

const INVALID_CREDENTIALS: &str =
    r#"{"code":"INVALID_CREDENTIALS","message":"Invalid Authentication information provided"}"#;

#[tokio::test]
async fn without_a_session_the_call_says_where_to_authorize_then_works() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(1);
    let err = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    let required = err
        .authorization_required()
        .expect("AuthorizationRequired")
        .clone();
    assert_eq!(required.reason, AuthorizationReason::NotAuthorized);
    assert_eq!(required.session.user.to_string(), "company:1");
    assert!(err.to_string().contains("authorization required"), "{err}");
    assert_eq!(sandbox.counts().api, 0, "nothing was sent without a token");

    let callback = sandbox.approve(required.url.as_str()).await.unwrap();
    let done = runtime
        .complete_authorization(&oauth2_api::CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
    assert_eq!(done.state, required.state);
    let answer = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["x-sandbox-user"], "sandbox-user");
}

#[tokio::test]
async fn concurrent_unauthorized_calls_share_one_pending_state() {
    let (_sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let mut states = std::collections::HashSet::new();
    for _ in 0..5 {
        let err = runtime
            .request(&Company(2), Method::Get, "/hello/user")
            .scopes(&["hello"])
            .send()
            .await
            .unwrap_err();
        states.insert(err.authorization_required().unwrap().state.clone());
    }
    assert_eq!(
        states.len(),
        1,
        "one pending authorization, handed out again"
    );
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_once() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(3);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    sandbox.fail_next_api_call(ApiFault::Status(401, INVALID_CREDENTIALS.to_owned()));
    let answer = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(sandbox.counts().refresh_token, 1);
    assert_eq!(sandbox.counts().api, 2);
}

#[tokio::test]
async fn a_second_401_requires_authorization_and_clears_the_tokens() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(4);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    sandbox.fail_next_api_call(ApiFault::Status(401, INVALID_CREDENTIALS.to_owned()));
    sandbox.fail_next_api_call(ApiFault::Status(401, INVALID_CREDENTIALS.to_owned()));
    let err = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.authorization_required().unwrap().reason,
        AuthorizationReason::Unauthorized
    );
    assert_eq!(sandbox.counts().refresh_token, 1, "one refresh, not a loop");
    assert_eq!(sandbox.counts().api, 2, "one retry, not a loop");
    let session = runtime.session(&company).await.unwrap().unwrap();
    assert!(session.state.tokens.is_none());
    assert_eq!(session.state.last_error.unwrap().kind, "unauthorized");
}

#[tokio::test]
async fn missing_scopes_ask_for_the_union() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(5);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let err = runtime
        .request(
            &company,
            Method::Get,
            "/organisations/vat/123456789/obligations",
        )
        .scopes(&["read:vat"])
        .send()
        .await
        .unwrap_err();
    let required = err.authorization_required().unwrap();
    assert_eq!(required.reason, AuthorizationReason::MissingScopes);
    assert_eq!(required.scopes, ["hello", "read:vat"]);
}

#[tokio::test]
async fn api_errors_carry_status_and_the_provider_body() {
    let (sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(6);
    authorize(&sandbox, &runtime, &company, &["read:vat"]).await;
    let answer = runtime
        .request(
            &company,
            Method::Get,
            "/organisations/vat/12345/obligations",
        )
        .scopes(&["read:vat"])
        .query("from", "2017-01-01")
        .query("to", "2017-12-31")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 400);
    let err = answer.error("obligations");
    assert_eq!(err.provider.as_ref().unwrap().code, "VRN_INVALID");
    let err = Error::from(err);
    assert_eq!(err.provider_code(), Some("VRN_INVALID"));
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("HTTP 400: VRN_INVALID"), "{err}");

    let ok = runtime
        .request(
            &company,
            Method::Get,
            "/organisations/vat/123456789/obligations",
        )
        .scopes(&["read:vat"])
        .query("from", "2017-01-01")
        .query("to", "2017-12-31")
        .query("status", "O")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = ok.json("obligations").unwrap();
    assert_eq!(body["obligations"].as_array().unwrap().len(), 1);
    let err = ok.json::<Vec<u32>>("obligations").unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn each_user_works_in_its_own_environment() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let production = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let env =
        |name: &str, s: &Sandbox| Environment::new(name, s.url(), s.auth_url(), s.token_url());
    let provider = Provider::new("HMRC")
        .environment(env("sandbox", &sandbox))
        .environment(env("production", &production));
    let runtime = oauth2_api_tests::builder_for(provider)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let (a, b) = (Company(7), Company(8));
    runtime.select_environment(&b, "production").await.unwrap();
    assert_eq!(runtime.environment_of(&a).await.unwrap(), "sandbox");
    assert_eq!(runtime.environment_of(&b).await.unwrap(), "production");
    authorize(&sandbox, &runtime, &a, &["hello"]).await;
    authorize(&production, &runtime, &b, &["hello"]).await;
    // In turn, the same path: each call goes to its user's environment.
    for user in [&a, &b, &a, &b, &a, &b] {
        let answer = runtime
            .request(user, Method::Get, "/hello/user")
            .scopes(&["hello"])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
    }
    assert_eq!((sandbox.counts().api, production.counts().api), (3, 3));
    let err = runtime.select_environment(&a, "staging").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown environment `staging`; the provider declares: sandbox, production"
    );
}

#[tokio::test]
async fn configuration_mistakes_are_clear() {
    let provider = Provider::new("HMRC").environment(Environment::new(
        "sandbox",
        "http://api.example.com",
        "https://www.example.com/auth",
        "https://api.example.com/token",
    ));
    let err = Runtime::builder(provider.clone())
        .store(MemoryStore::new())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("plain http"), "{err}");
    let err = Runtime::builder(provider).build().unwrap_err();
    assert!(err.to_string().contains("no session store"), "{err}");
    let err = Runtime::builder(Provider::new("empty"))
        .store(MemoryStore::new())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("declares no environment"), "{err}");
}
