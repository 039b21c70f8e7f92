//! Review 16i: versioned refusal records and renewals written when they outlast the
//! stored tokens, against README "Stores" ("A call with a valid token reads nothing from
//! the store ...") and the token lifecycle table of `oauth/renewal.rs`.
//!
//! Tests whose doc comment begins `Found:` failed at the time of the review and say what
//! was found.

use std::sync::Arc;
use std::time::Duration;

use crate::cache_kit::{LONG, answer, hello, refused, runtime_on};
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SessionStore};
use oauth2_api_tests::backends::FlakyStore;
use oauth2_api_tests::{Company, authorize, stored_tokens};
use secrecy::ExposeSecret;

/// The access and refresh token of a grant the sandbox issued for `company`, on a store
/// of its own (not the one under test).
async fn spare_grant(sandbox: &Sandbox, company: &Company) -> (String, String) {
    let scratch = runtime_on(sandbox, Arc::new(MemoryStore::new()), LONG);
    authorize(sandbox, &scratch, company, &["hello"]).await;
    let tokens = stored_tokens(&scratch, company).await;
    let refresh = tokens.refresh_token.as_ref().unwrap().expose_secret();
    (
        tokens.access_token.expose_secret().to_owned(),
        refresh.to_owned(),
    )
}

/// Found: `keep.rs` `write_if_within` (review 16h, `outlasts`) no longer takes stored
/// tokens equal to ours as "already there" when ours expire later; it falls through to
/// the basis check, and when the stored tokens were written over the same basis by
/// another holder (the very case the comment names: "another holder stored these very
/// tokens") the write is `Superseded` and `discard` REVOKES the tokens the store now
/// holds. Here process A renews (T0 -> T1), its store fails, T1 waits in memory; process
/// B renews from T0 too and the provider gives the same T1 (a shorter `expires_at`,
/// computed earlier). A's next call settles the kept tokens and revokes the stored,
/// valid grant: every process is then refused by the API and must re-authorize.
#[tokio::test]
async fn review16i_a_renewal_equal_to_the_stored_one_does_not_revoke_it() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let company = Company(1691);
    let (t1, r1) = spare_grant(&sandbox, &company).await;
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let flaky = FlakyStore::new(shared.clone());
    let a = runtime_on(&sandbox, flaky.clone(), LONG);
    let b = runtime_on(&sandbox, shared, LONG);
    authorize(&sandbox, &a, &company, &["hello"]).await;
    let t0 = stored_tokens(&a, &company).await;
    let (t0, r0) = (
        t0.access_token.expose_secret().to_owned(),
        t0.refresh_token.unwrap().expose_secret().to_owned(),
    );
    // T0 stored as expiring in two seconds: due after one.
    sandbox.fail_next_token_request(answer(&t0, Some(&r0), Some(2)));
    authorize(&sandbox, &a, &company, &["hello"]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // A renews to T1 (an hour); the store does not take it: kept in A's memory.
    flaky.fail_writes(4);
    sandbox.fail_next_token_request(answer(&t1, Some(&r1), Some(3600)));
    assert_eq!(hello(&a, &company).await.unwrap(), 200);
    flaky.fail_writes(0);
    assert!(
        stored_tokens(&b, &company)
            .await
            .access_token
            .expose_secret()
            == t0
    );
    // B renews from T0 as well and is given the same T1 (half an hour).
    sandbox.fail_next_token_request(answer(&t1, Some(&r1), Some(1800)));
    assert_eq!(hello(&b, &company).await.unwrap(), 200);
    let revocations = sandbox.counts().revocation;
    // A's next call writes what it kept: the same tokens as stored.
    let by_a = hello(&a, &company).await;
    let by_b = hello(&b, &company).await;
    let revoked = sandbox.counts().revocation - revocations;
    assert!(
        revoked == 0 && matches!(by_a, Ok(200)) && matches!(by_b, Ok(200)),
        "the stored, valid tokens were revoked {revoked} time(s) as 'superseded' by \
         themselves: A {by_a:?}, B {by_b:?}"
    );
}

/// Found: `renewal.rs` `refused_token` stamps a refusal with the version of the session
/// read AFTER the API refused the token. When another process re-authorizes meanwhile
/// and the provider gives the same token back (the case README "Stores" promises: "a
/// token given back unchanged by ... a new authorization, in any process, is not refused
/// any more"), the refusal is stamped with the NEW session's version: the valid token is
/// refused as stored from then on, and without a refresh token nothing in this runtime
/// ever ends the record: every call asks for authorization.
#[tokio::test]
async fn review16i_a_refusal_is_not_stamped_with_a_session_written_after_it() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let flaky = FlakyStore::new(shared.clone());
    let first = runtime_on(&sandbox, flaky.clone(), LONG);
    let other = runtime_on(&sandbox, shared, LONG);
    let company = Company(1692);
    authorize(&sandbox, &first, &company, &["hello"]).await;
    let token = stored_tokens(&first, &company).await.access_token;
    let token = token.expose_secret().to_owned();
    // The provider's tokens do not expire and come without a refresh token.
    sandbox.fail_next_token_request(answer(&token, None, None));
    authorize(&sandbox, &first, &company, &["hello"]).await;
    assert_eq!(hello(&first, &company).await.unwrap(), 200);
    // A passing 401; the store is slow to answer the read that follows it, and the
    // person authorizes again through the other process meanwhile (the same token).
    sandbox.fail_next_api_call(refused());
    flaky.delay_reads(Duration::from_millis(600));
    let refused_call = {
        let (first, company) = (first.clone(), company.clone());
        tokio::spawn(async move { hello(&first, &company).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    sandbox.fail_next_token_request(answer(&token, None, None));
    authorize(&sandbox, &other, &company, &["hello"]).await;
    assert_eq!(hello(&other, &company).await.unwrap(), 200);
    let _ = refused_call.await.unwrap();
    flaky.delay_reads(Duration::ZERO);
    let handed = first.token(&company, &["hello"]).await;
    let after = hello(&first, &company).await;
    assert!(
        handed.is_ok() && matches!(after, Ok(200)),
        "the re-authorized, valid token is refused for good by the first runtime: \
         token() {:?}, call {after:?}",
        handed.map(|_| ())
    );
}
