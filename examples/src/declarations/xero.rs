//! A Xero-style API: the declaration, the user type and the wire types. The tenants
//! list lives on another base URL than the accounting API, every accounting call names
//! its organisation in a header, and invoices come in numbered pages.

use oauth2_api::{ApiUser, Error, UserRef, oauth2_api};
use serde::{Deserialize, Serialize};

/// A person of the application who connects their Xero organisations.
#[derive(Clone, Debug)]
pub struct Accountant {
    /// The application's own id of the person.
    pub id: u32,
}

impl ApiUser for Accountant {
    fn user_ref(&self) -> UserRef {
        UserRef::new("accountant", self.id)
    }
}

/// One organisation the person connected (`GET /connections`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// The id every accounting call sends as `xero-tenant-id`.
    pub tenant_id: String,
    /// The organisation's name.
    pub tenant_name: String,
    /// `ORGANISATION` or `PRACTICE`.
    pub tenant_type: String,
}

/// One invoice of `GET /Invoices`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Invoice {
    /// E.g. `INV-0001`.
    pub invoice_number: String,
    /// `DRAFT`, `AUTHORISED`, `PAID`, ...
    pub status: String,
    /// The total, tax included.
    pub total: f64,
}

/// Xero's answer to `POST /Invoices`: the invoices created.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Invoices {
    /// One per invoice sent.
    pub invoices: Vec<Invoice>,
}

/// The body of `POST /Invoices`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewInvoice<'a> {
    /// `ACCREC` (a sales invoice) or `ACCPAY` (a bill).
    #[serde(rename = "Type")]
    pub kind: &'a str,
    /// The invoice date, `YYYY-MM-DD`; Xero refuses an invoice without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<&'a str>,
}

/// Xero's error body (RFC 7807 problem details), kept whole.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct XeroError {
    /// E.g. `ValidationException`.
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// E.g. `Validation failed`.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What to change.
    pub detail: Option<String>,
}

/// Xero's accounting API and its tenants list. `offline_access` is asked for in every
/// authorization (Xero gives no refresh token without it) though no endpoint needs it.
#[oauth2_api(provider = "Xero",
             environment(name = "production", base_url = "https://api.xero.com/api.xro/2.0",
                         base_urls(identity = "https://api.xero.com"),
                         auth_url = "https://login.xero.com/identity/connect/authorize",
                         token_url = "https://identity.xero.com/connect/token"),
             scopes = ["offline_access"],
             headers("Accept" = "application/json"),
             error_body = XeroError)]
pub trait Xero {
    /// The organisations the person connected, on the identity base URL.
    #[endpoint(method = GET, path = "/connections", user = Accountant, base_url = identity)]
    async fn connections(&self) -> Result<Vec<Connection>, Error>;

    /// One page of an organisation's invoices; `invoices_items` walks the pages.
    #[endpoint(method = GET, path = "/Invoices", scope = "accounting.transactions.read",
               user = Accountant, paginate(page = "page", per_page = "pageSize", items = "Invoices"))]
    async fn invoices(
        &self,
        #[header("xero-tenant-id")] tenant: &str,
        #[query(rename = "pageSize")] page_size: u32,
    ) -> Result<Vec<Invoice>, Error>;

    /// Creates an invoice; one Xero refuses is a 400 with [`XeroError`].
    #[endpoint(method = POST, path = "/Invoices", scope = "accounting.transactions",
               user = Accountant)]
    async fn create_invoice(
        &self,
        #[header("xero-tenant-id")] tenant: &str,
        #[body] invoice: &NewInvoice<'_>,
    ) -> Result<Invoices, Error>;
}
