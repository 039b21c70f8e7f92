//! Declared APIs, expanded by the macros, end to end against the sandbox.

use chrono::NaiveDate;
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Credentials, Error, oauth2_api};
use oauth2_api_tests::{Company, REDIRECT_URL};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, PartialEq)]
pub struct Message {
    pub message: String,
}

#[derive(Clone, Copy, Debug, Serialize)]
#[allow(dead_code)]
pub enum ObligationStatus {
    #[serde(rename = "O")]
    Open,
    #[serde(rename = "F")]
    Fulfilled,
}

#[derive(Debug, Deserialize)]
pub struct Obligations {
    pub obligations: Vec<Obligation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // decoded to prove the wire names; not all are asserted
pub struct Obligation {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub due: NaiveDate,
    pub status: String,
    pub period_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VatReturn {
    pub period_key: String,
    pub vat_due_sales: f64,
    pub vat_due_acquisitions: f64,
    pub total_vat_due: f64,
    pub vat_reclaimed_curr_period: f64,
    pub net_vat_due: f64,
    #[serde(rename = "totalValueSalesExVAT")]
    pub total_value_sales_ex_vat: i64,
    #[serde(rename = "totalValuePurchasesExVAT")]
    pub total_value_purchases_ex_vat: i64,
    #[serde(rename = "totalValueGoodsSuppliedExVAT")]
    pub total_value_goods_supplied_ex_vat: i64,
    #[serde(rename = "totalAcquisitionsExVAT")]
    pub total_acquisitions_ex_vat: i64,
    pub finalised: bool,
}

fn vat_return(finalised: bool) -> VatReturn {
    VatReturn {
        period_key: "18A2".into(),
        vat_due_sales: 100.0,
        vat_due_acquisitions: 0.5,
        total_vat_due: 100.5,
        vat_reclaimed_curr_period: 0.0,
        net_vat_due: 100.5,
        total_value_sales_ex_vat: 500,
        total_value_purchases_ex_vat: 0,
        total_value_goods_supplied_ex_vat: 0,
        total_acquisitions_ex_vat: 0,
        finalised,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub form_bundle_number: String,
}

#[oauth2_api(provider = "HMRC",
             environment(name = "sandbox", base_url = "https://test-api.service.hmrc.gov.uk",
                         auth_url = "https://test-www.tax.service.gov.uk/oauth/authorize",
                         token_url = "https://test-api.service.hmrc.gov.uk/oauth/token"),
             environment(name = "production", base_url = "https://api.service.hmrc.gov.uk",
                         auth_url = "https://www.tax.service.gov.uk/oauth/authorize",
                         token_url = "https://api.service.hmrc.gov.uk/oauth/token"),
             client_auth = "body",
             headers("Accept" = "application/vnd.hmrc.1.0+json"))]
pub trait HmrcVat {
    /// The VAT obligations of `vrn` between two dates.
    #[endpoint(method = GET, path = "/organisations/vat/{vrn}/obligations", scope = "read:vat", user = Company)]
    async fn obligations(
        &self,
        vrn: &str,
        #[query] from: NaiveDate,
        #[query] to: NaiveDate,
        #[query] status: Option<ObligationStatus>,
    ) -> Result<Obligations, Error>;

    #[endpoint(method = POST, path = "/organisations/vat/{vrn}/returns", scope = "write:vat", user = Company)]
    async fn submit_return(
        &self,
        vrn: &str,
        #[body] vat_return: &VatReturn,
    ) -> Result<Receipt, Error>;

    #[endpoint(method = GET, path = "/hello/application", scope = "hello", user = Application)]
    async fn hello_application(&self) -> Result<Message, Error>;

    #[endpoint(method = GET, path = "/hello/user", scope = "hello", user = Company)]
    async fn hello_user(
        &self,
        #[header("Gov-Test-Scenario")] scenario: Option<&str>,
    ) -> Result<Message, Error>;
}

async fn client_for(sandbox: &Sandbox) -> HmrcVatClient {
    let runtime = HmrcVatClient::builder()
        .credentials(oauth2_api_tests::sandbox_client(REDIRECT_URL))
        .base_url("sandbox", sandbox.url())
        .auth_url("sandbox", sandbox.auth_url())
        .token_url("sandbox", sandbox.token_url())
        .store(MemoryStore::new())
        .build()
        .unwrap();
    HmrcVatClient::new(runtime)
}

#[tokio::test]
async fn the_hmrc_declaration_works_end_to_end() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client_for(&sandbox).await;
    let company = Company(1);

    let hello = client.hello_application().await.unwrap();
    assert_eq!(hello.message, "Hello Application");

    let from = NaiveDate::from_ymd_opt(2017, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2017, 12, 31).unwrap();
    let err = client
        .obligations(&company, "123456789", from, to, None)
        .await
        .unwrap_err();
    let required = err
        .authorization_required()
        .expect("authorization required");
    assert_eq!(
        required.scopes,
        ["read:vat", "write:vat", "hello"],
        "every scope the company needs"
    );

    assert!(!client.is_authorized(&company).await.unwrap());
    let request = client.begin_authorization(&company, None).await.unwrap();
    assert_eq!(request.scopes, <Company as HmrcVatUser>::SCOPES);
    assert_eq!(
        <Company as HmrcVatUser>::SCOPES,
        ["read:vat", "write:vat", "hello"]
    );
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    client
        .runtime()
        .complete_authorization(&oauth2_api::CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
    assert!(client.is_authorized(&company).await.unwrap());

    calls_once_authorized(&client, &company, from, to).await;

    client.disconnect(&company).await.unwrap();
    assert!(!client.is_authorized(&company).await.unwrap());
}

/// The declared endpoints once the company has authorized: queries, a body, a header,
/// and HMRC's errors (as the sandbox emulates them) with their codes.
async fn calls_once_authorized(
    client: &HmrcVatClient,
    company: &Company,
    from: NaiveDate,
    to: NaiveDate,
) {
    let all = client
        .obligations(company, "123456789", from, to, None)
        .await
        .unwrap();
    assert_eq!(all.obligations.len(), 2);
    let open = client
        .obligations(company, "123456789", from, to, Some(ObligationStatus::Open))
        .await
        .unwrap();
    assert_eq!(open.obligations.len(), 1);
    assert_eq!(open.obligations[0].period_key, "18A2");
    assert_eq!(
        open.obligations[0].start,
        NaiveDate::from_ymd_opt(2017, 4, 1).unwrap()
    );

    let receipt = client
        .submit_return(company, "123456789", &vat_return(true))
        .await
        .unwrap();
    assert_eq!(receipt.form_bundle_number, "256660290587");

    let err = client
        .submit_return(company, "123456789", &vat_return(false))
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("NOT_FINALISED"));
    assert_eq!(err.status(), Some(403));

    let err = client
        .obligations(company, "12", from, to, None)
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("VRN_INVALID"));

    assert_eq!(
        client
            .hello_user(company, Some("DEFAULT"))
            .await
            .unwrap()
            .message,
        "Hello User"
    );
}

#[tokio::test]
async fn environments_are_typed() {
    assert_eq!(
        HmrcVatEnv::ALL,
        [HmrcVatEnv::Sandbox, HmrcVatEnv::Production]
    );
    assert_eq!(HmrcVatEnv::Production.name(), "production");
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client_for(&sandbox).await;
    let company = Company(2);
    assert_eq!(
        client.runtime().environment_of(&company).await.unwrap(),
        "sandbox"
    );
    client
        .select_environment(&company, HmrcVatEnv::Production)
        .await
        .unwrap();
    assert_eq!(
        client.runtime().environment_of(&company).await.unwrap(),
        "production"
    );
    let provider = HmrcVatClient::provider();
    assert_eq!(provider.name(), "HMRC");
    assert_eq!(provider.environments().len(), 2);
}

/// Application code can depend on the trait; tests can substitute a fake.
struct FakeVat;

impl HmrcVat for FakeVat {
    async fn obligations(
        &self,
        _: &Company,
        _: &str,
        _: NaiveDate,
        _: NaiveDate,
        _: Option<ObligationStatus>,
    ) -> Result<Obligations, Error> {
        Ok(Obligations {
            obligations: Vec::new(),
        })
    }
    async fn submit_return(&self, _: &Company, _: &str, _: &VatReturn) -> Result<Receipt, Error> {
        Ok(Receipt {
            form_bundle_number: "fake".into(),
        })
    }
    async fn hello_application(&self) -> Result<Message, Error> {
        Ok(Message {
            message: "fake".into(),
        })
    }
    async fn hello_user(&self, _: &Company, _: Option<&str>) -> Result<Message, Error> {
        Ok(Message {
            message: "fake".into(),
        })
    }
}

async fn greet(api: &impl HmrcVat) -> String {
    api.hello_application()
        .await
        .map(|m| m.message)
        .unwrap_or_default()
}

#[tokio::test]
async fn the_trait_abstracts_over_client_and_fake() {
    assert_eq!(greet(&FakeVat).await, "fake");
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client_for(&sandbox).await;
    assert_eq!(greet(&client).await, "Hello Application");
}

// A PISTE-style declaration: client credentials only, POST with JSON bodies.
#[derive(Debug, Serialize)]
pub struct ArticleId {
    pub id: String,
}

#[oauth2_api(
    provider = "PISTE",
    base_url = "https://sandbox-api.piste.gouv.fr/dila/legifrance/lf-engine-app",
    auth_url = "https://sandbox-oauth.piste.gouv.fr/api/oauth/authorize",
    token_url = "https://sandbox-oauth.piste.gouv.fr/api/oauth/token"
)]
pub trait Legifrance {
    #[endpoint(method = POST, path = "/consult/getArticle", scope = "openid", user = Application)]
    async fn get_article(&self, #[body] id: &ArticleId) -> Result<serde_json::Value, Error>;
}

#[tokio::test]
async fn a_piste_style_declaration_posts_json_as_the_application() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = LegifranceClient::builder()
        .credentials(Credentials::new("sandbox-client").secret("sandbox-secret"))
        .base_url("default", sandbox.url())
        .token_url("default", sandbox.token_url())
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let client = LegifranceClient::new(runtime);
    // The sandbox has no Légifrance route: the call reaches it with a client-credentials
    // token and a JSON body, and the 404 comes back typed.
    let err = client
        .get_article(&ArticleId {
            id: "LEGIARTI000006419292".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert_eq!(sandbox.counts().client_credentials, 1);
}

/// The builder takes the generated environment enum where it takes a name, and one call
/// points every URL of every environment at a test server (keeping the declared paths,
/// which the sandbox serves for HMRC).
#[tokio::test]
async fn the_builder_takes_typed_environments_and_one_test_server() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = HmrcVatClient::builder()
        .credentials_for(
            HmrcVatEnv::Production,
            oauth2_api_tests::sandbox_client(REDIRECT_URL),
        )
        .default_environment(HmrcVatEnv::Production)
        .all_urls_at(sandbox.url())
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let client = HmrcVatClient::new(runtime);
    let hello = client.hello_application().await.unwrap();
    assert_eq!(hello.message, "Hello Application");
    assert_eq!(sandbox.counts().client_credentials, 1);
    // A URL given for one environment wins over the test server, whatever the order.
    let err = HmrcVatClient::builder()
        .credentials(oauth2_api_tests::sandbox_client(REDIRECT_URL))
        .token_url(HmrcVatEnv::Sandbox, "not a url")
        .all_urls_at(sandbox.url())
        .store(MemoryStore::new())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("not a URL"), "{err}");
}

#[oauth2_api(provider = "GitHub", base_url = "https://api.github.com",
             auth_url = "https://github.com/login/oauth/authorize",
             token_url = "https://github.com/login/oauth/access_token",
             scopes = ["openid", "offline_access"],
             scope_policy = "requested", scope_implies("user" = "read:user", "user" = "user:email"))]
pub trait GitHubScopes {
    #[endpoint(method = GET, path = "/user", scope = "read:user", user = Company)]
    async fn user(&self) -> Result<serde_json::Value, Error>;
}

#[test]
fn the_scope_policy_and_implications_are_declared() {
    let shown = format!("{:?}", GitHubScopesClient::provider());
    assert!(shown.contains("policy: Requested"), "{shown}");
    assert!(
        shown.contains(r#"authorization_scopes: ["openid", "offline_access"]"#),
        "{shown}"
    );
    assert!(
        shown.contains(r#"("user", "read:user"), ("user", "user:email")"#),
        "{shown}"
    );
}
