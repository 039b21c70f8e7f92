//! The provider integrations of `examples/` against local sandboxes that emulate each
//! provider's quirks: every endpoint, error bodies, fraud-prevention headers, 429
//! back-off, refresh in progress, two environments in one process.

use std::time::Duration;

use chrono::NaiveDate;
use oauth2_api::hmrc::{FraudPrevention, TestScenario, TestScenarios, Vendor, WebClient};
use oauth2_api::sandbox::{ApiFault, Sandbox, TokenFault};
use oauth2_api::{
    Application, CallContext, CallbackParams, ExposeSecret, Method, ProviderError, RetryPolicy,
    RuntimeBuilder,
};
use oauth2_api_examples::declarations::hmrc_hello::HelloWorldClient;
use oauth2_api_examples::declarations::hmrc_vat::{
    Company, HmrcVatClient, HmrcVatEnv, Money, ObligationStatus, VatReturn,
};
use oauth2_api_examples::declarations::piste_legifrance::{
    ArticleRequest, CodeRequest, LegifranceClient, SearchRequest,
};
use oauth2_api_examples::setup;
use oauth2_api_tests::REDIRECT_URL;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn vat_return(period_key: &str) -> VatReturn {
    VatReturn {
        period_key: period_key.to_owned(),
        vat_due_sales: Money::new(105, 50),
        vat_due_acquisitions: Money::new(-100, -45),
        total_vat_due: Money::new(5, 5),
        vat_reclaimed_curr_period: Money::new(105, 15),
        net_vat_due: Money::new(100, 10),
        total_value_sales_ex_vat: 300,
        total_value_purchases_ex_vat: 300,
        total_value_goods_supplied_ex_vat: 3000,
        total_acquisitions_ex_vat: 3000,
        finalised: true,
    }
}

async fn authorize_company<F: std::future::Future<Output = ()>>(
    sandbox: &Sandbox,
    begin: impl FnOnce() -> F,
    client_runtime: &oauth2_api::Runtime,
    company: &Company,
    scopes: &[&str],
) {
    begin().await;
    let request = client_runtime
        .begin_authorization(company, scopes, None)
        .await
        .unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    client_runtime
        .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
}

async fn vat_client(
    hooks: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder,
) -> (Sandbox, HmrcVatClient) {
    let sandbox = setup::hmrc_sandbox().await.unwrap();
    let builder = setup::on_sandbox(
        setup::builder(HmrcVatClient::provider()),
        "sandbox",
        &sandbox,
        REDIRECT_URL,
    );
    let client = HmrcVatClient::new(hooks(builder).build().unwrap());
    (sandbox, client)
}

#[tokio::test]
async fn hmrc_hello_world_all_three_endpoints() {
    let sandbox = setup::hmrc_sandbox().await.unwrap();
    let runtime = setup::on_sandbox(
        setup::builder(HelloWorldClient::provider()),
        "sandbox",
        &sandbox,
        REDIRECT_URL,
    )
    .build()
    .unwrap();
    let client = HelloWorldClient::new(runtime);
    assert_eq!(client.hello_world().await.unwrap().message, "Hello World");
    assert_eq!(
        sandbox.counts().client_credentials,
        0,
        "the open endpoint needs no token"
    );
    assert_eq!(
        client.hello_application().await.unwrap().message,
        "Hello Application"
    );
    let company = oauth2_api_examples::declarations::Company { id: 3 };
    let request = client.begin_authorization(&company, None).await.unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    client
        .runtime()
        .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
        .await
        .unwrap();
    assert_eq!(
        client.hello_user(&company).await.unwrap().message,
        "Hello User"
    );
}

#[tokio::test]
async fn hmrc_quirks_are_emulated() {
    let sandbox = setup::hmrc_sandbox().await.unwrap();
    // HTTP Basic client authentication is refused by HMRC: the declaration says `body`.
    let basic = oauth2_api::Runtime::builder(
        HelloWorldClient::provider().client_auth(oauth2_api::ClientAuth::Basic),
    );
    let basic = setup::on_sandbox(basic, "sandbox", &sandbox, REDIRECT_URL)
        .store(oauth2_api::store::MemoryStore::new())
        .build()
        .unwrap();
    let err = basic.token(&Application, &[]).await.unwrap_err();
    assert_eq!(err.provider_code(), Some("invalid_client"));
    // Without the versioned Accept header: 406.
    let bare = setup::on_sandbox(
        setup::builder(
            oauth2_api::Provider::new("HMRC")
                .client_auth(oauth2_api::ClientAuth::RequestBody)
                .environment(oauth2_api::Environment::new(
                    "sandbox",
                    "http://x.invalid",
                    "http://x.invalid",
                    "http://x.invalid",
                )),
        ),
        "sandbox",
        &sandbox,
        REDIRECT_URL,
    )
    .build()
    .unwrap();
    let answer = bare
        .request(&Application, Method::Get, "/hello/application")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, 406);
    assert_eq!(
        bare.decode_error(&answer, "hello").provider.unwrap().code,
        "ACCEPT_HEADER_INVALID"
    );
}

#[tokio::test]
async fn hmrc_vat_every_endpoint_and_its_errors() {
    let (sandbox, client) = vat_client(|b| b).await;
    let company = Company { id: 1 };
    let vrn = "123456789";
    let (from, to) = (date(2017, 1, 1), date(2017, 12, 31));
    authorize_company(
        &sandbox,
        || async {},
        client.runtime(),
        &company,
        &["read:vat", "write:vat"],
    )
    .await;

    let all = client
        .obligations(&company, vrn, from, to, None)
        .await
        .unwrap();
    assert_eq!(all.obligations.len(), 2);
    assert_eq!(all.obligations[0].received, Some(date(2017, 5, 7)));
    let open = client
        .obligations(&company, vrn, from, to, Some(ObligationStatus::Open))
        .await
        .unwrap();
    assert_eq!(open.obligations.len(), 1);
    let fulfilled = client
        .obligations(&company, vrn, from, to, Some(ObligationStatus::Fulfilled))
        .await
        .unwrap();
    assert_eq!(fulfilled.obligations[0].period_key, "18A1");

    // A period key holding `#` is percent-encoded, or the server would see a fragment.
    let receipt = client
        .submit_return(&company, vrn, &vat_return("#001"))
        .await
        .unwrap();
    assert_eq!(receipt.payment_indicator.as_deref(), Some("BANK"));
    let viewed = client.view_return(&company, vrn, "#001").await.unwrap();
    assert_eq!(
        viewed,
        VatReturn {
            finalised: false,
            ..vat_return("#001")
        }
    );

    let liabilities = client.liabilities(&company, vrn, from, to).await.unwrap();
    assert_eq!(
        liabilities.liabilities[0].original_amount,
        Money::new(463_872, 0)
    );
    let payments = client.payments(&company, vrn, from, to).await.unwrap();
    assert_eq!(payments.payments[0].amount, Money::new(15, 0));

    fn code<T: std::fmt::Debug>(r: Result<T, oauth2_api::Error>) -> Option<String> {
        r.unwrap_err().provider_code().map(str::to_owned)
    }
    assert_eq!(
        code(
            client
                .obligations(&company, vrn, from, date(2019, 1, 1), None)
                .await
        )
        .as_deref(),
        Some("INVALID_DATE_RANGE")
    );
    assert_eq!(
        code(client.obligations(&company, "12345", from, to, None).await).as_deref(),
        Some("VRN_INVALID")
    );
    assert_eq!(
        code(
            client
                .submit_return(&company, vrn, &vat_return("#001"))
                .await
        )
        .as_deref(),
        Some("DUPLICATE_SUBMISSION")
    );
    let unfinished = VatReturn {
        finalised: false,
        ..vat_return("18A2")
    };
    assert_eq!(
        code(client.submit_return(&company, vrn, &unfinished).await).as_deref(),
        Some("NOT_FINALISED")
    );
    let wrong_total = VatReturn {
        total_vat_due: Money::new(1, 0),
        ..vat_return("18A2")
    };
    assert_eq!(
        code(client.submit_return(&company, vrn, &wrong_total).await).as_deref(),
        Some("VAT_TOTAL_VALUE")
    );
    assert_eq!(
        code(client.view_return(&company, vrn, "18A4").await).as_deref(),
        Some("NOT_FOUND")
    );
    let err = client
        .obligations(&company, vrn, from, date(2019, 1, 1), None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string()
            .contains("INVALID_DATE_RANGE: Invalid date range"),
        "{err}"
    );
}

#[tokio::test]
async fn gov_test_scenario_is_settable_per_call() {
    let (sandbox, client) = vat_client(|b| b.request_hook(TestScenarios)).await;
    let company = Company { id: 2 };
    authorize_company(
        &sandbox,
        || async {},
        client.runtime(),
        &company,
        &["read:vat"],
    )
    .await;
    let (from, to) = (date(2017, 1, 1), date(2017, 12, 31));
    let one_met =
        client.with_context(CallContext::new().with(TestScenario("QUARTERLY_ONE_MET".into())));
    let canned = one_met
        .obligations(&company, "123456789", from, to, None)
        .await
        .unwrap();
    assert_eq!(
        canned
            .obligations
            .iter()
            .filter(|o| o.status == "F")
            .count(),
        1
    );
    assert_eq!(canned.obligations.len(), 4);
    let plain = client
        .obligations(&company, "123456789", from, to, None)
        .await
        .unwrap();
    assert_eq!(
        plain.obligations.len(),
        2,
        "the scenario applied to that call only"
    );
}

#[tokio::test]
async fn fraud_prevention_headers_pass_the_validator() {
    let vendor = Vendor::new("oauth2-api tests", [("tests", "1.0.0")])
        .public_ip("203.0.113.6".parse().unwrap());
    let (sandbox, client) = vat_client(|b| b.request_hook(FraudPrevention::new(vendor))).await;
    let company = Company { id: 4 };
    authorize_company(
        &sandbox,
        || async {},
        client.runtime(),
        &company,
        &["read:vat"],
    )
    .await;
    let full = WebClient::new("beec798b-b366-47fa-b1f8-92cede14a1ce")
        .browser_user_agent("Mozilla/5.0")
        .public_ip("198.51.100.7".parse().unwrap())
        .public_port(51234)
        .screen(oauth2_api::hmrc::Screen {
            width: 1920,
            height: 1080,
            scaling_factor: 1.0,
            colour_depth: 24,
        })
        .window_size((1200, 800))
        .timezone_minutes(60)
        .user_id("tests", "alice");
    let validate = |ctx: CallContext| {
        let runtime = client.runtime().with_context(ctx);
        let company = company.clone();
        async move {
            let answer = runtime
                .request(
                    &company,
                    Method::Get,
                    "/test/fraud-prevention-headers/validate",
                )
                .send()
                .await
                .unwrap();
            answer.json::<serde_json::Value>("validate").unwrap()
        }
    };
    let valid = validate(CallContext::new().with(full)).await;
    assert_eq!(valid["code"], "VALID_HEADERS", "{valid}");
    let partial = validate(CallContext::new().with(WebClient::new("device"))).await;
    assert_eq!(partial["code"], "INVALID_HEADERS");
    assert!(
        partial["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["headers"][0] == "gov-client-public-ip"),
        "{partial}"
    );
    // Without a client in the context, the hook refuses to send anything.
    let err = client
        .obligations(
            &company,
            "123456789",
            date(2017, 1, 1),
            date(2017, 2, 1),
            None,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("fraud-prevention"), "{err}");
}

#[tokio::test]
async fn throttled_calls_back_off_and_retry() {
    let (sandbox, client) =
        vat_client(|b| b.retry(RetryPolicy::default().base_delay(Duration::from_millis(10)))).await;
    let company = Company { id: 5 };
    authorize_company(
        &sandbox,
        || async {},
        client.runtime(),
        &company,
        &["read:vat", "write:vat"],
    )
    .await;
    let (from, to) = (date(2017, 1, 1), date(2017, 12, 31));
    sandbox.fail_next_api_call(ApiFault::Throttled(0));
    sandbox.fail_next_api_call(ApiFault::Throttled(0));
    let before = sandbox.counts().api;
    client
        .obligations(&company, "123456789", from, to, None)
        .await
        .unwrap();
    assert_eq!(
        sandbox.counts().api - before,
        3,
        "two 429s, then the answer"
    );

    // Past the retries: the 429 is the error, with HMRC's code and the Retry-After.
    for _ in 0..3 {
        sandbox.fail_next_api_call(ApiFault::Throttled(0));
    }
    let err = client
        .obligations(&company, "123456789", from, to, None)
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("MESSAGE_THROTTLED_OUT"));
    match &err {
        oauth2_api::Error::Api(api) => assert_eq!(api.retry_after, Some(Duration::ZERO)),
        other => panic!("{other:?}"),
    }

    // A POST is not sent twice unless asked.
    sandbox.fail_next_api_call(ApiFault::Throttled(0));
    let before = sandbox.counts().api;
    let err = client
        .submit_return(&company, "123456789", &vat_return("18A2"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(sandbox.counts().api - before, 1);
}

#[tokio::test]
async fn a_throttled_post_is_retried_when_asked() {
    let (sandbox, client) = vat_client(|b| {
        b.retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(10))
                .retry_non_idempotent(true),
        )
    })
    .await;
    let company = Company { id: 6 };
    authorize_company(
        &sandbox,
        || async {},
        client.runtime(),
        &company,
        &["write:vat"],
    )
    .await;
    sandbox.fail_next_api_call(ApiFault::Throttled(0));
    client
        .submit_return(&company, "123456789", &vat_return("18A2"))
        .await
        .unwrap();
}

#[tokio::test]
async fn refresh_already_in_progress_waits_for_the_other_refresh() {
    let (sandbox, client) = vat_client(|b| b).await;
    let company = Company { id: 7 };
    authorize_company(
        &sandbox,
        || async {},
        client.runtime(),
        &company,
        &["read:vat"],
    )
    .await;
    let runtime = client.runtime().clone();
    let key = runtime.session_key(&company).await.unwrap();
    let expire = || async {
        let session = runtime.store().load(&key).await.unwrap().unwrap();
        let mut tokens = session.state.tokens.unwrap();
        tokens.expires_at = Some(std::time::SystemTime::now() - Duration::from_secs(1));
        let state = oauth2_api::SessionState {
            tokens: Some(tokens),
            last_error: None,
        };
        runtime
            .store()
            .compare_and_swap(&key, session.version, &state)
            .await
            .unwrap();
    };
    let (from, to) = (date(2017, 1, 1), date(2017, 12, 31));

    // The provider's answer says another refresh is running; none lands in the store, so
    // the refresh is sent again and succeeds.
    expire().await;
    sandbox.fail_next_token_request(TokenFault::RefreshInProgress);
    client
        .obligations(&company, "123456789", from, to, None)
        .await
        .unwrap();
    assert_eq!(sandbox.counts().refresh_token, 2);

    // This time the other refresh's result lands in the store while we wait: it is used,
    // and no further refresh is sent.
    expire().await;
    sandbox.fail_next_token_request(TokenFault::RefreshInProgress);
    let other = runtime.clone();
    let other_key = key.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let session = other.store().load(&other_key).await.unwrap().unwrap();
        let mut tokens = session.state.tokens.unwrap();
        tokens.refresh_token = Some("refreshed-elsewhere".to_owned().into());
        tokens.expires_at = Some(std::time::SystemTime::now() + Duration::from_secs(3600));
        let state = oauth2_api::SessionState {
            tokens: Some(tokens),
            last_error: None,
        };
        other
            .store()
            .compare_and_swap(&other_key, session.version, &state)
            .await
            .unwrap();
    });
    client
        .obligations(&company, "123456789", from, to, None)
        .await
        .unwrap();
    writer.await.unwrap();
    assert_eq!(
        sandbox.counts().refresh_token,
        3,
        "no refresh after the other one landed"
    );
    let stored = oauth2_api_tests::stored_tokens(&runtime, &company).await;
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        "refreshed-elsewhere"
    );
}

#[tokio::test]
async fn companies_on_sandbox_and_production_in_one_process() {
    let sandbox = setup::hmrc_sandbox().await.unwrap();
    let production = setup::hmrc_sandbox().await.unwrap();
    let builder = setup::on_sandbox(
        setup::builder(HmrcVatClient::provider()),
        "sandbox",
        &sandbox,
        REDIRECT_URL,
    );
    let client = HmrcVatClient::new(
        setup::on_sandbox(builder, "production", &production, REDIRECT_URL)
            .build()
            .unwrap(),
    );
    let (acme, globex) = (Company { id: 10 }, Company { id: 11 });
    client
        .select_environment(&globex, HmrcVatEnv::Production)
        .await
        .unwrap();
    authorize_company(
        &sandbox,
        || async {},
        client.runtime(),
        &acme,
        &["read:vat"],
    )
    .await;
    authorize_company(
        &production,
        || async {},
        client.runtime(),
        &globex,
        &["read:vat"],
    )
    .await;
    let (from, to) = (date(2017, 1, 1), date(2017, 12, 31));
    client
        .obligations(&acme, "123456789", from, to, None)
        .await
        .unwrap();
    client
        .obligations(&globex, "123456789", from, to, None)
        .await
        .unwrap();
    client
        .obligations(&globex, "123456789", from, to, None)
        .await
        .unwrap();
    assert_eq!((sandbox.counts().api, production.counts().api), (1, 2));
}

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
