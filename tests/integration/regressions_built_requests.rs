//! A declared method builds its request when it is called and returns the runtime's
//! future; the request's path and query buffers are kept for the next request. What that
//! could break: a call made before its user is authorized, a call never awaited, and a
//! request that finds the buffers of the one before it.

use std::collections::BTreeMap;

use oauth2_api::Error;
use oauth2_api::sandbox::Sandbox;
use oauth2_api_tests::{Company, authorize};

use crate::kit::{Filter, github, github_sandbox, routes};
use crate::regressions_call_paths::futures_join_all;

fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    (pairs.iter())
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The token is looked for when the call is first polled: a call made before the person
/// authorized, awaited after, is sent with the new token.
#[tokio::test]
async fn a_call_made_before_its_user_is_authorized_finds_the_token_when_awaited() {
    let sandbox = Sandbox::serve(github_sandbox(), routes()).await.unwrap();
    let client = github(&sandbox).await;
    let company = Company(40);
    let early = client.user(&company);
    let refused = client.user(&company);
    let err = refused.await.unwrap_err();
    assert!(matches!(err, Error::AuthorizationRequired(_)), "{err:?}");
    authorize(&sandbox, client.runtime(), &company, &["read:user"]).await;
    assert_eq!(early.await.unwrap().login, "sandbox-user");
}

/// One thread (the test's runtime), so each request takes the buffers the one before
/// left: none carries a part of another's path or query, whether the one before was
/// sent, failed, grew its query past what is kept, or was dropped unsent.
#[tokio::test]
async fn requests_built_one_after_another_carry_only_their_own_path_and_query() {
    let sandbox = Sandbox::serve(github_sandbox(), routes()).await.unwrap();
    let client = github(&sandbox).await;
    let company = Company(41);
    authorize(&sandbox, client.runtime(), &company, &["read:user"]).await;
    let open = Filter {
        state: "open",
        per_page: Some(100),
    };
    let closed = Filter {
        state: "closed",
        per_page: None,
    };
    let long = "x".repeat(3000);

    let sent = client.echo(&company, Some("a==1"), &open).await.unwrap();
    let expected = query(&[("where", "a==1"), ("state", "open"), ("per_page", "100")]);
    assert_eq!(sent, expected);
    assert_eq!(client.user(&company).await.unwrap().login, "sandbox-user");
    let sent = client.echo(&company, None, &closed).await.unwrap();
    assert_eq!(sent, query(&[("state", "closed")]));

    drop(client.echo(&company, Some("never sent"), &open));
    let sent = client.echo(&company, Some(&long), &closed).await.unwrap();
    assert_eq!(sent, query(&[("where", &long), ("state", "closed")]));
    let sent = client.echo(&company, None, &closed).await.unwrap();
    assert_eq!(sent, query(&[("state", "closed")]));

    // A call that fails (no token for that user) leaves nothing for the next one.
    let stranger = Company(42);
    let err = client
        .echo(&stranger, Some("b==2"), &open)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AuthorizationRequired(_)), "{err:?}");
    assert_eq!(client.user(&company).await.unwrap().login, "sandbox-user");
    let sent = client.echo(&company, None, &closed).await.unwrap();
    assert_eq!(sent, query(&[("state", "closed")]));
}

/// Many calls in flight at once on one thread, each with its own query: more requests
/// than the buffers a thread keeps, all built before any is sent.
#[tokio::test]
async fn calls_in_flight_together_each_send_their_own_query() {
    let sandbox = Sandbox::serve(github_sandbox(), routes()).await.unwrap();
    let client = github(&sandbox).await;
    let company = Company(43);
    authorize(&sandbox, client.runtime(), &company, &["read:user"]).await;
    let filter = Filter {
        state: "all",
        per_page: None,
    };
    let wheres: Vec<String> = (0..40).map(|i| format!("n=={i}")).collect();
    let calls = (wheres.iter()).map(|w| client.echo(&company, Some(w), &filter));
    let answers = futures_join_all(calls).await;
    for (w, answer) in wheres.iter().zip(answers) {
        assert_eq!(answer.unwrap(), query(&[("where", w), ("state", "all")]));
    }
}
