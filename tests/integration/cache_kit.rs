//! What the call-cache tests share: a runtime on a given store with a given time to
//! live, the call they make, and the faults and token answers they inject.

use std::sync::Arc;
use std::time::Duration;

use oauth2_api::sandbox::{ApiFault, Sandbox, TokenFault};
use oauth2_api::store::SessionStore;
use oauth2_api::{ApiUser, AuthorizationReason, Method, Runtime};
use oauth2_api_tests::sandbox_builder;

/// Long enough that no entry ages out during a test, however slow the machine.
pub(crate) const LONG: Duration = Duration::from_secs(3600);

/// `GET /hello/user` for `user` through the escape hatch: its status.
pub(crate) async fn hello(
    runtime: &Runtime,
    user: &impl ApiUser,
) -> Result<u16, oauth2_api::Error> {
    let answer = runtime
        .request(user, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await?;
    Ok(answer.status)
}

/// Whether `result` asks a person to authorize a session that holds nothing.
pub(crate) fn not_authorized(result: &Result<u16, oauth2_api::Error>) -> bool {
    matches!(result, Err(e) if e.authorization_required()
        .is_some_and(|r| r.reason == AuthorizationReason::NotAuthorized))
}

/// A runtime of `sandbox` on `store`, remembering what it reads for `ttl`.
pub(crate) fn runtime_on(
    sandbox: &Sandbox,
    store: Arc<dyn SessionStore>,
    ttl: Duration,
) -> Runtime {
    sandbox_builder(sandbox)
        .shared_store(store)
        .cache_ttl(ttl)
        .build()
        .unwrap()
}

/// The API's refusal of a token.
pub(crate) fn refused() -> ApiFault {
    ApiFault::Status(401, "{}".to_owned())
}

/// A token answer for `hello` giving `access_token` (and `refresh_token`, if any) that
/// expires in `expires_in` seconds, if given.
pub(crate) fn answer(
    access_token: &str,
    refresh_token: Option<&str>,
    expires_in: Option<u64>,
) -> TokenFault {
    let mut body = serde_json::json!({
        "access_token": access_token,
        "token_type": "bearer",
        "scope": "hello",
    });
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = refresh.into();
    }
    if let Some(seconds) = expires_in {
        body["expires_in"] = seconds.into();
    }
    TokenFault::Body(body.to_string())
}

/// The story reviews 16g and 16h start from: `company` is authorized with a token that
/// does not expire and has no refresh token, the API refuses it once (a gateway's
/// hiccup), and the person is asked to authorize again. The provider will give the same
/// token back to that authorization, which the caller completes: the token, returned.
pub(crate) async fn refused_once_then_given_back(
    sandbox: &Sandbox,
    runtime: &Runtime,
    company: &oauth2_api_tests::Company,
) -> String {
    use secrecy::ExposeSecret;
    oauth2_api_tests::authorize(sandbox, runtime, company, &["hello"]).await;
    let issued = oauth2_api_tests::stored_tokens(runtime, company).await;
    let token = issued.access_token.expose_secret().to_owned();
    sandbox.fail_next_token_request(answer(&token, None, None));
    oauth2_api_tests::authorize(sandbox, runtime, company, &["hello"]).await;
    assert_eq!(hello(runtime, company).await.unwrap(), 200);
    sandbox.fail_next_api_call(refused());
    let refused_once = hello(runtime, company).await;
    assert!(
        matches!(&refused_once, Err(e) if e.authorization_required().is_some()),
        "{refused_once:?}"
    );
    sandbox.fail_next_token_request(answer(&token, None, None));
    token
}
