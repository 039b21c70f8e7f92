//! The Xero-style integration, offline: the declared API of
//! [`declarations::xero`](crate::declarations::xero) against its stand-in routes
//! ([`fakes::xero`]) behind the sandbox's authorization server.
//! Shared by the `xero` example and the tests.

use oauth2_api::sandbox::{ApiFault, Sandbox};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Browser, Credentials, LoopbackAuthorizer};

use crate::declarations::xero::{Accountant, Connection, NewInvoice, XeroClient, XeroError};
use crate::{fakes, setup};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// Each organisation's name and its invoice numbers, across the pages.
    pub invoices: Vec<(String, Vec<String>)>,
    /// API requests each organisation's listing took (a page retried after a 429 counts twice).
    pub listing_requests: Vec<u64>,
    /// Refreshes, each with the refresh token the previous one returned.
    pub refreshes: u64,
    /// The declared error body of the refused invoice.
    pub error: XeroError,
}

/// The glue an application writes beyond the declaration: a runtime for the declared
/// API, here with every URL at the stand-in (against Xero: its credentials, a store).
fn client(sandbox: &Sandbox) -> Result<XeroClient, oauth2_api::Error> {
    let redirect = format!("http://127.0.0.1:{}/callback", setup::free_port());
    let credentials = Credentials::new("sandbox-client").secret("sandbox-secret");
    let runtime = XeroClient::builder()
        .credentials(credentials.redirect_url(redirect))
        .all_urls_at(sandbox.url())
        .store(MemoryStore::new())
        .build()?;
    Ok(XeroClient::new(runtime))
}

/// Runs the integration, printing each step.
pub async fn run() -> Result<Outcome, BoxError> {
    let sandbox = Sandbox::serve(fakes::xero::config(), fakes::xero::routes()).await?;
    println!(
        "Xero stand-in at {} (offline): identity at /, accounting at /api.xro/2.0.",
        sandbox.url()
    );
    let client = client(&sandbox)?;
    let accountant = Accountant { id: 1 };

    println!(
        "1. GET /connections (identity base URL): no session yet, so the person authorizes (the sandbox approves)..."
    );
    let authorizer = LoopbackAuthorizer::new().browser(Browser::Follow);
    let connections = client
        .runtime()
        .authorize_and_retry(&authorizer)
        .run(|| client.connections(&accountant))
        .await?;
    println!(
        "   -> {} organisations (every authorization asks for offline_access too, declared once)",
        connections.len()
    );

    let (invoices, listing_requests) =
        list_invoices(&client, &sandbox, &accountant, &connections).await?;

    println!(
        "3. The access token expires, twice: each call renews it, the refresh token rotating..."
    );
    let before = sandbox.counts().refresh_token;
    for _ in 0..2 {
        sandbox.expire_access_tokens();
        client.connections(&accountant).await?;
    }
    let refreshes = sandbox.counts().refresh_token - before;
    // A reused refresh token revokes the grant at the sandbox: the second refresh
    // succeeding shows the first one's new token was kept.
    println!("   -> {refreshes} refreshes, the second with the refresh token the first returned");

    println!("4. POST /Invoices without a Date...");
    let tenant = &connections[0].tenant_id;
    let draft = NewInvoice {
        kind: "ACCREC",
        date: None,
    };
    let err = client
        .create_invoice(&accountant, tenant, &draft)
        .await
        .unwrap_err();
    let error = err
        .error_body::<XeroError>()
        .ok_or(format!("not Xero's error body: {err}"))?;
    println!(
        "   -> {} {} {}: {}",
        error.status,
        error.kind.as_deref().unwrap_or("-"),
        error.title,
        error.detail.as_deref().unwrap_or("-")
    );
    let error = error.clone();
    Ok(Outcome {
        invoices,
        listing_requests,
        refreshes,
        error,
    })
}

/// Step 2: every invoice of each organisation, its id in `xero-tenant-id`; the first
/// request is throttled once.
async fn list_invoices(
    client: &XeroClient,
    sandbox: &Sandbox,
    accountant: &Accountant,
    connections: &[Connection],
) -> Result<(Vec<(String, Vec<String>)>, Vec<u64>), BoxError> {
    println!(
        "2. GET /Invoices per organisation (xero-tenant-id), pageSize 3; the first request is answered 429..."
    );
    sandbox.fail_next_api_call(ApiFault::Throttled(1));
    let (mut invoices, mut listing_requests) = (Vec::new(), Vec::new());
    for tenant in connections {
        let before = sandbox.counts().api;
        let listed = client
            .invoices_items(accountant, &tenant.tenant_id, 3)
            .collect()
            .await?;
        let numbers: Vec<String> = listed.into_iter().map(|i| i.invoice_number).collect();
        let requests = sandbox.counts().api - before;
        println!(
            "   {} ({}), requests {requests}: {}",
            tenant.tenant_name,
            tenant.tenant_id,
            numbers.join(" ")
        );
        invoices.push((tenant.tenant_name.clone(), numbers));
        listing_requests.push(requests);
    }
    Ok((invoices, listing_requests))
}
