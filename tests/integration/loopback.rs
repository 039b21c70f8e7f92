//! The loopback listener as an attacker or a confused person would try it: a client that
//! holds a connection open, a callback for another (older) window.

use std::time::Duration;

use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{
    AuthorizationRequired, Authorized, Authorizer, Browser, Error, LoopbackAuthorizer, Method,
    Runtime,
};
use oauth2_api_tests::{Company, free_port, sandbox_provider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for a flow it expects to return: far more than it takes, only
/// so that a regression fails instead of hanging.
const HANG_GUARD: Duration = Duration::from_secs(30);

struct Setup {
    sandbox: Sandbox,
    runtime: Runtime,
    redirect: String,
    required: AuthorizationRequired,
}

async fn setup(company: &Company) -> Setup {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let redirect = format!("http://127.0.0.1:{}/oauth2/callback", free_port());
    let runtime = Runtime::builder(sandbox_provider(&sandbox))
        .credentials(oauth2_api_tests::sandbox_client(&redirect))
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let call = runtime
        .request(company, Method::Get, "/hello/user")
        .scopes(&["hello"])
        .send()
        .await;
    let Err(Error::AuthorizationRequired(required)) = call else {
        panic!("authorization is required first: {call:?}");
    };
    Setup {
        sandbox,
        runtime,
        redirect,
        required: *required,
    }
}

/// Runs the authorizer's wait in the background, the person's browser left to the test.
fn wait_in_background(
    s: &Setup,
    authorizer: LoopbackAuthorizer,
) -> tokio::task::JoinHandle<Result<Authorized, Error>> {
    let (runtime, required) = (s.runtime.clone(), s.required.clone());
    tokio::spawn(async move {
        authorizer
            .browser(Browser::Print)
            .authorize(&runtime, &required)
            .await
    })
}

/// A connection to the listener, once it listens.
async fn connect(redirect: &str) -> TcpStream {
    let addr = url::Url::parse(redirect).unwrap();
    let addr = (addr.host_str().unwrap().to_owned(), addr.port().unwrap());
    for _ in 0..1000 {
        if let Ok(stream) = TcpStream::connect(addr.clone()).await {
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the listener never listened");
}

/// The person's browser: the provider approves and sends it to the listener.
async fn approve(s: &Setup) -> reqwest::Response {
    let callback = s.sandbox.approve(s.required.url.as_str()).await.unwrap();
    reqwest::get(&callback).await.unwrap()
}

#[tokio::test]
async fn a_client_holding_a_connection_open_does_not_hold_the_flow() {
    let s = setup(&Company(31)).await;
    let flow = wait_in_background(&s, LoopbackAuthorizer::new());
    // A client sends the first byte of a request and never the rest.
    let mut holder = connect(&s.redirect).await;
    holder.write_all(b"G").await.unwrap();
    let answer = approve(&s).await;
    assert_eq!(answer.status(), 200, "the real callback is answered");
    assert!(answer.text().await.unwrap().contains("Authorized"));
    let done = tokio::time::timeout(HANG_GUARD, flow)
        .await
        .expect("the flow returns while another connection is held open")
        .unwrap()
        .expect("the authorization completed");
    assert_eq!(done.state, s.required.state);
    assert_eq!(s.sandbox.counts().authorization_code, 1);
    drop(holder);
}

#[tokio::test]
async fn the_listener_closes_a_connection_that_never_sends_its_headers() {
    let s = setup(&Company(32)).await;
    let authorizer = LoopbackAuthorizer::new().header_read_timeout(Duration::from_millis(100));
    let flow = wait_in_background(&s, authorizer);
    let mut holder = connect(&s.redirect).await;
    holder.write_all(b"G").await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(HANG_GUARD, holder.read_to_end(&mut rest))
        .await
        .expect("the listener closes the connection")
        .ok();
    assert!(
        !String::from_utf8_lossy(&rest).contains("200 OK"),
        "nothing was served to it"
    );
    assert_eq!(approve(&s).await.status(), 200, "the listener still serves");
    tokio::time::timeout(HANG_GUARD, flow)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_denial_for_an_older_window_does_not_end_the_wait() {
    let company = Company(33);
    let s = setup(&company).await;
    // An older window: another pending authorization of the same user.
    let older = s
        .runtime
        .begin_authorization(&company, &["read:vat"], None)
        .await
        .unwrap();
    assert_ne!(older.state, s.required.state);
    let flow = wait_in_background(&s, LoopbackAuthorizer::new());
    drop(connect(&s.redirect).await);
    let denial = format!(
        "{}?error=access_denied&error_description=no&state={}",
        s.redirect, older.state
    );
    let answer = reqwest::get(&denial).await.unwrap();
    assert_eq!(answer.status(), 400);
    let page = answer.text().await.unwrap();
    assert!(
        page.contains("not the one the program is waiting for"),
        "{page}"
    );
    assert!(!flow.is_finished(), "still waiting for its own window");
    assert_eq!(approve(&s).await.status(), 200);
    let done = tokio::time::timeout(HANG_GUARD, flow)
        .await
        .unwrap()
        .unwrap()
        .expect("its own callback completes it");
    assert_eq!(done.state, s.required.state);
    let pending = s.runtime.pending_authorizations(&company).await.unwrap();
    assert!(
        pending.iter().any(|p| p.state == older.state),
        "the older window's state was left alone"
    );
}
