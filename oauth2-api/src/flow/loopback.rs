//! The desktop and command-line authorizer: opens a browser on the authorization URL and
//! receives the callback on the loopback redirect URL (RFC 8252 §7.3).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use http::StatusCode;
use tokio::sync::mpsc;

use crate::error::{AuthorizationRequired, CallbackError, Error};
use crate::flow::Authorizer;
use crate::flow::page::{Page, error_page, page, respond as html};
use crate::oauth::authorize::Authorized;
use crate::oauth::callback::CallbackParams;
use crate::runtime::Runtime;

/// How long a connection to the listener may take to send its request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How the person's browser is reached.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Browser {
    /// The system's default browser (feature `desktop`), else the URL is printed.
    #[default]
    System,
    /// A program run with its arguments; `{url}` in an argument is replaced by the
    /// authorization URL (appended when no argument has it). E.g. a headless Chromium.
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// An HTTP client that follows the redirects, as a browser would: for providers that
    /// approve at once (the sandbox in auto-approve mode, demos, tests).
    Follow,
    /// Only print the URL on standard error, for the person to open.
    Print,
}

/// Authorizes through a browser and a listener on the loopback redirect URL.
///
/// The environment's redirect URL must be `http://127.0.0.1:PORT/path` (or `localhost`,
/// `[::1]`), registered as such at the provider. The listener runs only while waiting,
/// completes only the authorization it waits for (another state's callback, from an
/// older window, gets a page saying so and the wait goes on), and returns as soon as that
/// callback is answered, whatever other connections are open.
#[derive(Clone, Debug)]
pub struct LoopbackAuthorizer {
    browser: Browser,
    header_read_timeout: Duration,
}

impl Default for LoopbackAuthorizer {
    fn default() -> Self {
        Self {
            browser: Browser::default(),
            header_read_timeout: HEADER_READ_TIMEOUT,
        }
    }
}

impl LoopbackAuthorizer {
    /// An authorizer opening the system browser.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a connection to the listener may take to send its request line and
    /// headers (default 10 s); a slower one is closed, so no client can hold the
    /// listener with a request it never finishes.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Chooses how the browser is reached.
    pub fn browser(mut self, browser: Browser) -> Self {
        self.browser = browser;
        self
    }

    /// Sends the browser to `url`; a browser process it started is returned, to be
    /// ended once the callback has arrived.
    async fn open(&self, url: &str) -> Result<Option<tokio::process::Child>, Error> {
        match &self.browser {
            Browser::System => {
                #[cfg(feature = "desktop")]
                if webbrowser::open(url).is_ok() {
                    eprintln!("Opened the browser on the authorization page.");
                    return Ok(None);
                }
                eprintln!("Open this page in a browser to authorize:\n  {url}");
                Ok(None)
            }
            Browser::Print => {
                eprintln!("Open this page in a browser to authorize:\n  {url}");
                Ok(None)
            }
            Browser::Command { program, args } => {
                let mut args: Vec<String> = args.iter().map(|a| a.replace("{url}", url)).collect();
                if !args.iter().any(|a| a.contains(url)) {
                    args.push(url.to_owned());
                }
                let mut command = tokio::process::Command::new(program);
                command
                    .args(&args)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(true);
                let child = command.spawn().map_err(|source| Error::Io {
                    action: format!("cannot run the browser `{program}`"),
                    source,
                })?;
                Ok(Some(child))
            }
            Browser::Follow => {
                let url = url.to_owned();
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    if let Err(e) = client.get(&url).send().await {
                        tracing::warn!(error = %crate::http::describe_reqwest(&e), "following the authorization URL failed");
                    }
                });
                Ok(None)
            }
        }
    }
}

/// What the listener's connections share: the one state it completes.
struct Listener {
    runtime: Runtime,
    path: String,
    state: String,
    header_read_timeout: Duration,
    results: mpsc::Sender<Result<Authorized, Error>>,
}

#[async_trait]
impl Authorizer for LoopbackAuthorizer {
    async fn authorize(
        &self,
        runtime: &Runtime,
        required: &AuthorizationRequired,
    ) -> Result<Authorized, Error> {
        let redirect = runtime.redirect_url(&required.session.environment)?;
        let addr = loopback_addr(redirect)?;
        let tcp = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Io {
                action: format!("cannot listen on {addr} for the callback"),
                source,
            })?;
        let (results, mut received) = mpsc::channel(1);
        let listener = Arc::new(Listener {
            runtime: runtime.clone(),
            path: redirect.path().to_owned(),
            state: required.state.clone(),
            header_read_timeout: self.header_read_timeout,
            results,
        });
        // Dropped (the flow timed out, was cancelled, or is done), it stops listening
        // and ends every connection: nothing waits for a client that holds one open.
        let _server = AbortOnDrop(tokio::spawn(serve(tcp, listener)));
        let browser = self.open(required.url.as_str()).await?;
        let outcome = received.recv().await.unwrap_or(Err(Error::Cancelled));
        if let Some(mut browser) = browser {
            let _ = browser.kill().await;
        }
        outcome
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepts connections until aborted; aborting drops the set, which ends them all.
async fn serve(tcp: tokio::net::TcpListener, listener: Arc<Listener>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        match tcp.accept().await {
            Ok((stream, _)) => {
                while connections.try_join_next().is_some() {}
                connections.spawn(serve_connection(stream, listener.clone()));
            }
            Err(e) => tracing::debug!(error = %e, "the callback listener could not accept"),
        }
    }
}

type Outcome = Result<Authorized, Error>;

/// One request per connection, its headers within the timeout. The outcome for our
/// state is handed to the flow only once its page is written, so the flow can stop
/// the listener at once without cutting that answer.
async fn serve_connection(stream: tokio::net::TcpStream, listener: Arc<Listener>) {
    let ours: Arc<Mutex<Option<Outcome>>> = Arc::default();
    let service = {
        let (listener, ours) = (listener.clone(), ours.clone());
        hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let (listener, ours) = (listener.clone(), ours.clone());
            async move {
                let (response, outcome) = respond(&listener, request.uri()).await;
                if let Some(outcome) = outcome {
                    *ours.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let served = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(listener.header_read_timeout)
        .keep_alive(false)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "a connection to the callback listener failed");
    }
    let outcome = ours.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(outcome) = outcome {
        let _ = listener.results.send(outcome).await;
    }
}

/// The answer to one request, and the outcome that ends the wait, if it does: only a
/// callback for our own state is completed; another state's (an older window) gets a
/// page saying so, and the wait goes on.
async fn respond(listener: &Listener, uri: &http::Uri) -> (Page, Option<Outcome>) {
    if uri.path() != listener.path {
        return (html(StatusCode::NOT_FOUND, String::new()), None);
    }
    let params = match CallbackParams::from_query(uri.query().unwrap_or("")) {
        Ok(params) => params,
        Err(e) => return (error_page(&e.into()), None),
    };
    if params.state() != Some(listener.state.as_str()) {
        let page = page(
            "Not the window this program waits for",
            "This authorization is not the one the program is waiting for (an older \
             window, or another program's). Close this window and use the one opened last.",
        );
        return (html(StatusCode::BAD_REQUEST, page), None);
    }
    let outcome = listener.runtime.complete_authorization(&params).await;
    let response = match &outcome {
        Ok(_) => html(
            StatusCode::OK,
            page(
                "Authorized",
                "You can close this window and go back to the application.",
            ),
        ),
        Err(e) => error_page(e),
    };
    if ends_the_wait(&outcome) {
        (response, Some(outcome))
    } else {
        tracing::warn!(
            "a callback for the awaited state was refused without using it; still waiting"
        );
        (response, None)
    }
}

/// Whether our state is now used or gone: then no later callback can complete it.
fn ends_the_wait(outcome: &Outcome) -> bool {
    match outcome {
        Err(Error::Callback(e)) => matches!(
            e,
            CallbackError::StateExpired
                | CallbackError::StateAlreadyUsed
                | CallbackError::UnknownState
        ),
        _ => true,
    }
}

fn loopback_addr(redirect: &url::Url) -> Result<SocketAddr, Error> {
    let refuse = || {
        Error::Config(format!(
            "the loopback authorizer needs an http://127.0.0.1:PORT/... redirect URL, not {redirect}"
        ))
    };
    if redirect.scheme() != "http" {
        return Err(refuse());
    }
    let port = redirect.port_or_known_default().ok_or_else(refuse)?;
    let ip: std::net::IpAddr = match redirect.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => ip.into(),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => ip.into(),
        Some(url::Host::Domain("localhost")) => std::net::Ipv4Addr::LOCALHOST.into(),
        _ => return Err(refuse()),
    };
    Ok(SocketAddr::new(ip, port))
}
