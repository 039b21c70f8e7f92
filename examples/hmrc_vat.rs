//! HMRC Making Tax Digital VAT: obligations, a return submitted and viewed, liabilities,
//! payments, with the fraud-prevention headers, for two companies: one on the sandbox,
//! one on "production" (a second local sandbox standing in for it).
//!
//! Offline by default. With `HMRC_CLIENT_ID`, `HMRC_CLIENT_SECRET`, `HMRC_REDIRECT_URL`
//! and `HMRC_VRN` (a sandbox test organisation's VRN) it talks to HMRC's real sandbox.

use chrono::NaiveDate;
use oauth2_api::hmrc::{FraudPrevention, TestScenario, TestScenarios, Vendor, WebClient};
use oauth2_api::{Browser, CallContext, LoopbackAuthorizer, RuntimeBuilder};
use oauth2_api_examples::local;
use oauth2_api_examples::vat::{Company, HmrcVatClient, HmrcVatEnv, HmrcVatUser, Money, VatReturn};

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
    let real = local::credentials_from_env("HMRC");
    let (_sandboxes, client, browser, vrn) = match real {
        Some(credentials) => {
            println!("Using HMRC's sandbox with the credentials from the environment.");
            let vrn = std::env::var("HMRC_VRN").expect("HMRC_VRN: a test organisation's VRN");
            let runtime =
                with_hooks(local::builder(HmrcVatClient::provider()).credentials(credentials))
                    .build();
            (
                Vec::new(),
                HmrcVatClient::new(runtime.unwrap_or_else(|e| local::fail(e))),
                Browser::System,
                vrn,
            )
        }
        None => {
            let sandbox = local::hmrc_sandbox().await.expect("the sandbox starts");
            let production = local::hmrc_sandbox()
                .await
                .expect("the second sandbox starts");
            println!(
                "Local HMRC-like sandboxes: sandbox {}, production {}.",
                sandbox.url(),
                production.url()
            );
            let redirect = format!("http://127.0.0.1:{}/callback", free_port());
            let builder = local::builder(HmrcVatClient::provider());
            let builder = local::on_sandbox(builder, "sandbox", &sandbox, &redirect);
            let builder = local::on_sandbox(builder, "production", &production, &redirect);
            let runtime = with_hooks(builder)
                .build()
                .unwrap_or_else(|e| local::fail(e));
            (
                vec![sandbox, production],
                HmrcVatClient::new(runtime),
                Browser::Follow,
                "123456789".to_owned(),
            )
        }
    };

    // Each end user's request carries their device and network facts.
    let client = client.with_context(
        CallContext::new().with(
            WebClient::new("beec798b-b366-47fa-b1f8-92cede14a1ce")
                .public_ip("198.51.100.7".parse().unwrap())
                .public_port(51234)
                .timezone_minutes(0)
                .user_id("examples", "alice"),
        ),
    );
    let (acme, globex) = (Company { id: 1 }, Company { id: 2 });
    if _sandboxes.len() == 2 {
        client
            .select_environment(&globex, HmrcVatEnv::Production)
            .await
            .unwrap_or_else(|e| local::fail(e));
    }
    let authorizer = LoopbackAuthorizer::new().browser(browser);
    let from = NaiveDate::from_ymd_opt(2017, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2017, 12, 31).unwrap();

    for company in [&acme, &globex] {
        let env = client
            .runtime()
            .environment_of(company)
            .await
            .unwrap_or_else(|e| local::fail(e));
        println!("\nCompany {} works in `{env}`.", company.id);
        if !client.is_authorized(company).await.unwrap_or(false) {
            println!(
                "  not authorized yet: the first call asks for {:?}",
                <Company as HmrcVatUser>::SCOPES
            );
        }
        let obligations = client
            .runtime()
            .authorize_and_retry(&authorizer)
            .run(|| client.obligations(company, &vrn, from, to, None))
            .await
            .unwrap_or_else(|e| local::fail(e));
        for o in &obligations.obligations {
            println!(
                "  obligation {} {}..{} due {} status {}",
                o.period_key, o.start, o.end, o.due, o.status
            );
        }
        let Some(open) = obligations.obligations.iter().find(|o| o.status == "O") else {
            continue;
        };
        let vat_return = VatReturn {
            period_key: open.period_key.clone(),
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
            .submit_return(company, &vrn, &vat_return)
            .await
            .unwrap_or_else(|e| local::fail(e));
        println!(
            "  submitted {}: form bundle {}",
            open.period_key, receipt.form_bundle_number
        );
        let viewed = client
            .view_return(company, &vrn, &open.period_key)
            .await
            .unwrap_or_else(|e| local::fail(e));
        println!(
            "  viewed it back: box 5 = {:.2}",
            viewed.net_vat_due.0 as f64 / 100.0
        );
        match client.submit_return(company, &vrn, &vat_return).await {
            Err(e) => println!(
                "  submitting again: {} ({})",
                e.provider_code().unwrap_or("?"),
                e
            ),
            Ok(_) => println!("  submitting again was accepted"),
        }
        let liabilities = client
            .liabilities(company, &vrn, from, to)
            .await
            .unwrap_or_else(|e| local::fail(e));
        println!("  {} liabilities", liabilities.liabilities.len());
        let payments = client
            .payments(company, &vrn, from, to)
            .await
            .unwrap_or_else(|e| local::fail(e));
        println!("  {} payments", payments.payments.len());
    }

    // A sandbox test scenario, for one call.
    let scenario = client.with_context(
        CallContext::new()
            .with(WebClient::new("beec798b-b366-47fa-b1f8-92cede14a1ce"))
            .with(TestScenario("QUARTERLY_ONE_MET".to_owned())),
    );
    let canned = scenario
        .obligations(&acme, &vrn, from, to, None)
        .await
        .unwrap_or_else(|e| local::fail(e));
    println!(
        "\nWith Gov-Test-Scenario QUARTERLY_ONE_MET: {} obligations",
        canned.obligations.len()
    );
    let too_long = client
        .obligations(
            &acme,
            &vrn,
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(8765)
}
