//! HMRC Making Tax Digital VAT (API 1.0): the declaration and its wire types.

use chrono::NaiveDate;
use oauth2_api::{Error, oauth2_api};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::Company;

/// HMRC Making Tax Digital VAT, for companies that authorize the application.
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
    /// The VAT obligations of `vrn` between `from` and `to` (at most 366 days).
    #[endpoint(method = GET, path = "/organisations/vat/{vrn}/obligations", scope = "read:vat", user = Company)]
    async fn obligations(
        &self,
        vrn: &str,
        #[query] from: NaiveDate,
        #[query] to: NaiveDate,
        #[query] status: Option<ObligationStatus>,
    ) -> Result<Obligations, Error>;
    /// Submits a VAT return (answered 201).
    #[endpoint(method = POST, path = "/organisations/vat/{vrn}/returns", scope = "write:vat", user = Company)]
    async fn submit_return(
        &self,
        vrn: &str,
        #[body] vat_return: &VatReturn,
    ) -> Result<Receipt, Error>;
    /// A submitted return; the period key may hold `#`, which is percent-encoded.
    #[endpoint(method = GET, path = "/organisations/vat/{vrn}/returns/{period_key}", scope = "read:vat", user = Company)]
    async fn view_return(&self, vrn: &str, period_key: &str) -> Result<VatReturn, Error>;
    /// The liabilities of `vrn` between two dates.
    #[endpoint(method = GET, path = "/organisations/vat/{vrn}/liabilities", scope = "read:vat", user = Company)]
    async fn liabilities(
        &self,
        vrn: &str,
        #[query] from: NaiveDate,
        #[query] to: NaiveDate,
    ) -> Result<Liabilities, Error>;
    /// The payments of `vrn` between two dates.
    #[endpoint(method = GET, path = "/organisations/vat/{vrn}/payments", scope = "read:vat", user = Company)]
    async fn payments(
        &self,
        vrn: &str,
        #[query] from: NaiveDate,
        #[query] to: NaiveDate,
    ) -> Result<Payments, Error>;
}

/// An amount of money in pence, written as pounds with two decimals on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i64);

impl Money {
    /// `pounds.pence`.
    pub const fn new(pounds: i64, pence: i64) -> Self {
        Money(pounds * 100 + pence)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 100.0)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Money((f64::deserialize(d)? * 100.0).round() as i64))
    }
}

/// Which obligations to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ObligationStatus {
    /// Open.
    #[serde(rename = "O")]
    Open,
    /// Fulfilled.
    #[serde(rename = "F")]
    Fulfilled,
}

/// The answer of `obligations`.
#[derive(Clone, Debug, Deserialize)]
pub struct Obligations {
    /// The obligations.
    pub obligations: Vec<Obligation>,
}

/// One VAT period to file.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Obligation {
    /// The period's first day.
    pub start: NaiveDate,
    /// The period's last day.
    pub end: NaiveDate,
    /// When the return is due.
    pub due: NaiveDate,
    /// `O` (open) or `F` (fulfilled).
    pub status: String,
    /// The key to submit the return under.
    pub period_key: String,
    /// When the return was received, for fulfilled obligations.
    pub received: Option<NaiveDate>,
}

/// A VAT return: boxes 1–5 in pence, 6–9 in whole pounds. The wire names are HMRC's
/// (note `ExVAT`, which serde's `camelCase` would spell `ExVat`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VatReturn {
    /// The obligation's period key.
    pub period_key: String,
    /// Box 1.
    pub vat_due_sales: Money,
    /// Box 2.
    pub vat_due_acquisitions: Money,
    /// Box 3: box 1 + box 2.
    pub total_vat_due: Money,
    /// Box 4.
    pub vat_reclaimed_curr_period: Money,
    /// Box 5.
    pub net_vat_due: Money,
    /// Box 6.
    #[serde(rename = "totalValueSalesExVAT")]
    pub total_value_sales_ex_vat: i64,
    /// Box 7.
    #[serde(rename = "totalValuePurchasesExVAT")]
    pub total_value_purchases_ex_vat: i64,
    /// Box 8.
    #[serde(rename = "totalValueGoodsSuppliedExVAT")]
    pub total_value_goods_supplied_ex_vat: i64,
    /// Box 9.
    #[serde(rename = "totalAcquisitionsExVAT")]
    pub total_acquisitions_ex_vat: i64,
    /// The declaration that the return is final; HMRC's view of a return leaves it out.
    #[serde(default)]
    pub finalised: bool,
}

/// The answer to a submitted return.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// When HMRC processed it.
    pub processing_date: String,
    /// `DD` (direct debit) or `BANK`.
    pub payment_indicator: Option<String>,
    /// HMRC's reference of the submission.
    pub form_bundle_number: String,
    /// The charge reference, when money is due.
    pub charge_ref_number: Option<String>,
}

/// The answer of `liabilities`.
#[derive(Clone, Debug, Deserialize)]
pub struct Liabilities {
    /// The liabilities.
    pub liabilities: Vec<Liability>,
}

/// An amount owed for a period.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Liability {
    /// The period it is for.
    pub tax_period: Option<TaxPeriod>,
    /// The kind of charge.
    pub r#type: String,
    /// The amount charged.
    pub original_amount: Money,
    /// What is left to pay.
    pub outstanding_amount: Option<Money>,
    /// When it is due.
    pub due: Option<NaiveDate>,
}

/// A tax period.
#[derive(Clone, Debug, Deserialize)]
pub struct TaxPeriod {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

/// The answer of `payments`.
#[derive(Clone, Debug, Deserialize)]
pub struct Payments {
    /// The payments.
    pub payments: Vec<Payment>,
}

/// A payment received.
#[derive(Clone, Debug, Deserialize)]
pub struct Payment {
    /// The amount.
    pub amount: Money,
    /// When it was received.
    pub received: Option<NaiveDate>,
}
