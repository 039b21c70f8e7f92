//! HMRC Making Tax Digital VAT: obligations, a return submitted and viewed, liabilities,
//! payments, with the fraud-prevention headers, for two companies: one on the sandbox,
//! one on "production" (a second local sandbox standing in for it).
//!
//! Offline by default. With `HMRC_CLIENT_ID`, `HMRC_CLIENT_SECRET`, `HMRC_REDIRECT_URL`
//! and `HMRC_VRN` (a sandbox test organisation's VRN) it talks to HMRC's real sandbox.

use chrono::NaiveDate;
use oauth2_api::hmrc::{FraudPrevention, TestScenario, TestScenarios, Vendor, WebClient};
use oauth2_api::sandbox::Sandbox;
use oauth2_api::{Browser, CallContext, Credentials, LoopbackAuthorizer, RuntimeBuilder};
use oauth2_api_examples::declarations::hmrc_vat::{
    Company, HmrcVatClient, HmrcVatEnv, HmrcVatUser, Money, VatReturn,
};
use oauth2_api_examples::setup;

/// What the run works with. The local sandboxes live as long as it: dropping them stops
/// them; there are none against HMRC's real sandbox.
struct Setup {
    client: HmrcVatClient,
    browser: Browser,
    vrn: String,
    sandboxes: Vec<Sandbox>,
}

/// The dates every call asks about.
struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

fn with_hooks(builder: RuntimeBuilder) -> RuntimeBuilder {
    let vendor = Vendor::new(
        "oauth2-api examples",
        [("hmrc-vat-example", env!("CARGO_PKG_VERSION"))],
    )
    .public_ip("203.0.113.6".parse().unwrap());
    builder
        .request_hook(FraudPrevention::new(vendor))
        .request_hook(TestScenarios)
        .rate_limit(3, std::time::Duration::from_secs(1))
}

#[tokio::main]
async fn main() {
    let setup = match setup::credentials_from_env("HMRC") {
        Some(credentials) => on_hmrc(credentials),
        None => on_local_sandboxes().await,
    };
    // Each end user's request carries their device and network facts.
    let client = setup.client.with_context(
        CallContext::new().with(
            WebClient::new("beec798b-b366-47fa-b1f8-92cede14a1ce")
                .public_ip("198.51.100.7".parse().unwrap())
                .public_port(51234)
                .timezone_minutes(0)
                .user_id("examples", "alice"),
        ),
    );
    let (acme, globex) = (Company { id: 1 }, Company { id: 2 });
    if setup.sandboxes.len() == 2 {
        client
            .select_environment(&globex, HmrcVatEnv::Production)
            .await
            .unwrap_or_else(|e| setup::fail(e));
    }
    let authorizer = LoopbackAuthorizer::new().browser(setup.browser);
    let period = Period {
        from: NaiveDate::from_ymd_opt(2017, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2017, 12, 31).unwrap(),
    };
    for company in [&acme, &globex] {
        file_vat(&client, &authorizer, company, &setup.vrn, &period).await;
    }
    scenario_and_refusal(&client, &acme, &setup.vrn, &period).await;
}

/// HMRC's real sandbox, with the credentials and the VRN from the environment.
fn on_hmrc(credentials: Credentials) -> Setup {
    println!("Using HMRC's sandbox with the credentials from the environment.");
    let vrn = std::env::var("HMRC_VRN").expect("HMRC_VRN: a test organisation's VRN");
    let runtime =
        with_hooks(setup::builder(HmrcVatClient::provider()).credentials(credentials)).build();
    Setup {
        client: HmrcVatClient::new(runtime.unwrap_or_else(|e| setup::fail(e))),
        browser: Browser::System,
        vrn,
        sandboxes: Vec::new(),
    }
}

/// Two local sandboxes, one standing in for production.
async fn on_local_sandboxes() -> Setup {
    let sandbox = setup::hmrc_sandbox().await.expect("the sandbox starts");
    let production = setup::hmrc_sandbox()
        .await
        .expect("the second sandbox starts");
    println!(
        "Local HMRC-like sandboxes: sandbox {}, production {}.",
        sandbox.url(),
        production.url()
    );
    let redirect = format!("http://127.0.0.1:{}/callback", setup::free_port());
    let builder = setup::builder(HmrcVatClient::provider());
    let builder = setup::on_sandbox(builder, "sandbox", &sandbox, &redirect);
    let builder = setup::on_sandbox(builder, "production", &production, &redirect);
    let runtime = with_hooks(builder)
        .build()
        .unwrap_or_else(|e| setup::fail(e));
    Setup {
        client: HmrcVatClient::new(runtime),
        browser: Browser::Follow,
        vrn: "123456789".to_owned(),
        sandboxes: vec![sandbox, production],
    }
}

/// One company's year: its obligations (authorizing first if needed), a return for the
/// open one submitted, viewed and submitted again, its liabilities and payments.
async fn file_vat(
    client: &HmrcVatClient,
    authorizer: &LoopbackAuthorizer,
    company: &Company,
    vrn: &str,
    period: &Period,
) {
    let Period { from, to } = *period;
    let env = client
        .runtime()
        .environment_of(company)
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!("\nCompany {} works in `{env}`.", company.id);
    if !client.is_authorized(company).await.unwrap_or(false) {
        println!(
            "  not authorized yet: the first call asks for {:?}",
            <Company as HmrcVatUser>::SCOPES
        );
    }
    let obligations = client
        .runtime()
        .authorize_and_retry(authorizer)
        .run(|| client.obligations(company, vrn, from, to, None))
        .await
        .unwrap_or_else(|e| setup::fail(e));
    for o in &obligations.obligations {
        println!(
            "  obligation {} {}..{} due {} status {}",
            o.period_key, o.start, o.end, o.due, o.status
        );
    }
    let Some(open) = obligations.obligations.iter().find(|o| o.status == "O") else {
        return;
    };
    submit_and_view(client, company, vrn, &open.period_key).await;
    let liabilities = client
        .liabilities(company, vrn, from, to)
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!("  {} liabilities", liabilities.liabilities.len());
    let payments = client
        .payments(company, vrn, from, to)
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!("  {} payments", payments.payments.len());
}

/// Submits a return for `period_key`, views it back, and shows HMRC's answer to the
/// same return submitted again.
async fn submit_and_view(client: &HmrcVatClient, company: &Company, vrn: &str, period_key: &str) {
    let vat_return = VatReturn {
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
    };
    let receipt = client
        .submit_return(company, vrn, &vat_return)
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!(
        "  submitted {}: form bundle {}",
        period_key, receipt.form_bundle_number
    );
    let viewed = client
        .view_return(company, vrn, period_key)
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!(
        "  viewed it back: box 5 = {:.2}",
        viewed.net_vat_due.0 as f64 / 100.0
    );
    match client.submit_return(company, vrn, &vat_return).await {
        Err(e) => println!(
            "  submitting again: {} ({})",
            e.provider_code().unwrap_or("?"),
            e
        ),
        Ok(_) => println!("  submitting again was accepted"),
    }
}

/// A sandbox test scenario for one call, then a date range HMRC refuses.
async fn scenario_and_refusal(client: &HmrcVatClient, acme: &Company, vrn: &str, period: &Period) {
    let Period { from, to } = *period;
    let scenario = client.with_context(
        CallContext::new()
            .with(WebClient::new("beec798b-b366-47fa-b1f8-92cede14a1ce"))
            .with(TestScenario("QUARTERLY_ONE_MET".to_owned())),
    );
    let canned = scenario
        .obligations(acme, vrn, from, to, None)
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!(
        "\nWith Gov-Test-Scenario QUARTERLY_ONE_MET: {} obligations",
        canned.obligations.len()
    );
    let too_long = client
        .obligations(
            acme,
            vrn,
            from,
            NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
            None,
        )
        .await;
    if let Err(e) = too_long {
        println!(
            "A range over 366 days: {}",
            e.provider_code().unwrap_or("?")
        );
    }
}
