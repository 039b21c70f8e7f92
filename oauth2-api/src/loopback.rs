//! The desktop and command-line authorizer: opens a browser on the authorization URL and
//! receives the callback on the loopback redirect URL (RFC 8252 §7.3).

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use tokio::sync::mpsc;

use crate::authorize::{Authorized, CallbackParams};
use crate::error::{AuthorizationRequired, Error};
use crate::flow::Authorizer;
use crate::runtime::Runtime;

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
/// `[::1]`), registered as such at the provider. The listener runs only while waiting.
#[derive(Clone, Debug, Default)]
pub struct LoopbackAuthorizer {
    browser: Browser,
}

impl LoopbackAuthorizer {
    /// An authorizer opening the system browser.
    pub fn new() -> Self {
        Self::default()
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
                let child = command.spawn().map_err(|e| {
                    Error::Config(format!("cannot run the browser `{program}`: {e}"))
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

struct Listener {
    runtime: Runtime,
    results: mpsc::Sender<Result<Authorized, Error>>,
}

#[async_trait]
impl Authorizer for LoopbackAuthorizer {
    async fn authorize(
        &self,
        runtime: &Runtime,
        required: &AuthorizationRequired,
    ) -> Result<Authorized, Error> {
        let env = runtime.environment_named(&required.session.environment)?;
        let redirect = env.redirect_url.clone().ok_or_else(|| {
            Error::Config(format!("no redirect URL for environment `{}`", env.name))
        })?;
        let addr = loopback_addr(&redirect)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {addr} for the callback: {e}")))?;
        let (results, mut received) = mpsc::channel(8);
        let state = Arc::new(Listener {
            runtime: runtime.clone(),
            results,
        });
        let app = Router::new()
            .route(redirect.path(), axum::routing::get(callback))
            .with_state(state);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        let browser = self.open(required.url.as_str()).await?;
        let outcome = loop {
            match received.recv().await {
                Some(Ok(done)) if done.state == required.state => break Ok(done),
                // Another pending authorization of this runtime completed: fine, keep waiting.
                Some(Ok(_)) => continue,
                // A refusal or failed exchange of *our* state ends the wait; a stray or
                // replayed callback does not.
                Some(Err(e @ (Error::AuthorizationDenied { .. } | Error::Token(_)))) => {
                    break Err(e);
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "a callback that completes nothing arrived; still waiting");
                    continue;
                }
                None => break Err(Error::Cancelled),
            }
        };
        let _ = stop.send(());
        let _ = server.await;
        if let Some(mut browser) = browser {
            let _ = browser.kill().await;
        }
        outcome
    }
}

async fn callback(State(listener): State<Arc<Listener>>, RawQuery(query): RawQuery) -> Response {
    let outcome = match CallbackParams::from_query(query.as_deref().unwrap_or("")) {
        Ok(params) => listener.runtime.complete_authorization(&params).await,
        Err(e) => Err(e.into()),
    };
    let page = match &outcome {
        Ok(_) => page(
            "Authorized",
            "You can close this window and go back to the application.",
        ),
        Err(e) => page("Authorization failed", &e.to_string()),
    };
    let status = if outcome.is_ok() { 200 } else { 400 };
    let _ = listener.results.send(outcome).await;
    (
        axum::http::StatusCode::from_u16(status).unwrap_or_default(),
        page,
    )
        .into_response()
}

/// A small HTML page; `message` is escaped.
pub(crate) fn page(title: &str, message: &str) -> Html<String> {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    Html(format!(
        "<!doctype html><meta charset=\"utf-8\"><title>{t}</title>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{m}</p></body>",
        t = escape(title),
        m = escape(message)
    ))
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
