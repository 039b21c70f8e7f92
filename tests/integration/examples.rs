//! The provider integrations of `examples/` run end to end, as `cargo run --example
//! github` and `cargo run --example xero` do: CI covers them.

use oauth2_api_examples::fakes;

#[tokio::test]
async fn the_github_example_runs_offline() {
    let outcome = oauth2_api_examples::github::run().await.unwrap();
    assert_eq!(outcome.login, "sandbox-user");
    let expected: Vec<String> = fakes::github::REPOS
        .iter()
        .map(|name| format!("sandbox-user/{name}"))
        .collect();
    assert_eq!(outcome.repos, expected);
    assert_eq!(
        outcome.listing_requests, 4,
        "3 pages and the throttled one retried"
    );
    assert_eq!(outcome.error.message, "Repository creation failed.");
    assert_eq!(outcome.error.errors[0].field, "name");
}

#[tokio::test]
async fn the_xero_example_runs_offline() {
    let outcome = oauth2_api_examples::xero::run().await.unwrap();
    let counts: Vec<(&str, usize)> = outcome
        .invoices
        .iter()
        .map(|(name, numbers)| (name.as_str(), numbers.len()))
        .collect();
    let expected: Vec<(&str, usize)> = fakes::xero::TENANTS
        .iter()
        .map(|(_, name, count)| (*name, *count))
        .collect();
    assert_eq!(counts, expected, "each organisation's own invoices");
    assert_eq!(
        outcome.listing_requests,
        [4, 1],
        "3 pages and the throttled one retried, then a short first page"
    );
    assert_eq!(outcome.refreshes, 2);
    assert_eq!(
        (outcome.error.kind.as_deref(), outcome.error.status),
        (Some("ValidationException"), 400)
    );
}
