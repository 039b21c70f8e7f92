//! Test support shared by the integration tests: runtimes wired to the in-process
//! sandbox, and the `oidc-provider` peer (a real, independently written OAuth2 server).

pub mod backends;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SessionStore};
use oauth2_api::{ApiUser, Credentials, Environment, Provider, Runtime, RuntimeBuilder, UserRef};

pub mod web_client;

/// A company, the typical API user of the tests.
#[derive(Clone, Debug)]
pub struct Company(pub u32);

impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", self.0)
    }
}

/// The redirect URL registered at both the sandbox (any loopback) and the peer.
pub const REDIRECT_URL: &str = "http://127.0.0.1:8765/oauth2/callback";

/// A provider with one `sandbox` environment pointing at `sandbox`.
pub fn sandbox_provider(sandbox: &Sandbox) -> Provider {
    Provider::new("HMRC").environment(
        Environment::new(
            "sandbox",
            sandbox.url(),
            sandbox.auth_url(),
            sandbox.token_url(),
        )
        .revoke_url(sandbox.revoke_url()),
    )
}

/// The sandboxes' default client, registered with `redirect`.
pub fn sandbox_client(redirect: impl Into<String>) -> Credentials {
    Credentials::new("sandbox-client")
        .secret("sandbox-secret")
        .redirect_url(redirect)
}

/// A runtime builder for `provider` (on sandboxes) with their default client.
pub fn builder_for(provider: Provider) -> RuntimeBuilder {
    Runtime::builder(provider).credentials(sandbox_client(REDIRECT_URL))
}

/// A runtime builder for `sandbox` with its default client.
pub fn sandbox_builder(sandbox: &Sandbox) -> RuntimeBuilder {
    builder_for(sandbox_provider(sandbox))
}

/// A sandbox and a runtime on a memory store.
pub async fn sandbox_runtime(config: SandboxConfig) -> (Sandbox, Runtime) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .build()
        .expect("runtime builds");
    (sandbox, runtime)
}

/// Authorizes `user` for `scopes` through the sandbox's auto-approve, end to end.
pub async fn authorize(sandbox: &Sandbox, runtime: &Runtime, user: &impl ApiUser, scopes: &[&str]) {
    let (_, callback) = approved_callback(sandbox, runtime, user, scopes).await;
    let params = oauth2_api::CallbackParams::from_url(&callback).expect("callback parses");
    runtime
        .complete_authorization(&params)
        .await
        .expect("complete");
}

/// Whether missing services fail tests (CI) rather than skip them.
pub fn services_required() -> bool {
    std::env::var("OAUTH2_API_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Skips (returns `None`) or fails, per [`services_required`], when a service is missing.
pub fn skip_or_fail(what: &str, why: &str) -> Option<std::convert::Infallible> {
    if services_required() {
        panic!("{what} is required (OAUTH2_API_REQUIRE_SERVICES=1) but unavailable: {why}");
    }
    eprintln!(
        "SKIPPED: {what} unavailable ({why}); set OAUTH2_API_REQUIRE_SERVICES=1 to fail instead"
    );
    None
}

/// The `shared/peers` folder beside the project.
pub fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers")
}

/// A running `oidc-provider` peer, stopped when dropped.
pub struct Peer {
    child: Child,
    /// The authorization server, e.g. `http://127.0.0.1:4010`.
    pub issuer: String,
    /// The HMRC-shaped resource server.
    pub resource: String,
}

impl Peer {
    /// Starts a peer on free ports with extra environment (e.g. `ACCESS_TTL`), or
    /// `None` when the peer cannot run here and services are not required.
    pub fn start(env: &[(&str, &str)]) -> Option<Peer> {
        let script = peers_dir().join("oidc-provider/start.sh");
        if !script.exists() {
            skip_or_fail(
                "the oidc-provider peer",
                &format!("{} is missing", script.display()),
            )?;
        }
        // One start at a time: the first one may run `npm ci`, which must not race itself.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        // A port taken between choosing it and node binding it is retried on others.
        let mut why = String::new();
        for _ in 0..3 {
            match Self::try_start(&script, env) {
                Ok(peer) => return Some(peer),
                Err(e) => why = e,
            }
        }
        skip_or_fail("the oidc-provider peer", &why)?;
        None
    }

    fn try_start(script: &std::path::Path, env: &[(&str, &str)]) -> Result<Peer, String> {
        let (port, rs_port) = (peer_port(), peer_port());
        let mut command = Command::new("bash");
        command
            .arg(script)
            .env("PORT", port.to_string())
            .env("RS_PORT", rs_port.to_string())
            .env("LOG", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().map_err(|e| e.to_string())?;
        let mut peer = Peer {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            resource: format!("http://127.0.0.1:{rs_port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if answers(port, "/.well-known/openid-configuration")
                && answers(rs_port, "/hello/world")
            {
                return Ok(peer);
            }
            if let Ok(Some(status)) = peer.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = peer.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("exited with {status}: {err}"));
            }
            if Instant::now() > deadline {
                return Err(format!("ports {port} and {rs_port} did not answer in 60 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A provider description of the peer (`demo-client` registered for [`REDIRECT_URL`]).
    pub fn provider(&self) -> Provider {
        Provider::new("peer").environment(
            Environment::new(
                "local",
                &self.resource,
                format!("{}/auth", self.issuer),
                format!("{}/token", self.issuer),
            )
            .revoke_url(format!("{}/token/revocation", self.issuer))
            .issuer(&self.issuer),
        )
    }

    /// Plays the person: logs in and consents (or refuses) with the peer's headless
    /// driver and returns the callback URL it was redirected to.
    pub fn authorize(&self, url: &str, deny: bool) -> String {
        let mut command = Command::new("node");
        command.arg(peers_dir().join("authorize.mjs")).arg(url);
        if deny {
            command.arg("--deny");
        }
        let out = command.output().expect("node runs the authorize driver");
        assert!(
            out.status.success(),
            "authorize driver failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // start.sh execs node in the foreground, so the child is the server itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET path` on loopback `port` answers 200 (a minimal HTTP/1.0 request).
fn answers(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

/// A free port below the ephemeral range, so that no outgoing connection or port-0
/// listener of another test takes it before the peer binds it.
fn peer_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(rand_u64());
        let port = 20_000 + (h.finish() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A port free at the time of asking, for a listener bound a little later (a loopback
/// redirect URL): chosen below the ephemeral range, as for the peer.
pub fn free_port() -> u16 {
    peer_port()
}

/// A runtime for the peer with client `demo-client` and the default redirect URL.
pub fn peer_runtime(peer: &Peer, store: impl SessionStore) -> Runtime {
    peer_runtime_at(peer, store, REDIRECT_URL)
}

/// A runtime for the peer with client `demo-client` and the redirect URL `redirect`
/// (registered by starting the peer with `EXTRA_REDIRECT_URIS`).
pub fn peer_runtime_at(peer: &Peer, store: impl SessionStore, redirect: &str) -> Runtime {
    Runtime::builder(peer.provider())
        .credentials(
            Credentials::new("demo-client")
                .secret("demo-secret")
                .redirect_url(redirect),
        )
        .store(store)
        .build()
        .expect("runtime builds")
}

/// A PostgreSQL schema of its own for one test, or `None` (skipping) without a server.
pub struct PgSchema {
    /// The database URL.
    pub url: String,
    /// The schema's name.
    pub schema: String,
}

impl PgSchema {
    /// A fresh schema in `$DATABASE_URL`'s database.
    pub async fn new() -> Option<PgSchema> {
        let Ok(url) = std::env::var("DATABASE_URL") else {
            skip_or_fail("PostgreSQL", "DATABASE_URL is not set")?;
            unreachable!()
        };
        if let Err(e) = sqlx::PgPool::connect(&url).await {
            skip_or_fail("PostgreSQL", &e.to_string())?;
        }
        let schema = format!("oauth2_api_test_{:016x}", rand_u64());
        Some(PgSchema { url, schema })
    }

    /// A store on this schema (each call opens its own pool, like another instance).
    pub async fn store(&self) -> oauth2_api::store::PostgresStore {
        oauth2_api::store::PostgresStore::connect_in_schema(&self.url, Some(&self.schema))
            .await
            .expect("the PostgreSQL store opens")
    }

    /// A plain pool on this schema, to read the raw tables.
    pub async fn raw(&self) -> sqlx::PgPool {
        let schema = self.schema.clone();
        sqlx::postgres::PgPoolOptions::new()
            .after_connect(move |conn, _| {
                let set = format!("SET search_path TO {schema}");
                Box::pin(async move {
                    sqlx::Executor::execute(conn, sqlx::AssertSqlSafe(set)).await?;
                    Ok(())
                })
            })
            .connect(&self.url)
            .await
            .unwrap()
    }

    /// Drops the schema (call at the end of a test).
    pub async fn drop(self) {
        if let Ok(pool) = sqlx::PgPool::connect(&self.url).await {
            let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
            let _ = sqlx::Executor::execute(&pool, sqlx::AssertSqlSafe(sql)).await;
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Calls the sandbox's `/hello/user` for `user` through the escape hatch: its status.
pub async fn hello_status(
    runtime: &Runtime,
    user: &impl ApiUser,
) -> Result<u16, oauth2_api::Error> {
    let answer = runtime
        .request(user, oauth2_api::Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await?;
    Ok(answer.status)
}

/// Begins an authorization of `user` for `scopes` and lets the sandbox approve it: the
/// request and the callback, not completed yet.
pub async fn approved_callback(
    sandbox: &Sandbox,
    runtime: &Runtime,
    user: &impl ApiUser,
    scopes: &[&str],
) -> (oauth2_api::AuthorizationRequest, String) {
    let request = runtime
        .begin_authorization(user, scopes, None)
        .await
        .expect("begin");
    let callback = sandbox
        .approve(request.url.as_str())
        .await
        .expect("approve");
    (request, callback)
}

/// The tokens `user`'s session holds (panics if none).
pub async fn stored_tokens(runtime: &Runtime, user: &impl ApiUser) -> oauth2_api::TokenSet {
    runtime
        .session(user)
        .await
        .expect("the store answers")
        .expect("a session")
        .state
        .tokens
        .expect("tokens")
}

/// Makes the stored access token of `user` look expired to the client (the provider
/// still honours it), so the next call refreshes.
pub async fn expire_stored_token(runtime: &Runtime, user: &impl ApiUser) {
    let mut tokens = stored_tokens(runtime, user).await;
    tokens.expires_at = Some(std::time::SystemTime::now() - Duration::from_secs(1));
    write_tokens(runtime, user, tokens).await;
}

/// Writes `tokens` into `user`'s session as another holder would: conditionally, on the
/// version it has just read.
pub async fn write_tokens(
    runtime: &Runtime,
    user: &impl ApiUser,
    tokens: oauth2_api::TokenSet,
) -> oauth2_api::store::CasOutcome {
    let store = runtime.store();
    let key = runtime.session_key(user).await.expect("a session key");
    let session = store
        .load(&key)
        .await
        .expect("the store answers")
        .expect("a session");
    let state = oauth2_api::SessionState {
        tokens: Some(tokens),
        last_error: None,
    };
    store
        .compare_and_swap(&key, session.version, &state)
        .await
        .expect("the store answers")
}

/// How long a test waits for what it expects to end: far more than it takes, only so
/// that a regression fails instead of hanging.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// A runtime for `sandbox` on `store`, as another instance on the same data would be.
pub fn sandbox_runtime_on(sandbox: &Sandbox, store: std::sync::Arc<dyn SessionStore>) -> Runtime {
    sandbox_builder(sandbox)
        .shared_store(store)
        .build()
        .expect("runtime builds")
}

/// Waits until the sandbox has received `n` refresh requests.
pub async fn refreshes_reach(sandbox: &Sandbox, n: u64) {
    while sandbox.counts().refresh_token < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Starts a call whose refresh the sandbox holds until the gate is notified (then
/// answers with `then`, or normally); returns once the refresh request has arrived.
pub async fn held_refresh(
    sandbox: &Sandbox,
    runtime: &Runtime,
    user: &Company,
    then: Option<Box<oauth2_api::sandbox::TokenFault>>,
) -> (
    std::sync::Arc<tokio::sync::Notify>,
    tokio::task::JoinHandle<Result<u16, oauth2_api::Error>>,
) {
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    let before = sandbox.counts().refresh_token;
    let fault = oauth2_api::sandbox::TokenFault::Held(gate.clone(), then);
    sandbox.fail_next_token_request(fault);
    let call = tokio::spawn({
        let (runtime, user) = (runtime.clone(), user.clone());
        async move { hello_status(&runtime, &user).await }
    });
    refreshes_reach(sandbox, before + 1).await;
    (gate, call)
}

/// The Chromium on PATH, if any.
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A stand-in for evil.example: counts the requests it gets.
pub async fn evil_site() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = axum::Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { "EVIL SITE" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (port, hits)
}

/// Headless `chromium` opens `url` (evil.example resolving to `evil_port`) and prints
/// the DOM of the page it ends on.
pub async fn final_page(chromium: &str, url: &str, evil_port: u16) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!(
            "--host-resolver-rules=MAP evil.example 127.0.0.1:{evil_port}"
        ))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("Chromium finishes")
        .expect("Chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
