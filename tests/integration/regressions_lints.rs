//! A declared method's lint attributes apply to the methods generated from it: an API
//! whose endpoint takes many arguments allows (or expects) `too_many_arguments` where it
//! declares the endpoint, and the copies do not report it again (`cargo clippy
//! --all-targets -- -D warnings` checks this file).

use oauth2_api::{Error, oauth2_api};

#[oauth2_api(
    provider = "Many",
    base_url = "http://127.0.0.1:9",
    auth_url = "http://127.0.0.1:9/authorize",
    token_url = "http://127.0.0.1:9/token"
)]
trait Many {
    #[expect(clippy::too_many_arguments, reason = "the API takes them")]
    #[endpoint(method = GET, path = "/search/{a}", user = Anonymous)]
    async fn search(
        &self,
        a: &str,
        #[query] b: u8,
        #[query] c: Option<u8>,
        #[query] d: bool,
        #[query] e: char,
        #[query] f: i64,
        #[query] g: &str,
    ) -> Result<(), Error>;
}

/// The call is built and sent (nothing listens on port 9): the attributes change nothing
/// else.
#[tokio::test]
async fn a_method_with_many_arguments_is_declared_once_for_clippy() {
    let client = ManyClient::new(
        ManyClient::builder()
            .credentials(oauth2_api::Credentials::new("id"))
            .store(oauth2_api::store::MemoryStore::new())
            .build()
            .unwrap(),
    );
    let sent = client.search("x", 1, None, true, 'é', -2, "a b").await;
    assert!(matches!(sent, Err(Error::Transport { .. })), "{sent:?}");
}
