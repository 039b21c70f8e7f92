//! A Xero-style integration, offline: authorization with `offline_access`, the tenants
//! list on a second base URL, each organisation's invoices in numbered pages with its
//! `xero-tenant-id`, a 429 retried, rotating refresh tokens, Xero's error body.
//!
//! ```text
//! cargo run --example xero
//! ```
//!
//! The API is declared in `examples/src/declarations/xero.rs`; Xero's side is played by
//! the routes in `examples/src/fakes/xero.rs`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    oauth2_api_examples::xero::run().await?;
    Ok(())
}
