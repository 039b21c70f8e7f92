//! The provider integrations of `examples/` against local sandboxes that emulate each
//! provider's quirks: every endpoint, error bodies, fraud-prevention headers, 429
//! back-off, refresh in progress, two environments in one process. What the HMRC tests
//! share is here.

use chrono::NaiveDate;
use oauth2_api::CallbackParams;
use oauth2_api::RuntimeBuilder;
use oauth2_api::sandbox::Sandbox;
use oauth2_api_examples::declarations::hmrc_vat::{Company, HmrcVatClient, Money, VatReturn};
use oauth2_api_examples::setup;
use oauth2_api_tests::REDIRECT_URL;

mod hmrc_apis;
mod hmrc_extensions;
mod piste;

/// A calendar date; the tests' dates are all valid.
pub(super) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The year 2017, which the sandbox's canned VAT answers cover.
pub(super) fn year_2017() -> (NaiveDate, NaiveDate) {
    (date(2017, 1, 1), date(2017, 12, 31))
}

/// A finalised return for `period_key` whose boxes add up.
pub(super) fn vat_return(period_key: &str) -> VatReturn {
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

/// Authorizes `company` for `scopes` on `sandbox`, as a person approving would.
pub(super) async fn authorize_company(
    sandbox: &Sandbox,
    client_runtime: &oauth2_api::Runtime,
    company: &Company,
    scopes: &[&str],
) {
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

/// A VAT client on a fresh HMRC-like sandbox, with `hooks` applied to its builder.
pub(super) async fn vat_client(
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
