//! HMRC's APIs as the examples declare them: Hello World, HMRC's own quirks, every VAT
//! endpoint and its errors, and companies on two environments in one process.

use oauth2_api::{Application, CallbackParams, Method};
use oauth2_api_examples::declarations::hmrc_hello::HelloWorldClient;
use oauth2_api_examples::declarations::hmrc_vat::{
    Company, HmrcVatClient, HmrcVatEnv, Money, ObligationStatus, VatReturn,
};
use oauth2_api_examples::setup;
use oauth2_api_tests::REDIRECT_URL;

use super::{authorize_company, date, vat_client, vat_return, year_2017};

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
    let company = Company { id: 3 };
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
    authorize_company(
        &sandbox,
        client.runtime(),
        &company,
        &["read:vat", "write:vat"],
    )
    .await;
    let vrn = "123456789";
    every_endpoint(&client, &company, vrn).await;
    // After `every_endpoint`: the return it submitted is the duplicate here.
    every_error(&client, &company, vrn).await;
}

/// Every VAT endpoint answers, and a return with `#` in its key goes and comes back.
async fn every_endpoint(client: &HmrcVatClient, company: &Company, vrn: &str) {
    let (from, to) = year_2017();
    let all = client
        .obligations(company, vrn, from, to, None)
        .await
        .unwrap();
    assert_eq!(all.obligations.len(), 2);
    assert_eq!(all.obligations[0].received, Some(date(2017, 5, 7)));
    let open = client
        .obligations(company, vrn, from, to, Some(ObligationStatus::Open))
        .await
        .unwrap();
    assert_eq!(open.obligations.len(), 1);
    let fulfilled = client
        .obligations(company, vrn, from, to, Some(ObligationStatus::Fulfilled))
        .await
        .unwrap();
    assert_eq!(fulfilled.obligations[0].period_key, "18A1");

    // A period key holding `#` is percent-encoded, or the server would see a fragment.
    let receipt = client
        .submit_return(company, vrn, &vat_return("#001"))
        .await
        .unwrap();
    assert_eq!(receipt.payment_indicator.as_deref(), Some("BANK"));
    let viewed = client.view_return(company, vrn, "#001").await.unwrap();
    assert_eq!(
        viewed,
        VatReturn {
            finalised: false,
            ..vat_return("#001")
        }
    );

    let liabilities = client.liabilities(company, vrn, from, to).await.unwrap();
    assert_eq!(
        liabilities.liabilities[0].original_amount,
        Money::new(463_872, 0)
    );
    let payments = client.payments(company, vrn, from, to).await.unwrap();
    assert_eq!(payments.payments[0].amount, Money::new(15, 0));
}

/// Each error HMRC documents for these endpoints comes back with its code; a submission
/// of "#001" has been made already.
async fn every_error(client: &HmrcVatClient, company: &Company, vrn: &str) {
    let (from, to) = year_2017();
    assert_eq!(
        code(
            client
                .obligations(company, vrn, from, date(2019, 1, 1), None)
                .await
        )
        .as_deref(),
        Some("INVALID_DATE_RANGE")
    );
    assert_eq!(
        code(client.obligations(company, "12345", from, to, None).await).as_deref(),
        Some("VRN_INVALID")
    );
    assert_eq!(
        code(
            client
                .submit_return(company, vrn, &vat_return("#001"))
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
        code(client.submit_return(company, vrn, &unfinished).await).as_deref(),
        Some("NOT_FINALISED")
    );
    let wrong_total = VatReturn {
        total_vat_due: Money::new(1, 0),
        ..vat_return("18A2")
    };
    assert_eq!(
        code(client.submit_return(company, vrn, &wrong_total).await).as_deref(),
        Some("VAT_TOTAL_VALUE")
    );
    assert_eq!(
        code(client.view_return(company, vrn, "18A4").await).as_deref(),
        Some("NOT_FOUND")
    );
    let err = client
        .obligations(company, vrn, from, date(2019, 1, 1), None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string()
            .contains("INVALID_DATE_RANGE: Invalid date range"),
        "{err}"
    );
}

/// The provider code of a call that must fail.
fn code<T: std::fmt::Debug>(r: Result<T, oauth2_api::Error>) -> Option<String> {
    r.unwrap_err().provider_code().map(str::to_owned)
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
    authorize_company(&sandbox, client.runtime(), &acme, &["read:vat"]).await;
    authorize_company(&production, client.runtime(), &globex, &["read:vat"]).await;
    let (from, to) = year_2017();
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
