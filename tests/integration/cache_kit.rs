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
