//! The quickstart: the HMRC Hello World API against a local sandbox provider, offline.
//!
//! ```text
//! cargo run --example quickstart              # the sandbox approves at once
//! cargo run --example quickstart -- --browser # a real browser shows the consent page
//! cargo run --example quickstart -- --reset   # forget the stored sessions first
//! ```
//!
//! Sessions are kept in a SQLite file, so a second run calls straight through.

use std::path::PathBuf;
use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::SqliteStore;
use oauth2_api::{
    AuthorizationRequired, Authorized, Authorizer, Browser, Credentials, Error, LoopbackAuthorizer,
    Runtime,
};
use oauth2_api_examples::{Company, HelloWorldClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let browser = args.iter().any(|a| a == "--browser");
    let dir = std::env::var_os("QUICKSTART_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("oauth2-api-quickstart"));
    if args.iter().any(|a| a == "--reset") {
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::create_dir_all(&dir)?;

    let sandbox = Sandbox::start(SandboxConfig {
        auto_approve: !browser,
        state_file: Some(dir.join("sandbox-tokens.json")),
        ..SandboxConfig::default()
    })
    .await?;
    println!(
        "1. Started a local HMRC-like sandbox provider at {} (offline).",
        sandbox.url()
    );

    let sessions = dir.join("sessions.db");
    let callback_port = free_port()?;
    let runtime = HelloWorldClient::builder()
        .credentials(
            Credentials::new("sandbox-client")
                .secret("sandbox-secret")
                .redirect_url(format!("http://127.0.0.1:{callback_port}/oauth2/callback")),
        )
        .base_url("sandbox", sandbox.url())
        .auth_url("sandbox", sandbox.auth_url())
        .token_url("sandbox", sandbox.token_url())
        .store(SqliteStore::open(&sessions).await?)
        .build()?;
    let client = HelloWorldClient::new(runtime);
    println!("2. Sessions are kept in {}.", sessions.display());

    println!("3. Calling /hello/application as the application (client credentials)...");
    println!("   -> {}", client.hello_application().await?.message);

    let company = Company { id: 42 };
    println!("4. Calling /hello/user for company 42...");
    let already = client.is_authorized(&company).await?;
    let browser = if browser {
        Browser::System
    } else {
        Browser::Follow
    };
    let authorizer = Narrated(LoopbackAuthorizer::new().browser(browser));
    let answer = client
        .runtime()
        .authorize_and_retry(&authorizer)
        .timeout(Duration::from_secs(300))
        .run(|| client.hello_user(&company))
        .await?;
    println!("   -> {}", answer.message);
    if already {
        println!(
            "5. Company 42 had authorized in an earlier run: the stored session was used, no authorization was needed."
        );
    } else {
        println!("5. Run me again: the session is stored, so the next run calls straight through.");
    }
    Ok(())
}

/// The loopback authorizer, saying what happens in plain words.
struct Narrated(LoopbackAuthorizer);

#[oauth2_api::async_trait]
impl Authorizer for Narrated {
    async fn authorize(
        &self,
        runtime: &Runtime,
        required: &AuthorizationRequired,
    ) -> Result<Authorized, Error> {
        println!("   Authorization required: {}.", required.reason);
        println!(
            "   Sending the person to the provider's authorization page and waiting for the callback..."
        );
        let done = self.0.authorize(runtime, required).await?;
        println!("   The callback arrived and the tokens are stored; retrying the call.");
        Ok(done)
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
