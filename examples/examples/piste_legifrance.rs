//! PISTE Légifrance: client credentials with `scope=openid`, POST endpoints with JSON.
//!
//! Offline against a local sandbox by default; with `PISTE_CLIENT_ID` and
//! `PISTE_CLIENT_SECRET` it talks to PISTE's real sandbox.

use oauth2_api::sandbox::Sandbox;
use oauth2_api::{Credentials, RetryPolicy};
use oauth2_api_examples::declarations::piste_legifrance::{
    ArticleRequest, CodeRequest, LegifranceClient, SearchRequest,
};
use oauth2_api_examples::setup;
use serde_json::json;

#[tokio::main]
async fn main() {
    // The local sandbox, if any, lives until the end of the run: dropping it stops it.
    let (client, _sandbox) = client().await;
    search_and_read(&client).await;
    show_token(&client).await;
}

/// The client: on PISTE's real sandbox with credentials from the environment, else on a
/// local sandbox (returned with it).
async fn client() -> (LegifranceClient, Option<Sandbox>) {
    let builder = setup::builder(LegifranceClient::provider()).retry(RetryPolicy::default());
    match setup::credentials_from_env("PISTE") {
        Some(credentials) => {
            println!("Using PISTE's sandbox with the credentials from the environment.");
            (
                LegifranceClient::new(
                    builder
                        .credentials(credentials)
                        .build()
                        .unwrap_or_else(|e| setup::fail(e)),
                ),
                None,
            )
        }
        None => {
            let sandbox = setup::piste_sandbox().await.expect("the sandbox starts");
            println!(
                "Using a local PISTE-like sandbox at {} (offline).",
                sandbox.url()
            );
            let base = format!("{}/dila/legifrance/lf-engine-app", sandbox.url());
            let runtime = builder
                .credentials(Credentials::new("sandbox-client").secret("sandbox-secret"))
                .base_url("sandbox", base)
                .token_url("sandbox", sandbox.token_url())
                .build()
                .unwrap_or_else(|e| setup::fail(e));
            (LegifranceClient::new(runtime), Some(sandbox))
        }
    }
}

/// The ping, then a search, an article and a code: POST endpoints with JSON bodies.
async fn search_and_read(client: &LegifranceClient) {
    println!(
        "ping: {}",
        client.ping().await.unwrap_or_else(|e| setup::fail(e))
    );
    let search = SearchRequest {
        fond: "CODE_DATE".to_owned(),
        recherche: json!({"champs": [{"typeChamp": "TITLE", "criteres": [{"typeRecherche": "EXACTE", "valeur": "Code civil", "operateur": "ET"}], "operateur": "ET"}],
                          "filtres": [], "pageNumber": 1, "pageSize": 10, "operateur": "ET", "sort": "PERTINENCE", "typePagination": "DEFAUT"}),
    };
    let found = client
        .search(&search)
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!(
        "search CODE_DATE 'Code civil': {} results",
        found.total_result_number
    );
    let article = client
        .get_article(&ArticleRequest {
            id: "LEGIARTI000006419280".to_owned(),
        })
        .await
        .unwrap_or_else(|e| setup::fail(e));
    if let Some(a) = article.article {
        println!(
            "article {} (n° {}): {}",
            a.id,
            a.num.unwrap_or_default(),
            a.texte.unwrap_or_default()
        );
    }
    let code = client
        .code(&CodeRequest {
            text_id: "LEGITEXT000006070721".to_owned(),
            date: "2026-01-01".to_owned(),
        })
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!("code: {}", code["title"]);
}

/// The application's token: one for all calls, and PISTE gives no refresh token.
async fn show_token(client: &LegifranceClient) {
    let token = client
        .runtime()
        .token(&oauth2_api::Application, &["openid"])
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!(
        "one client-credentials token for all calls; refresh token: {}",
        if token.refresh_token.is_some() {
            "yes"
        } else {
            "none"
        }
    );
}
