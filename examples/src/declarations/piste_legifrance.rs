//! PISTE Légifrance: the declaration and its wire types. Client credentials only.

use oauth2_api::{Error, oauth2_api};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// PISTE Légifrance: French law, for the application itself.
#[oauth2_api(
    provider = "PISTE",
    environment(
        name = "sandbox",
        base_url = "https://sandbox-api.piste.gouv.fr/dila/legifrance/lf-engine-app",
        auth_url = "https://sandbox-oauth.piste.gouv.fr/api/oauth/authorize",
        token_url = "https://sandbox-oauth.piste.gouv.fr/api/oauth/token"
    ),
    environment(
        name = "production",
        base_url = "https://api.piste.gouv.fr/dila/legifrance/lf-engine-app",
        auth_url = "https://oauth.piste.gouv.fr/api/oauth/authorize",
        token_url = "https://oauth.piste.gouv.fr/api/oauth/token"
    ),
    client_auth = "body"
)]
pub trait Legifrance {
    /// Searches a collection (`fond`), e.g. `CODE_DATE`.
    #[endpoint(method = POST, path = "/search", scope = "openid", user = Application)]
    async fn search(&self, #[body] request: &SearchRequest) -> Result<SearchResponse, Error>;

    /// One article by its id (`LEGIARTI...`).
    #[endpoint(method = POST, path = "/consult/getArticle", scope = "openid", user = Application)]
    async fn get_article(&self, #[body] request: &ArticleRequest)
    -> Result<ArticleResponse, Error>;

    /// A code's table of contents at a date.
    #[endpoint(method = POST, path = "/consult/code", scope = "openid", user = Application)]
    async fn code(&self, #[body] request: &CodeRequest) -> Result<Value, Error>;

    /// Whether the API answers (`pong`).
    #[endpoint(method = GET, path = "/consult/ping", scope = "openid", user = Application)]
    async fn ping(&self) -> Result<String, Error>;
}

/// The body of `search`.
#[derive(Clone, Debug, Serialize)]
pub struct SearchRequest {
    /// The collection, e.g. `CODE_DATE`.
    pub fond: String,
    /// The query.
    pub recherche: Value,
}

/// The answer of `search`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    /// How many results match.
    pub total_result_number: u64,
    /// This page of results.
    pub results: Vec<Value>,
}

/// The body of `get_article`.
#[derive(Clone, Debug, Serialize)]
pub struct ArticleRequest {
    /// The article's id, `LEGIARTI...`.
    pub id: String,
}

/// The answer of `get_article`.
#[derive(Clone, Debug, Deserialize)]
pub struct ArticleResponse {
    /// The article, when it exists.
    pub article: Option<Article>,
}

/// An article of a code.
#[derive(Clone, Debug, Deserialize)]
pub struct Article {
    /// Its id.
    pub id: String,
    /// Its number in the code.
    pub num: Option<String>,
    /// Its text.
    pub texte: Option<String>,
}

/// The body of `code`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeRequest {
    /// The code's text id, `LEGITEXT...`.
    pub text_id: String,
    /// The date of the version, `YYYY-MM-DD`.
    pub date: String,
}
