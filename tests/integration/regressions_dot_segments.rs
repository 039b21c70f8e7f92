//! A path argument of `.` or `..` would be resolved away by URL parsing, encoded or not
//! (WHATWG reads `%2E%2E` as `..`): `delete_repo("me", "..")` would delete `/repos/`,
//! and two of them would leave the base URL's path. Each is refused before anything is
//! sent, alone or built from arguments side by side or beside a fixed `.`, with the
//! endpoint named. So is a path too long for a URL the HTTP client sends.

use oauth2_api::{Error, Runtime, oauth2_api};

#[oauth2_api(
    provider = "Dots",
    base_url = "http://127.0.0.1:9/api",
    auth_url = "http://127.0.0.1:9/authorize",
    token_url = "http://127.0.0.1:9/token"
)]
trait Dots {
    #[endpoint(method = DELETE, path = "/repos/{owner}/{repo}", user = Anonymous)]
    async fn delete_repo(&self, owner: &str, repo: &str) -> Result<(), Error>;

    #[endpoint(method = GET, path = "/files/{a}{b}/meta", user = Anonymous)]
    async fn joined(&self, a: &str, b: char) -> Result<(), Error>;

    #[endpoint(method = GET, path = "/files/.{v}/meta", user = Anonymous)]
    async fn dotted(&self, v: &str) -> Result<(), Error>;

    #[endpoint(method = GET, path = "/files/../meta", user = Anonymous)]
    async fn fixed(&self) -> Result<(), Error>;
}

fn client() -> DotsClient {
    let runtime: Runtime = DotsClient::builder()
        .credentials(oauth2_api::Credentials::new("id"))
        .store(oauth2_api::store::MemoryStore::new())
        .build()
        .unwrap();
    DotsClient::new(runtime)
}

fn refused(result: Result<(), Error>, argument: &str) {
    match result {
        Err(Error::InvalidArgument {
            argument: named,
            message,
            ..
        }) => {
            assert_eq!(named, argument);
            assert!(message.contains("`..`"), "{message}");
        }
        other => panic!("expected InvalidArgument for `{argument}`, got {other:?}"),
    }
}

#[tokio::test]
async fn dot_segments_are_refused_before_anything_is_sent() {
    let client = client();
    refused(client.delete_repo("me", "..").await, "path");
    refused(client.delete_repo(".", "x").await, "path");
    refused(client.joined(".", '.').await, "path");
    refused(client.dotted(".").await, "path");
    refused(client.fixed().await, "path");
    // A `.` beside other text in its segment is no dot segment: sent (nothing listens).
    let sent = client.joined("x", '.').await.unwrap_err();
    assert!(matches!(sent, Error::Transport { .. }), "{sent:?}");
    // A value that only looks encoded is sent as what it is; nothing listens on port 9.
    let sent = client.delete_repo("me", "%2e%2e").await.unwrap_err();
    assert!(matches!(sent, Error::Transport { .. }), "{sent:?}");
}

/// A path or query too long for a URL the HTTP client sends is refused by name, not
/// reported as a transport error.
#[tokio::test]
async fn a_url_too_long_to_send_is_refused_by_name() {
    let client = client();
    let long = "x".repeat(70_000);
    match client.delete_repo("me", &long).await {
        Err(Error::InvalidArgument {
            argument, message, ..
        }) => {
            assert_eq!(argument, "path and query");
            assert!(message.contains("65534"), "{message}");
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    // Just under the limit is sent (nothing listens on port 9).
    let fits = "x".repeat(65_000);
    let sent = client.delete_repo("me", &fits).await.unwrap_err();
    assert!(matches!(sent, Error::Transport { .. }), "{sent:?}");
}
