//! The GitHub-style integration, offline: the declared API of
//! [`declarations::github`](crate::declarations::github) against its stand-in routes
//! ([`fakes::github`]) behind the sandbox's authorization server.
//! Shared by the `github` example and the tests.

use oauth2_api::sandbox::{ApiFault, Sandbox};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Browser, Credentials, LoopbackAuthorizer};

use crate::declarations::github::{Developer, GitHubClient, GitHubError, NewRepo};
use crate::{fakes, setup};

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// The account's login.
    pub login: String,
    /// Every repository, across the pages.
    pub repos: Vec<String>,
    /// API requests the listing took (a page retried after a 429 counts twice).
    pub listing_requests: u64,
    /// The declared error body of the refused creation.
    pub error: GitHubError,
}

/// The glue an application writes beyond the declaration: a runtime for the declared
/// API, here with every URL at the stand-in (against GitHub: its credentials, a store).
fn client(sandbox: &Sandbox) -> Result<GitHubClient, oauth2_api::Error> {
    let redirect = format!("http://127.0.0.1:{}/callback", setup::free_port());
    let credentials = Credentials::new("sandbox-client").secret("sandbox-secret");
    let runtime = GitHubClient::builder()
        .credentials(credentials.redirect_url(redirect))
        .all_urls_at(sandbox.url())
        .store(MemoryStore::new())
        .build()?;
    Ok(GitHubClient::new(runtime))
}

/// Runs the integration, printing each step.
pub async fn run() -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let sandbox = Sandbox::serve(fakes::github::config(), fakes::github::routes()).await?;
    println!("GitHub stand-in at {} (offline).", sandbox.url());

    let client = client(&sandbox)?;
    let developer = Developer { id: 1 };

    println!("1. GET /user: no session yet, so the person authorizes (the sandbox approves)...");
    let authorizer = LoopbackAuthorizer::new().browser(Browser::Follow);
    let user = client
        .runtime()
        .authorize_and_retry(&authorizer)
        .run(|| client.user(&developer))
        .await?;
    println!(
        "   -> logged in as {}; the stand-in, as GitHub, refuses requests without a User-Agent: the runtime sent {}",
        user.login,
        oauth2_api::DEFAULT_USER_AGENT
    );
    // Without `scope_implies`, this call would end in `ScopesNotGranted`.
    println!(
        "   The stand-in granted \"user,repo\", as GitHub does: `user` covers the endpoint's `read:user`."
    );

    println!("2. GET /user/repos, 3 per page, every item; the first request is answered 429...");
    sandbox.fail_next_api_call(ApiFault::Throttled(1));
    let before = sandbox.counts().api;
    let repos: Vec<String> = client
        .repos_items(&developer, 3)
        .collect()
        .await?
        .into_iter()
        .map(|repo| repo.full_name)
        .collect();
    let listing_requests = sandbox.counts().api - before;
    for name in &repos {
        println!("   {name}");
    }
    println!(
        "   -> {} repositories in {listing_requests} requests: 3 pages by their Link headers, one retried after Retry-After: 1",
        repos.len()
    );

    println!("3. POST /user/repos {{\"name\":\"blog\"}}: the name is taken...");
    let err = client
        .create_repo(&developer, &NewRepo { name: "blog" })
        .await
        .unwrap_err();
    let error = err
        .error_body::<GitHubError>()
        .ok_or(format!("not GitHub's error body: {err}"))?;
    let field = error.errors.first();
    println!(
        "   -> {} {}: {} ({})",
        err.status().unwrap_or_default(),
        error.message,
        field.and_then(|f| f.message.as_deref()).unwrap_or("-"),
        error.documentation_url
    );
    Ok(Outcome {
        login: user.login,
        repos,
        listing_requests,
        error: error.clone(),
    })
}
