//! Review 16g: the call cache's promises (README "A call with a valid token reads nothing
//! from the store", `RuntimeBuilder::cache_ttl`: "a token the API refuses is not sent
//! again by this runtime"), tried again after 16f's fixes: the application's token
//! refused twice, tokens kept in memory refused, and a refusal outliving a new
//! authorization that gave the same token back.
//!
//! Tests whose doc comment begins `Found:` failed at the time of the review and say what
//! was found.

use std::sync::Arc;

use crate::cache_kit::{LONG, hello, refused, refused_once_then_given_back, runtime_on};
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Application, Method, Runtime};
use oauth2_api_tests::backends::FlakyStore;
use oauth2_api_tests::{Company, authorize};
use secrecy::ExposeSecret;

async fn hello_application(runtime: &Runtime) -> Result<u16, oauth2_api::Error> {
    let answer = runtime
        .request(&Application, Method::Get, "/hello/application")
        .scopes(&["hello"])
        .send()
        .await?;
    Ok(answer.status)
}

/// Found: the application's call whose freshly renewed token is refused too returns
/// the 401 (`call/mod.rs` `after_refusal`: `key.user.is_application()`) without keeping
/// that token as refused or forgetting it: it stays in the store, and the next call reads
/// it as fresh, remembers it and sends it again (then renews and sends a third token).
/// While the API refuses the application (its subscription withdrawn, a gateway
/// misconfigured), every call sends a token already refused: two API calls and a token
/// request per call. `cache_ttl`: "a token the API refuses is not sent again by this
/// runtime".
#[tokio::test]
async fn review16g_the_application_s_token_refused_twice_is_not_sent_again() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = runtime_on(&sandbox, Arc::new(MemoryStore::new()), LONG);
    assert_eq!(hello_application(&runtime).await.unwrap(), 200);
    sandbox.fail_next_api_call(refused());
    sandbox.fail_next_api_call(refused());
    // The token is refused, renewed, and the renewal refused too: the answer is the 401.
    assert_eq!(hello_application(&runtime).await.unwrap(), 401);
    // The next call does not send the token refused twice: it renews first.
    let before = sandbox.counts();
    assert_eq!(hello_application(&runtime).await.unwrap(), 200);
    let after = sandbox.counts();
    let sent = after.api - before.api;
    let renewals = after.client_credentials - before.client_credentials;
    assert!(
        sent == 1 && renewals == 1,
        "the token the API refused is sent again: the next call made {sent} API calls and \
         {renewals} token requests (one renewal and one call with a new token expected)"
    );
    // And the token handed out is the one calls send.
    let handed = runtime.token(&Application, &["hello"]).await.unwrap();
    let again = runtime.token(&Application, &["hello"]).await.unwrap();
    assert_eq!(
        handed.access_token.expose_secret(),
        again.access_token.expose_secret()
    );
    assert_eq!(
        sandbox.counts().client_credentials,
        after.client_credentials
    );
}

/// Found: tokens renewed while the store fails wait in memory (`oauth/keep.rs`
/// `settle_unsaved`), and a call that sends one and gets a 401 asks again with it as
/// stale (`renewal.rs` `access_token`): with unsaved tokens the refusal is not looked at
/// (`assess` is skipped), and `renew_once` hands back the kept tokens whenever they are
/// fresh, whatever was refused. The very token the API just refused is sent again, and
/// for a person's session the second 401 reads as "a fresh token refused too": the
/// session is cleared (or, with the store still failing, the call fails) although its
/// refresh token is good. `cache_ttl`: "a token the API refuses is not sent again".
#[tokio::test]
async fn review16g_a_kept_token_the_api_refuses_is_renewed_not_sent_again() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = runtime_on(&sandbox, store.clone(), LONG);
    let company = Company(1671);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    // A 401 while the store fails: the renewed tokens wait in memory, and are used.
    store.fail_writes(usize::MAX / 2);
    sandbox.fail_next_api_call(refused());
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    let kept = runtime.token(&company, &["hello"]).await.unwrap();
    // The API refuses the kept token once: it is not sent again. Renewing from tokens
    // the store never took is not done (a grant stored over one it cannot tell apart),
    // so the call fails on the store until it takes them; then the token is renewed.
    let (api_before, before) = (sandbox.counts().api, sandbox.counts().refresh_token);
    sandbox.fail_next_api_call(refused());
    let answer = hello(&runtime, &company).await;
    let handed = runtime.token(&company, &["hello"]).await;
    assert_eq!(
        sandbox.counts().api - api_before,
        1,
        "sent again: {answer:?}"
    );
    assert!(answer.is_err() && handed.is_err(), "{answer:?}, {handed:?}");
    store.fail_writes(0);
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    let now = runtime.token(&company, &["hello"]).await.unwrap();
    assert_eq!(sandbox.counts().refresh_token - before, 1);
    assert_ne!(
        now.access_token.expose_secret(),
        kept.access_token.expose_secret()
    );
}

/// Found: a refusal is forgotten only when a renewal by this runtime is written
/// (`renewal.rs` `access_token`: `renewed`); a new authorization is not a renewal. A
/// token without a refresh token that the API refuses once (a gateway's hiccup) makes
/// the call ask the person to authorize again, as it should; a provider that gives the
/// same, still valid token back to the new authorization (one token per client and
/// person, as many do) then has it stored, yet this runtime still holds it refused: every
/// call is told to authorize, for the runtime's life, however often the person does.
/// README: "A call with a valid token reads nothing from the store"; `cache_ttl`: the
/// refused token is not sent "while it is renewed".
#[tokio::test]
async fn review16g_a_refusal_does_not_outlive_a_new_authorization_giving_the_token_back() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = runtime_on(&sandbox, Arc::new(MemoryStore::new()), LONG);
    let company = Company(1672);
    let token = refused_once_then_given_back(&sandbox, &runtime, &company).await;
    // They authorize again; the provider gives the same token back, which the API accepts.
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let stored = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    assert_eq!(stored.access_token.expose_secret(), token);
    let after = hello(&runtime, &company).await;
    assert!(
        matches!(after, Ok(200)),
        "a freshly authorized, valid token is still refused by the runtime: {after:?}"
    );
}
