//! Declared pagination against the sandbox's list of seven items, three per page:
//! `Link` headers, page numbers, offsets and a cursor in the body; each page with the
//! whole token handling.

use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Error, oauth2_api};
use oauth2_api_tests::{Company, REDIRECT_URL, authorize};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
pub struct Item {
    pub id: u32,
}

#[derive(Debug)]
pub struct AppError(pub Error);

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError(e)
    }
}

#[oauth2_api(
    provider = "Sandbox",
    environment(
        name = "sandbox",
        base_url = "https://api.example.com",
        auth_url = "https://www.example.com/oauth/authorize",
        token_url = "https://api.example.com/oauth/token"
    )
)]
pub trait Listing {
    /// GitHub's way: `Link: <...>; rel="next"`.
    #[endpoint(method = GET, path = "/pages/link", scope = "hello", user = Company, paginate(link))]
    async fn linked(&self, #[query] per_page: u32) -> Result<Vec<Item>, Error>;

    /// The same with relative `Link` targets (`/pages/link?...`).
    #[endpoint(method = GET, path = "/pages/link", scope = "hello", user = Company, paginate(link))]
    async fn linked_relative(
        &self,
        #[query] per_page: u32,
        #[query] relative: bool,
    ) -> Result<Vec<Item>, Error>;

    /// The same with `Link` targets on another origin.
    #[endpoint(method = GET, path = "/pages/link", scope = "hello", user = Company, paginate(link))]
    async fn linked_foreign(&self, #[query] foreign: bool) -> Result<Vec<Item>, Error>;

    /// Xero's way: page numbers, the items in a field; a short page is the last.
    #[endpoint(method = GET, path = "/pages/numbered", scope = "hello", user = Company,
               paginate(page = "page", per_page = "pageSize", items = "Items"))]
    async fn numbered(&self, #[query(rename = "pageSize")] size: u32) -> Result<Vec<Item>, Error>;

    /// Page numbers without a known size: an empty page is the last.
    #[endpoint(method = GET, path = "/pages/numbered", scope = "hello", user = Company,
               paginate(page = "page", items = "Items"))]
    async fn numbered_unsized(&self) -> Result<Vec<Item>, Error>;

    #[endpoint(method = GET, path = "/pages/offset", scope = "hello", user = Company,
               paginate(offset = "offset", limit = "limit"))]
    async fn offsets(&self, #[query] limit: u32) -> Result<Vec<Item>, AppError>;

    #[endpoint(method = GET, path = "/pages/cursor", scope = "hello", user = Company,
               paginate(cursor = "meta.next_cursor", param = "cursor", items = "data"))]
    async fn cursored(&self) -> Result<Vec<Item>, Error>;
}

async fn listing(sandbox: &Sandbox, company: &Company) -> ListingClient {
    let runtime = ListingClient::builder()
        .credentials(oauth2_api_tests::sandbox_client(REDIRECT_URL))
        .base_url("sandbox", sandbox.url())
        .auth_url("sandbox", sandbox.auth_url())
        .token_url("sandbox", sandbox.token_url())
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let client = ListingClient::new(runtime);
    authorize(sandbox, client.runtime(), company, &["hello"]).await;
    client
}

fn ids(items: &[Item]) -> Vec<u32> {
    items.iter().map(|i| i.id).collect()
}

#[tokio::test]
async fn link_headers_are_followed_page_by_page() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let company = Company(1);
    let client = listing(&sandbox, &company).await;
    assert_eq!(ids(&client.linked(&company, 3).await.unwrap()), [1, 2, 3]);

    let before = sandbox.counts().api;
    let mut pages = client.linked_pages(&company, 3);
    let mut sizes = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert_eq!(page.status, 200);
        sizes.push((page.body.len(), page.header("link").is_some()));
    }
    assert_eq!(sizes, [(3, true), (3, true), (1, false)]);
    fn is_stream<S: oauth2_api::Stream + Send>(_: &S) {}
    is_stream(&pages);
    assert_eq!(sandbox.counts().api - before, 3, "one request per page");

    let all = client.linked_items(&company, 2).collect().await.unwrap();
    assert_eq!(ids(&all), [1, 2, 3, 4, 5, 6, 7]);
    let all = client.linked_relative_items(&company, 3, true);
    assert_eq!(ids(&all.collect().await.unwrap()), [1, 2, 3, 4, 5, 6, 7]);
}

#[tokio::test]
async fn page_numbers_offsets_and_cursors() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let company = Company(2);
    let client = listing(&sandbox, &company).await;
    let every: Vec<u32> = (1..=7).collect();

    let before = sandbox.counts().api;
    let all = client.numbered_items(&company, 3).collect().await.unwrap();
    assert_eq!(
        (ids(&all), sandbox.counts().api - before),
        (every.clone(), 3)
    );

    let before = sandbox.counts().api;
    let all = client
        .numbered_unsized_items(&company)
        .collect()
        .await
        .unwrap();
    assert_eq!(
        (ids(&all), sandbox.counts().api - before),
        (every.clone(), 4),
        "without a page size, the empty fourth page ends the listing"
    );

    let all = client.offsets_items(&company, 3).collect().await.unwrap();
    assert_eq!(ids(&all), every);
    let all = client.cursored_items(&company).collect().await.unwrap();
    assert_eq!(ids(&all), every);
    assert_eq!(ids(&client.cursored(&company).await.unwrap()), [1, 2, 3]);
}

#[tokio::test]
async fn each_page_has_the_token_handling_and_an_error_ends_the_stream() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let company = Company(3);
    let client = listing(&sandbox, &company).await;
    let mut items = client.linked_items(&company, 3);
    for id in 1..=3 {
        assert_eq!(items.next().await.unwrap().unwrap().id, id);
    }
    sandbox.expire_access_tokens();
    assert_eq!(
        items.next().await.unwrap().unwrap().id,
        4,
        "the second page renewed the token"
    );

    let mut pages = client.offsets_pages(&company, 3);
    assert!(pages.next().await.unwrap().is_ok());
    sandbox.fail_next_api_call(ApiFault::Status(500, r#"{"code":"BOOM"}"#.to_owned()));
    let AppError(err) = pages.next().await.unwrap().unwrap_err();
    assert_eq!(err.provider_code(), Some("BOOM"));
    assert!(pages.next().await.is_none(), "an error ends the listing");
}

#[tokio::test]
async fn a_link_to_another_origin_is_not_followed() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let company = Company(4);
    let client = listing(&sandbox, &company).await;
    let before = sandbox.counts().api;
    let mut items = client.linked_foreign_items(&company, true);
    for id in 1..=3 {
        assert_eq!(items.next().await.unwrap().unwrap().id, id);
    }
    let err = items.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::ForeignUrl { .. }), "{err:?}");
    assert!(items.next().await.is_none());
    assert_eq!(
        sandbox.counts().api - before,
        1,
        "the token went nowhere else"
    );
}

/// Page numbers under a base URL with a path (Xero's `/api.xro/2.0`): every page is
/// requested under it, not only the first.
#[tokio::test]
async fn later_pages_keep_the_base_urls_path() {
    use axum::extract::Query;
    use axum::routing::get;
    use std::collections::HashMap;
    let numbered = |Query(q): Query<HashMap<String, u32>>| async move {
        let page = q.get("page").copied().unwrap_or(1);
        let items: Vec<_> = (page <= 3)
            .then(|| serde_json::json!({"id": page}))
            .into_iter()
            .collect();
        axum::Json(serde_json::json!({ "Items": items }))
    };
    let routes = axum::Router::new().route("/v2/pages/numbered", get(numbered));
    let sandbox = Sandbox::serve(SandboxConfig::default(), routes)
        .await
        .unwrap();
    let runtime = ListingClient::builder()
        .credentials(oauth2_api_tests::sandbox_client(REDIRECT_URL))
        .all_urls_at(sandbox.url())
        .base_url("sandbox", format!("{}/v2", sandbox.url()))
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let client = ListingClient::new(runtime);
    let company = Company(5);
    authorize(&sandbox, client.runtime(), &company, &["hello"]).await;
    let all = client.numbered_unsized_items(&company).collect().await;
    assert_eq!(ids(&all.unwrap()), [1, 2, 3]);
}
