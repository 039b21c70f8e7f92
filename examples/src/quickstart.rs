//! The quickstart's steps, shared by the `quickstart` example and the tests.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::SqliteStore;
use oauth2_api::{
    AuthorizationRequired, Authorized, Authorizer, Browser, Credentials, Error, LoopbackAuthorizer,
    Runtime,
};

use crate::declarations::hmrc_hello::{Company, HelloWorldClient};

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// The application endpoint's answer.
    pub application: String,
    /// The user endpoint's answer.
    pub user: String,
    /// Whether a person had to authorize during this run.
    pub authorized_now: bool,
}

/// Runs the quickstart with its files in `dir`, printing each step.
pub async fn run(
    dir: &Path,
    browser: Browser,
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    std::fs::create_dir_all(dir)?;
    let interactive = !matches!(browser, Browser::Follow);
    let sandbox = Sandbox::start(SandboxConfig {
        auto_approve: !interactive,
        state_file: Some(dir.join("sandbox-tokens.json")),
        ..SandboxConfig::default()
    })
    .await?;
    println!(
        "1. Started a local HMRC-like sandbox provider at {} (offline).",
        sandbox.url()
    );

    let sessions = dir.join("sessions.db");
    let callback_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
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
    let application = client.hello_application().await?.message;
    println!("   -> {application}");

    let company = Company { id: 42 };
    println!("4. Calling /hello/user for company 42...");
    let authorizer = Narrated {
        inner: LoopbackAuthorizer::new().browser(browser),
        used: AtomicBool::new(false),
    };
    let user = client
        .runtime()
        .authorize_and_retry(&authorizer)
        .timeout(Duration::from_secs(300))
        .run(|| client.hello_user(&company))
        .await?
        .message;
    println!("   -> {user}");
    let authorized_now = authorizer.used.load(Ordering::SeqCst);
    if authorized_now {
        println!("5. Run me again: the session is stored, so the next run calls straight through.");
    } else {
        println!(
            "5. Company 42 had authorized in an earlier run: the stored session was used, no authorization was needed."
        );
    }
    Ok(Outcome {
        application,
        user,
        authorized_now,
    })
}

/// The loopback authorizer, saying what happens in plain words.
struct Narrated {
    inner: LoopbackAuthorizer,
    used: AtomicBool,
}

#[oauth2_api::async_trait]
impl Authorizer for Narrated {
    async fn authorize(
        &self,
        runtime: &Runtime,
        required: &AuthorizationRequired,
    ) -> Result<Authorized, Error> {
        self.used.store(true, Ordering::SeqCst);
        println!("   Authorization required: {}.", required.reason);
        println!(
            "   Sending the person to the provider's authorization page and waiting for the callback..."
        );
        let done = self.inner.authorize(runtime, required).await?;
        println!("   The callback arrived and the tokens are stored; retrying the call.");
        Ok(done)
    }
}
