//! Granted scopes as providers write them: comma-separated answers, broader scopes than
//! asked (declared implications, or the policy that trusts the request), and a provider
//! that grants less never costing a second authorization.

use std::sync::atomic::{AtomicUsize, Ordering};

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{
    AuthorizationReason, AuthorizationRequired, Authorized, Authorizer, CallbackParams, Error,
    Method, Provider, Runtime, ScopePolicy,
};
use oauth2_api_tests::{Company, authorize, builder_for, sandbox_provider, stored_tokens};

fn scopes_config(change: impl FnOnce(&mut SandboxConfig)) -> SandboxConfig {
    let mut config = SandboxConfig::default();
    config.scopes.extend(["hello-all".to_owned()]);
    change(&mut config);
    config
}

fn runtime_for(provider: Provider) -> Runtime {
    builder_for(provider)
        .store(MemoryStore::new())
        .build()
        .unwrap()
}

async fn hello_user(runtime: &Runtime, company: &Company) -> Result<u16, Error> {
    let answer = runtime
        .request(company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await?;
    Ok(answer.status)
}

#[tokio::test]
async fn a_comma_separated_answer_is_split_without_a_declared_separator() {
    let config = scopes_config(|c| c.scope_answer_separator = ",".to_owned());
    let sandbox = Sandbox::start(config).await.unwrap();
    let runtime = runtime_for(sandbox_provider(&sandbox));
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello", "read:vat"]).await;
    assert_eq!(
        stored_tokens(&runtime, &company).await.scopes,
        ["hello", "read:vat"]
    );
    assert_eq!(hello_user(&runtime, &company).await.unwrap(), 200);
    assert!(
        runtime
            .is_authorized(&company, &["hello", "read:vat"])
            .await
            .unwrap()
    );
    assert_eq!(sandbox.counts().authorize, 1);
}

fn broader_hello(c: &mut SandboxConfig) {
    c.broader_scopes = vec![("hello".to_owned(), "hello-all".to_owned())];
    c.scope_answer_separator = ",".to_owned();
}

#[tokio::test]
async fn a_declared_implication_covers_the_narrower_scope() {
    let sandbox = Sandbox::start(scopes_config(broader_hello)).await.unwrap();
    let runtime = runtime_for(sandbox_provider(&sandbox).scope_implies("hello-all", "hello"));
    let company = Company(2);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(
        stored_tokens(&runtime, &company).await.scopes,
        ["hello-all", "hello"]
    );
    assert_eq!(hello_user(&runtime, &company).await.unwrap(), 200);
}

#[tokio::test]
async fn the_requested_policy_trusts_what_was_asked() {
    let sandbox = Sandbox::start(scopes_config(broader_hello)).await.unwrap();
    let runtime = runtime_for(sandbox_provider(&sandbox).scope_policy(ScopePolicy::Requested));
    let company = Company(3);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(
        stored_tokens(&runtime, &company).await.scopes,
        ["hello", "hello-all"]
    );
    assert_eq!(hello_user(&runtime, &company).await.unwrap(), 200);
}

/// Approves every authorization in the sandbox and counts them.
struct Approving<'a> {
    sandbox: &'a Sandbox,
    count: AtomicUsize,
}

#[oauth2_api::async_trait]
impl Authorizer for Approving<'_> {
    async fn authorize(
        &self,
        runtime: &Runtime,
        required: &AuthorizationRequired,
    ) -> Result<Authorized, Error> {
        self.count.fetch_add(1, Ordering::SeqCst);
        let callback = self.sandbox.approve(required.url.as_str()).await.unwrap();
        let params = CallbackParams::from_url(&callback).unwrap();
        runtime.complete_authorization(&params).await
    }
}

/// Under the default policy, a broader scope without a declared implication is a grant
/// of less than asked: reported once, for the declared call and the escape hatch alike.
#[tokio::test]
async fn a_provider_granting_less_costs_one_authorization_only() {
    let sandbox = Sandbox::start(scopes_config(broader_hello)).await.unwrap();
    let runtime = runtime_for(sandbox_provider(&sandbox));
    let company = Company(4);
    let authorizer = Approving {
        sandbox: &sandbox,
        count: AtomicUsize::new(0),
    };
    let err = runtime
        .authorize_and_retry(&authorizer)
        .run(|| hello_user(&runtime, &company))
        .await
        .unwrap_err();
    let Error::AuthorizationRequired(required) = err else {
        panic!("expected AuthorizationRequired, got {err:?}");
    };
    assert_eq!(required.reason, AuthorizationReason::ScopesNotGranted);
    assert_eq!(authorizer.count.load(Ordering::SeqCst), 1);
    assert_eq!(sandbox.counts().authorize, 1);
    let last = runtime.last_error(&company).await.unwrap().unwrap();
    assert_eq!(last.kind, "scopes_not_granted", "{last:?}");
}

/// Scopes the provider declares for every authorization (`offline_access`, `openid`) are
/// asked for, and a grant without them is not a grant of less than the endpoints need.
#[tokio::test]
async fn api_level_scopes_are_asked_for_in_every_authorization_only() {
    let config = scopes_config(|c| c.withheld_scopes = vec!["openid".to_owned()]);
    let sandbox = Sandbox::start(config).await.unwrap();
    let runtime = runtime_for(sandbox_provider(&sandbox).authorization_scope("openid"));
    let company = Company(5);
    let request = runtime
        .begin_authorization(&company, &["hello"], None)
        .await
        .unwrap();
    let scope = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .unwrap()
        .1;
    assert_eq!(scope, "hello openid");
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(stored_tokens(&runtime, &company).await.scopes, ["hello"]);
    assert_eq!(runtime.last_error(&company).await.unwrap(), None);
    assert_eq!(hello_user(&runtime, &company).await.unwrap(), 200);
}
