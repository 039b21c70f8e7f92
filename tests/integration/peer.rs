//! The token cycle against the real `oidc-provider` peer (panva's, OpenID-certified):
//! nothing here is tuned to our own sandbox.

use oauth2_api::store::{MemoryStore, SqliteStore};
use oauth2_api::{
    Application, AuthorizationReason, CallbackParams, ClientAuth, Credentials, Error, ExposeSecret,
    Method, Runtime,
};
use oauth2_api_tests::{Company, Peer, REDIRECT_URL, peer_runtime};

async fn hello_user(runtime: &Runtime, user: &Company) -> Result<oauth2_api::RawResponse, Error> {
    runtime
        .request(user, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await
}

/// Authorizes through the peer's login and consent pages, played by its headless driver.
async fn authorize(peer: &Peer, runtime: &Runtime, user: &Company, scopes: &[&str]) {
    let request = runtime
        .begin_authorization(user, scopes, None)
        .await
        .unwrap();
    let callback = peer.authorize(request.url.as_str(), false);
    assert!(
        callback.contains("iss="),
        "the peer sends iss (RFC 9207): {callback}"
    );
    let done = runtime
        .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
    assert_eq!(done.state, request.state);
}

#[tokio::test]
async fn code_with_pkce_refresh_with_rotation_client_credentials_and_revocation() {
    let Some(peer) = Peer::start(&[]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let runtime = peer_runtime(
        &peer,
        SqliteStore::open(dir.path().join("s.db")).await.unwrap(),
    );
    let company = Company(1);

    // Authorization code with PKCE.
    authorize(&peer, &runtime, &company, &["hello", "read:vat"]).await;
    let granted = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    assert!(
        granted.covers(&["hello", "read:vat"]),
        "{:?}",
        granted.scopes
    );
    assert_eq!(granted.token_type, "bearer", "`Bearer` is normalised");
    let answer = hello_user(&runtime, &company).await.unwrap();
    assert_eq!(answer.text(), r#"{"message":"Hello User"}"#);

    // Refresh with rotation: a new refresh token, stored, and the old one is dead.
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    let answer = hello_user(&runtime, &company).await.unwrap();
    assert_eq!(answer.status, 200);
    let rotated = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    assert_ne!(
        rotated.refresh_token.as_ref().unwrap().expose_secret(),
        granted.refresh_token.as_ref().unwrap().expose_secret(),
        "the peer rotates refresh tokens"
    );
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    hello_user(&runtime, &company)
        .await
        .expect("the rotated token refreshes again");

    // Client credentials for the application.
    let answer = runtime
        .request(&Application, Method::Get, "/hello/application")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text(), r#"{"message":"Hello Application"}"#);

    // Revocation: disconnect revokes the grant at the peer.
    let token = runtime.token(&company, &["hello"]).await.unwrap();
    runtime.disconnect(&company).await.unwrap();
    let direct = reqwest::Client::new()
        .get(format!("{}/hello/user", peer.resource))
        .bearer_auth(token.access_token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(
        direct.status(),
        401,
        "the peer no longer accepts the revoked grant's token"
    );
    let err = hello_user(&runtime, &company).await.unwrap_err();
    assert_eq!(
        err.authorization_required().unwrap().reason,
        AuthorizationReason::NotAuthorized
    );
}

#[tokio::test]
async fn client_secret_in_the_body_works_too() {
    let Some(peer) = Peer::start(&[]) else { return };
    let runtime = Runtime::builder(peer.provider().client_auth(ClientAuth::RequestBody))
        .credentials(
            Credentials::new("demo-client-post")
                .secret("demo-secret")
                .redirect_url(REDIRECT_URL),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let company = Company(2);
    authorize(&peer, &runtime, &company, &["hello"]).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    assert_eq!(hello_user(&runtime, &company).await.unwrap().status, 200);
    let answer = runtime
        .request(&Application, Method::Get, "/hello/application")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn a_denied_consent_is_a_typed_error() {
    let Some(peer) = Peer::start(&[]) else { return };
    let runtime = peer_runtime(&peer, MemoryStore::new());
    let company = Company(3);
    let request = runtime
        .begin_authorization(&company, &["hello"], None)
        .await
        .unwrap();
    let callback = peer.authorize(request.url.as_str(), true);
    let err = runtime
        .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("access_denied"), "{err:?}");
    assert_eq!(
        runtime.last_error(&company).await.unwrap().unwrap().kind,
        "access_denied"
    );
}

#[tokio::test]
async fn reuse_of_a_rotated_refresh_token_ends_in_authorization_required() {
    let Some(peer) = Peer::start(&[]) else { return };
    let runtime = peer_runtime(&peer, MemoryStore::new());
    let company = Company(4);
    authorize(&peer, &runtime, &company, &["hello"]).await;
    let original = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    hello_user(&runtime, &company).await.unwrap();

    // Someone else holds the old refresh token and uses it: the peer detects the reuse
    // and revokes the whole grant, including our rotated token.
    let stolen = reqwest::Client::new()
        .post(format!("{}/token", peer.issuer))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                original.refresh_token.unwrap().expose_secret(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 400);

    oauth2_api_tests::expire_stored_token(&runtime, &company).await;
    let err = hello_user(&runtime, &company).await.unwrap_err();
    assert_eq!(
        err.authorization_required().unwrap().reason,
        AuthorizationReason::RefreshRejected
    );
    assert_eq!(
        runtime.last_error(&company).await.unwrap().unwrap().kind,
        "invalid_grant"
    );
    let err = hello_user(&runtime, &company).await.unwrap_err();
    assert_eq!(
        err.authorization_required().unwrap().reason,
        AuthorizationReason::NotAuthorized,
        "no retry loop: the session waits for a person"
    );
}
