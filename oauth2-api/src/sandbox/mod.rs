//! A local OAuth2 provider on loopback, for demos and tests (feature `sandbox`).
//!
//! It speaks the same protocol as HMRC's sandbox, in one process and with no network:
//! an authorization endpoint (auto-approve, or a minimal consent page), a token
//! endpoint (authorization code with PKCE S256, refresh with rotation and reuse
//! detection, client credentials; client authentication by HTTP Basic or form body),
//! revocation (RFC 7009), and HMRC-shaped API routes (`/hello/*`, VAT obligations and
//! returns) with HMRC's error bodies, and a list paginated four ways (`/pages/*`). Token
//! lifetime is configurable and faults can be injected into the next token request or
//! API call.
//!
//! It is a test double of a provider, not a provider: everything lives in memory.

// Handlers return early with a ready `Response` as their error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use oauth2_api::sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! println!("token endpoint: {}", sandbox.token_url());
//! # Ok(()) }
//! ```

mod api;
mod kit;
mod oauth;
mod pages;
mod piste;

pub use kit::SandboxGrant;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;

/// A registered client of the sandbox.
#[derive(Clone, Debug)]
pub struct SandboxClient {
    /// The client id.
    pub id: String,
    /// The secret; `None` for a public client.
    pub secret: Option<String>,
    /// Redirect URIs accepted, exactly; empty accepts any loopback URI.
    pub redirect_uris: Vec<String>,
    /// The grant types it may use (`authorization_code`, `client_credentials`, ...);
    /// others are answered `unauthorized_client`, as a server allowing one grant type
    /// per client does. Empty allows every one.
    pub grant_types: Vec<String>,
}

/// How the sandbox behaves.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The clients it knows (default: `sandbox-client` / `sandbox-secret`, any loopback redirect).
    pub clients: Vec<SandboxClient>,
    /// Access token lifetime (default 4 hours, as HMRC).
    pub access_ttl: Duration,
    /// Authorization code lifetime (default 10 minutes).
    pub code_ttl: Duration,
    /// Approve every authorization at once as `default_user`, without a page.
    pub auto_approve: bool,
    /// The person who approves in auto-approve mode (default `sandbox-user`).
    pub default_user: String,
    /// Issue a new refresh token on each refresh; a reused one revokes the grant.
    pub rotate_refresh_tokens: bool,
    /// Whether the token answer omits `refresh_token` on refresh (some providers do).
    pub omit_refresh_token_on_refresh: bool,
    /// Scopes a client may ask for; others are refused with `invalid_scope`.
    pub scopes: Vec<String>,
    /// Scopes accepted in a request but never granted, as a provider that drops or
    /// renames scopes: the token answer's `scope` lists the others only (default none).
    pub withheld_scopes: Vec<String>,
    /// Scopes granted as broader ones, each `(asked, granted)`: asked for `read:user`,
    /// GitHub grants `user`. API routes needing `asked` accept a grant of `granted`.
    pub broader_scopes: Vec<(String, String)>,
    /// How the token answer's `scope` joins the granted scopes (default a space;
    /// GitHub writes `","`).
    pub scope_answer_separator: String,
    /// Where the authorization endpoint is served (default `/oauth/authorize`): the
    /// path a declaration's `auth_url` has, for [`RuntimeBuilder::all_urls_at`](crate::RuntimeBuilder::all_urls_at).
    pub auth_path: String,
    /// Where the token endpoint is served (default `/oauth/token`).
    pub token_path: String,
    /// Port to listen on (default 0: any free port).
    pub port: u16,
    /// The `token_type` of token answers (`bearer`; PISTE says `Bearer`).
    pub token_type: String,
    /// Accept client credentials in the form body only, as HMRC does (default: Basic too).
    pub body_client_auth_only: bool,
    /// Refuse API calls without `Accept: application/vnd.hmrc.1.0+json` (406), as HMRC does.
    pub require_hmrc_accept: bool,
    /// A file where issued tokens are kept, so a restarted sandbox still honours them
    /// (the quickstart's second run). `None` keeps everything in memory.
    pub state_file: Option<std::path::PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            clients: vec![SandboxClient {
                id: "sandbox-client".to_owned(),
                secret: Some("sandbox-secret".to_owned()),
                redirect_uris: Vec::new(),
                grant_types: Vec::new(),
            }],
            access_ttl: Duration::from_secs(4 * 3600),
            code_ttl: Duration::from_secs(600),
            auto_approve: true,
            default_user: "sandbox-user".to_owned(),
            rotate_refresh_tokens: true,
            omit_refresh_token_on_refresh: false,
            scopes: ["hello", "read:vat", "write:vat", "openid"]
                .map(str::to_owned)
                .to_vec(),
            withheld_scopes: Vec::new(),
            broader_scopes: Vec::new(),
            scope_answer_separator: " ".to_owned(),
            auth_path: "/oauth/authorize".to_owned(),
            token_path: "/oauth/token".to_owned(),
            port: 0,
            token_type: "bearer".to_owned(),
            body_client_auth_only: false,
            require_hmrc_accept: false,
            state_file: None,
        }
    }
}

/// A fault to inject into the next token request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TokenFault {
    /// Answer this HTTP status with an HTML body (a gateway error page).
    Status(u16),
    /// Answer this status with `Retry-After`.
    StatusRetryAfter(u16, u64),
    /// Wait this long before answering normally.
    Delay(Duration),
    /// Answer 400 `invalid_grant`.
    InvalidGrant,
    /// Answer 401 `invalid_client`.
    InvalidClient,
    /// HMRC's answer to two refreshes at once: 400 `invalid_request`.
    RefreshInProgress,
    /// Answer 200 with this body, as `application/json`.
    Body(String),
    /// Answer exactly this: status, content type, body.
    Raw(u16, &'static str, String),
    /// Answer this status with an HTML page that echoes the request's form and its
    /// `Authorization` header, as careless error pages do.
    Echo(u16),
    /// Answer normally (rotating the refresh token), but with a CR LF inside the access
    /// token, as a broken proxy or provider might.
    BreakAccessToken,
    /// Wait until `gate` is notified, then answer with the fault given (or normally):
    /// lets a test act while a token request is in flight.
    Held(Arc<tokio::sync::Notify>, Option<Box<TokenFault>>),
}

/// A fault to inject into the next API call.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ApiFault {
    /// Answer this status with this JSON body.
    Status(u16, String),
    /// Answer 429 `MESSAGE_THROTTLED_OUT` with `Retry-After`.
    Throttled(u64),
    /// Wait this long before answering normally.
    Delay(Duration),
    /// Answer this status (401 or 403) with this `WWW-Authenticate` challenge.
    Challenge(u16, String),
}

/// How many requests of each kind the sandbox has answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxCounts {
    /// Authorization requests (the browser's GET).
    pub authorize: u64,
    /// `grant_type=authorization_code`.
    pub authorization_code: u64,
    /// `grant_type=refresh_token`.
    pub refresh_token: u64,
    /// `grant_type=client_credentials`.
    pub client_credentials: u64,
    /// Revocations.
    pub revocation: u64,
    /// API calls (any route).
    pub api: u64,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Grant {
    pub(crate) client_id: String,
    /// The person; `None` for client credentials.
    pub(crate) user: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) family: u64,
}

#[derive(Debug)]
pub(crate) struct Code {
    pub(crate) grant: Grant,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: Option<String>,
    pub(crate) expires_at: SystemTime,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) codes: HashMap<String, Code>,
    pub(crate) access: HashMap<String, (Grant, SystemTime)>,
    pub(crate) refresh: HashMap<String, (Grant, bool)>,
    pub(crate) revoked_families: HashSet<u64>,
    pub(crate) next_family: u64,
    pub(crate) token_faults: VecDeque<TokenFault>,
    pub(crate) api_faults: VecDeque<ApiFault>,
    pub(crate) counts: SandboxCounts,
    /// Submitted VAT returns by (VRN, period key).
    pub(crate) returns: HashMap<(String, String), serde_json::Value>,
}

pub(crate) struct Shared {
    pub(crate) config: SandboxConfig,
    pub(crate) state: Mutex<State>,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the tokens to the state file, if there is one. Best effort: a demo
    /// sandbox that cannot save only forgets its tokens on restart.
    pub(crate) fn persist(&self) {
        let Some(path) = &self.config.state_file else {
            return;
        };
        let saved = {
            let state = self.state();
            Saved {
                access: state.access.clone(),
                refresh: state.refresh.clone(),
                revoked_families: state.revoked_families.clone(),
                next_family: state.next_family,
            }
        };
        let write = serde_json::to_vec(&saved)
            .map_err(std::io::Error::other)
            .and_then(|json| {
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, json)?;
                std::fs::rename(tmp, path)
            });
        if let Err(e) = write {
            tracing::warn!(path = %path.display(), error = %e, "the sandbox could not save its tokens");
        }
    }
}

/// What the state file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    access: HashMap<String, (Grant, SystemTime)>,
    refresh: HashMap<String, (Grant, bool)>,
    revoked_families: HashSet<u64>,
    next_family: u64,
}

fn load_state(path: Option<&std::path::Path>) -> State {
    let saved = path
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|json| serde_json::from_slice::<Saved>(&json).ok());
    match saved {
        Some(saved) => State {
            access: saved.access,
            refresh: saved.refresh,
            revoked_families: saved.revoked_families,
            next_family: saved.next_family,
            ..State::default()
        },
        None => State::default(),
    }
}

/// A running sandbox provider; stops when dropped.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox on 127.0.0.1, with its HMRC- and PISTE-shaped API routes.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Self> {
        Self::launch(config, |shared| {
            api::routes()
                .merge(piste::routes())
                .merge(pages::routes())
                .with_state(shared)
        })
        .await
    }

    /// Starts a sandbox whose API is `routes`, an application's own stand-in for the
    /// provider's API: the sandbox's authorization server (authorize, token, revoke)
    /// beside them, and its token check in front of them. A request without a valid
    /// bearer token of this sandbox is answered 401 before the route runs; a route
    /// reads the grant with `axum::Extension<SandboxGrant>`. Injected API faults
    /// ([`Sandbox::fail_next_api_call`]) and [`SandboxCounts::api`] apply to them too.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use axum::{Extension, Json, Router, routing::get};
    /// use oauth2_api::sandbox::{Sandbox, SandboxConfig, SandboxGrant};
    ///
    /// let routes = Router::new().route("/user", get(|Extension(grant): Extension<SandboxGrant>| async move {
    ///     grant.require("read:user")?;
    ///     Ok::<_, axum::response::Response>(Json(serde_json::json!({ "login": grant.user })))
    /// }));
    /// let sandbox = Sandbox::serve(SandboxConfig::default(), routes).await?;
    /// # Ok(()) }
    /// ```
    pub async fn serve(config: SandboxConfig, routes: axum::Router) -> std::io::Result<Self> {
        Self::launch(config, |shared| kit::protect(routes, shared)).await
    }

    async fn launch(
        config: SandboxConfig,
        api: impl FnOnce(Arc<Shared>) -> axum::Router,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let state = load_state(config.state_file.as_deref());
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(state),
        });
        let app = oauth::routes(&shared.config)
            .with_state(shared.clone())
            .merge(api(shared.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// The sandbox's base URL, also the API base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The authorization endpoint.
    pub fn auth_url(&self) -> String {
        format!("{}{}", self.url(), self.shared.config.auth_path)
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}{}", self.url(), self.shared.config.token_path)
    }

    /// The revocation endpoint.
    pub fn revoke_url(&self) -> String {
        format!("{}/oauth/revoke", self.url())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered so far.
    pub fn counts(&self) -> SandboxCounts {
        self.shared.state().counts
    }

    /// Injects `fault` into the next token request (faults queue up in order).
    pub fn fail_next_token_request(&self, fault: TokenFault) {
        self.shared.state().token_faults.push_back(fault);
    }

    /// Injects `fault` into the next API call.
    pub fn fail_next_api_call(&self, fault: ApiFault) {
        self.shared.state().api_faults.push_back(fault);
    }

    /// Revokes every token of every grant, as if each person withdrew consent.
    pub fn revoke_all(&self) {
        let mut state = self.shared.state();
        let families: Vec<u64> = state.refresh.values().map(|(g, _)| g.family).collect();
        state.revoked_families.extend(families);
        let families: Vec<u64> = state.access.values().map(|(g, _)| g.family).collect();
        state.revoked_families.extend(families);
    }

    /// Makes every access token expire now (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        let now = SystemTime::now();
        for (_, expires) in self.shared.state().access.values_mut() {
            *expires = now;
        }
    }

    /// Plays the person in the browser: requests `authorization_url` and returns the
    /// callback URL the sandbox redirects to (with `code` and `state`), without
    /// requesting it. Needs auto-approve.
    pub async fn approve(&self, authorization_url: &str) -> Result<String, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let response = client
            .get(authorization_url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "the sandbox answered {} without a redirect",
                    response.status()
                )
            })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub(crate) fn random_token() -> String {
    oauth2::CsrfToken::new_random_len(24).secret().to_owned()
}
