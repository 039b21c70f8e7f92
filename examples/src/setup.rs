//! Runtimes for the examples: against a local sandbox emulating the provider (the
//! default, offline), or against the provider's real sandbox when credentials are in the
//! environment (`HMRC_CLIENT_ID`, `HMRC_CLIENT_SECRET`, `HMRC_REDIRECT_URL`;
//! `PISTE_CLIENT_ID`, `PISTE_CLIENT_SECRET`).

use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Credentials, Error, Provider, RuntimeBuilder};

/// A local sandbox with HMRC's quirks: client credentials in the body only, single-use
/// refresh tokens, 4-hour tokens, the versioned `Accept` header required.
pub async fn hmrc_sandbox() -> std::io::Result<Sandbox> {
    Sandbox::start(SandboxConfig {
        body_client_auth_only: true,
        require_hmrc_accept: true,
        rotate_refresh_tokens: true,
        access_ttl: Duration::from_secs(4 * 3600),
        ..SandboxConfig::default()
    })
    .await
}

/// A local sandbox with PISTE's quirks: `Bearer`, 3600 s tokens, no refresh token.
pub async fn piste_sandbox() -> std::io::Result<Sandbox> {
    Sandbox::start(SandboxConfig {
        token_type: "Bearer".to_owned(),
        access_ttl: Duration::from_secs(3600),
        ..SandboxConfig::default()
    })
    .await
}

/// Points `environment` of `builder` at `sandbox`, with the sandbox's client.
pub fn on_sandbox(
    builder: RuntimeBuilder,
    environment: &str,
    sandbox: &Sandbox,
    redirect_url: &str,
) -> RuntimeBuilder {
    builder
        .credentials_for(
            environment,
            Credentials::new("sandbox-client")
                .secret("sandbox-secret")
                .redirect_url(redirect_url),
        )
        .base_url(environment, sandbox.url())
        .auth_url(environment, sandbox.auth_url())
        .token_url(environment, sandbox.token_url())
}

/// Real credentials from `PREFIX_CLIENT_ID`, `PREFIX_CLIENT_SECRET`, `PREFIX_REDIRECT_URL`.
pub fn credentials_from_env(prefix: &str) -> Option<Credentials> {
    let id = std::env::var(format!("{prefix}_CLIENT_ID")).ok()?;
    let secret = std::env::var(format!("{prefix}_CLIENT_SECRET")).ok()?;
    let mut credentials = Credentials::new(id).secret(secret);
    if let Ok(redirect) = std::env::var(format!("{prefix}_REDIRECT_URL")) {
        credentials = credentials.redirect_url(redirect);
    }
    Some(credentials)
}

/// A builder with an in-memory store, for `provider`.
pub fn builder(provider: Provider) -> RuntimeBuilder {
    oauth2_api::Runtime::builder(provider).store(MemoryStore::new())
}

/// Prints an error with its causes and exits 1.
pub fn fail(e: Error) -> ! {
    eprintln!("error: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    std::process::exit(1)
}

/// A free loopback port for a redirect URL, or 8765 if none can be found.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(8765)
}
