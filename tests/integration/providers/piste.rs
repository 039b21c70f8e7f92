//! PISTE Légifrance as the example declares it: client credentials, POST with JSON, and
//! an error decoder for its gateway's error bodies.

use std::time::Duration;

use oauth2_api::sandbox::Sandbox;
use oauth2_api::{Application, Method, ProviderError};
use oauth2_api_examples::declarations::piste_legifrance::{
    ArticleRequest, CodeRequest, LegifranceClient, SearchRequest,
};
use oauth2_api_examples::setup;

async fn piste_client(decoder: bool) -> (Sandbox, LegifranceClient) {
    let sandbox = setup::piste_sandbox().await.unwrap();
    let mut builder = setup::builder(LegifranceClient::provider())
        .credentials(oauth2_api::Credentials::new("sandbox-client").secret("sandbox-secret"))
        .base_url(
            "sandbox",
            format!("{}/dila/legifrance/lf-engine-app", sandbox.url()),
        )
        .token_url("sandbox", sandbox.token_url());
    if decoder {
        // PISTE's gateway answers `{"status","error","message"}`; this application wants
        // the status in the code. The decoder is asked before the built-in shapes.
        builder = builder.error_decoder(|status: u16, body: &[u8]| {
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            let message = v["message"].as_str().map(str::to_owned);
            Some(ProviderError::new(format!("PISTE_{status}"), message))
        });
    }
    (sandbox, LegifranceClient::new(builder.build().unwrap()))
}

#[tokio::test]
async fn piste_legifrance_every_endpoint() {
    let (sandbox, client) = piste_client(false).await;
    assert_eq!(client.ping().await.unwrap(), "pong");
    let search = SearchRequest {
        fond: "CODE_DATE".into(),
        recherche: serde_json::json!({"pageSize": 10, "pageNumber": 1}),
    };
    assert_eq!(client.search(&search).await.unwrap().total_result_number, 2);
    let article = client
        .get_article(&ArticleRequest {
            id: "LEGIARTI000006419280".into(),
        })
        .await
        .unwrap();
    assert_eq!(article.article.unwrap().id, "LEGIARTI000006419280");
    let code = client
        .code(&CodeRequest {
            text_id: "LEGITEXT000006070721".into(),
            date: "2026-01-01".into(),
        })
        .await
        .unwrap();
    assert_eq!(code["dateDebutVersion"], "2026-01-01");
    assert_eq!(
        sandbox.counts().client_credentials,
        1,
        "one token for every call"
    );
    let token = client
        .runtime()
        .token(&Application, &["openid"])
        .await
        .unwrap();
    assert!(
        token.refresh_token.is_none(),
        "PISTE issues no refresh token"
    );
    assert_eq!(token.token_type, "bearer", "`Bearer` is normalised");
    let left = token
        .expires_at
        .unwrap()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        left <= Duration::from_secs(3600) && left > Duration::from_secs(3500),
        "{left:?}"
    );
}

/// A search Légifrance refuses: no `fond`.
async fn search_without_fond(client: &LegifranceClient) -> oauth2_api::RawResponse {
    client
        .runtime()
        .request(&Application, Method::Post, "/search")
        .scopes(&["openid"])
        .json(&serde_json::json!({"recherche": {}}))
        .unwrap()
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_error_decoder_reads_other_error_bodies() {
    let (_sandbox, plain) = piste_client(false).await;
    let answer = search_without_fond(&plain).await;
    assert_eq!(answer.status, 400);
    let built_in = plain
        .runtime()
        .decode_error(&answer, "search")
        .provider
        .unwrap();
    assert_eq!(
        built_in.code, "Bad Request",
        "the RFC 6749-like shape, read built in"
    );
    let (_sandbox, decoding) = piste_client(true).await;
    let answer = search_without_fond(&decoding).await;
    let err = decoding.runtime().decode_error(&answer, "search");
    let provider = err.provider.unwrap();
    assert_eq!(
        (provider.code.as_str(), provider.message.as_deref()),
        ("PISTE_400", Some("`fond` is required"))
    );
}
