//! The runtime's extension points on HMRC: request hooks (test scenarios,
//! fraud-prevention headers), 429 back-off, and HMRC's "refresh already in progress".

use std::time::Duration;

use oauth2_api::hmrc::{FraudPrevention, TestScenario, TestScenarios, Vendor, WebClient};
use oauth2_api::sandbox::{ApiFault, TokenFault};
use oauth2_api::{CallContext, ExposeSecret, Method, RetryPolicy};
use oauth2_api_examples::declarations::hmrc_vat::Company;

use super::{authorize_company, date, vat_client, vat_return, year_2017};

#[tokio::test]
async fn gov_test_scenario_is_settable_per_call() {
    let (sandbox, client) = vat_client(|b| b.request_hook(TestScenarios)).await;
    let company = Company { id: 2 };
    authorize_company(&sandbox, client.runtime(), &company, &["read:vat"]).await;
    let (from, to) = year_2017();
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
    authorize_company(&sandbox, client.runtime(), &company, &["read:vat"]).await;
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
        client.runtime(),
        &company,
        &["read:vat", "write:vat"],
    )
    .await;
    let (from, to) = year_2017();
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
    authorize_company(&sandbox, client.runtime(), &company, &["write:vat"]).await;
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
    authorize_company(&sandbox, client.runtime(), &company, &["read:vat"]).await;
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
    let (from, to) = year_2017();

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
