//! A GitHub-style integration, offline: authorization, every repository across pages
//! of `Link` headers, a 429 retried, GitHub's error body, scopes as GitHub grants them.
//!
//! ```text
//! cargo run --example github
//! ```
//!
//! The API is declared in `examples/src/declarations/github.rs`; GitHub's side is
//! played by the routes in `examples/src/fakes/github.rs`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    oauth2_api_examples::github::run().await?;
    Ok(())
}
