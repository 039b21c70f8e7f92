//! Review 16h: refused-token records, tokens kept while the store fails, and renewals
//! written "already there", against README "Stores" ("A call with a valid token reads
//! nothing from the store ...") and the token lifecycle table of `oauth/renewal.rs`.
//!
//! Tests whose doc comment begins `Found:` failed at the time of the review and say what
//! was found.

use std::sync::Arc;
use std::time::Duration;

use crate::cache_kit::{LONG, answer, hello, refused, refused_once_then_given_back, runtime_on};
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SessionStore};
use oauth2_api_tests::backends::FlakyStore;
use oauth2_api_tests::{Company, authorize, stored_tokens};
use secrecy::ExposeSecret;

/// Found: a refusal is ended only by this runtime (`refused.rs`: `renewed` after its own
/// renewal, `granted` from its own `keep_granted`). 16g fixed the in-process case; the
/// same story with the new authorization completed by ANOTHER runtime sharing the store
/// (another process serving the callback, as behind a load balancer) leaves the first
/// runtime holding the token refused: the stored, valid token is read, found "refused",
/// and with no refresh token every call and `runtime.token()` answers "authorize" for
/// the runtime's life (nothing ends the record but 100,000 other sessions refused).
#[tokio::test]
async fn review16h_a_refusal_does_not_outlive_a_new_authorization_in_another_process() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let first = runtime_on(&sandbox, store.clone(), LONG);
    let other = runtime_on(&sandbox, store, LONG);
    let company = Company(1681);
    refused_once_then_given_back(&sandbox, &first, &company).await;
    // They authorize again, through the other process; the provider gives the same
    // token back.
    authorize(&sandbox, &other, &company, &["hello"]).await;
    assert_eq!(hello(&other, &company).await.unwrap(), 200);
    let handed = first.token(&company, &["hello"]).await;
    let after = hello(&first, &company).await;
    assert!(
        handed.is_ok() && matches!(after, Ok(200)),
        "a freshly authorized, valid token is still refused by the first runtime: \
         token() {:?}, call {after:?}",
        handed.map(|_| ())
    );
}

/// Found: `keep.rs` `write_if_within` takes a stored token with the same access and
/// refresh token as "already there" and writes nothing, so a renewal that gives both
/// back with a new lifetime (a provider extending a token rather than replacing it)
/// leaves the old `expires_at` in the store. The token stays due there: every later
/// call reads it, finds it due and renews again (the renewal is never remembered by the
/// cache either), a token request per call for as long as the provider answers so.
#[tokio::test]
async fn review16h_a_renewal_giving_the_same_tokens_back_is_not_repeated_on_every_call() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = runtime_on(&sandbox, Arc::new(MemoryStore::new()), LONG);
    let company = Company(1682);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    let issued = stored_tokens(&runtime, &company).await;
    let access = issued.access_token.expose_secret().to_owned();
    let refresh = issued
        .refresh_token
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned();
    // The same grant, stored as expiring in two seconds: due after one (half its life).
    sandbox.fail_next_token_request(answer(&access, Some(&refresh), Some(2)));
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Renewed: the provider extends the token by an hour, giving both tokens back.
    let before = sandbox.counts().refresh_token;
    sandbox.fail_next_token_request(answer(&access, Some(&refresh), Some(3600)));
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    assert_eq!(sandbox.counts().refresh_token - before, 1);
    let stored = stored_tokens(&runtime, &company).await;
    let left = stored
        .expires_at
        .unwrap()
        .duration_since(std::time::SystemTime::now());
    // Two more calls need no renewal: the token is good for an hour.
    for _ in 0..2 {
        sandbox.fail_next_token_request(answer(&access, Some(&refresh), Some(3600)));
        assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    }
    let renewals = sandbox.counts().refresh_token - before;
    assert!(
        renewals == 1,
        "{renewals} renewals for three calls; the store still says the token expires in \
         {left:?}"
    );
}

/// Found: 16g made `renew_once` refuse to hand out a kept (unsaved) token the API
/// refused, but when the store takes it again that very call goes on to `due` with what
/// it saw before: the stored token it read (the one renewed from, not refused any more),
/// not the kept one. The kept token, now stored, is "newer than seen" and handed out:
/// the token the API just refused is sent again (or given to a `runtime.token()` caller)
/// and renewed only after a second 401.
#[tokio::test]
async fn review16h_a_kept_token_the_api_refused_is_not_handed_out_once_stored() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let store = FlakyStore::new(Arc::new(MemoryStore::new()));
    let runtime = runtime_on(&sandbox, store.clone(), LONG);
    let company = Company(1683);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    // A 401 while the store fails: the renewed tokens wait in memory, and are used.
    store.fail_writes(usize::MAX / 2);
    sandbox.fail_next_api_call(refused());
    assert_eq!(hello(&runtime, &company).await.unwrap(), 200);
    let kept = runtime.token(&company, &["hello"]).await.unwrap();
    // The API refuses the kept token; the store still fails: the call fails.
    sandbox.fail_next_api_call(refused());
    assert!(hello(&runtime, &company).await.is_err());
    // The store takes writes again: the refused token is renewed, not handed out.
    store.fail_writes(0);
    let handed = runtime.token(&company, &["hello"]).await.unwrap();
    assert_ne!(
        handed.access_token.expose_secret(),
        kept.access_token.expose_secret(),
        "the kept token the API refused is handed out once the store takes it"
    );
}
