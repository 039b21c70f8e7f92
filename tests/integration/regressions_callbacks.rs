//! Regressions of the callback side found in review: encoded look-alike return targets
//! (at the API and in a real browser), control bytes and inexact issuers at the
//! callback, pending authorizations begun every way, the authorization swap's variants,
//! the loopback listener under hostile connections, and no redirect loop on an API that
//! keeps answering `insufficient_scope`.

use std::sync::atomic::Ordering;

use oauth2_api::sandbox::{ApiFault, Sandbox, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{
    AuthorizationRequired, Authorized, Authorizer, Browser, CallbackError, CallbackParams,
    Environment, Error, LoopbackAuthorizer, Method, Provider,
};
use oauth2_api_tests::backends::Backend;
use oauth2_api_tests::web_client::{WebClient, location};
use oauth2_api_tests::{
    Company, HANG_GUARD, builder_for, chromium, evil_site, final_page, free_port, hello_status,
    sandbox_builder, sandbox_client, sandbox_runtime, sandbox_runtime_on, skip_or_fail,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Look-alikes of `/` and `\` (non-ASCII, overlong, encoded twice) in return targets.
const LOOK_ALIKES: &[&str] = &[
    "/%EF%BC%8Fevil.example",          // U+FF0F fullwidth solidus
    "/%EF%BC%8F%EF%BC%8Fevil.example", // two of them
    "/%E2%88%95evil.example",          // U+2215 division slash
    "/%E2%88%95%E2%88%95evil.example", // two of them
    "/%EF%BC%BCevil.example",          // U+FF3C fullwidth reverse solidus
    "/%EF%BC%BC%EF%BC%BCevil.example", // two of them
    "/%C0%AF%C0%AFevil.example",       // overlong UTF-8 `/`
    "/%25EF%25BC%258Fevil.example",    // the first, encoded twice
];

/// Shapes the README lists as refused, beside the look-alikes.
const LISTED: &[&str] = &[
    "/%5C/evil.example",
    "/%2F%2Fevil.example",
    "/%09/evil.example",
    "/\t/evil.example",
    "\\\\evil.example",
];

#[tokio::test]
async fn encoded_look_alike_return_targets_are_refused() {
    let (_sandbox, runtime) = sandbox_runtime(SandboxConfig::default()).await;
    let company = Company(41);
    let mut accepted = Vec::new();
    for target in LOOK_ALIKES.iter().chain(LISTED) {
        let begun = runtime
            .begin_authorization(&company, &["hello"], Some(target))
            .await;
        if begun.is_ok() {
            accepted.push(target);
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
}

/// An application whose `/go?next=` begins a browser-bound authorization for company 90
/// with `next` as its return target, and whose other pages say `APP PAGE`: its base URL.
async fn browser_bound_app(sandbox: &Sandbox) -> String {
    use axum::extract::{Query, State};
    use axum::response::IntoResponse;
    type Next = Query<std::collections::HashMap<String, String>>;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let runtime = sandbox_builder(sandbox)
        .credentials(sandbox_client(format!("{base}/oauth2/callback")))
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let go = |State(runtime): State<oauth2_api::Runtime>, Query(q): Next| async move {
        let next = q.get("next").map(String::as_str);
        match runtime
            .begin_authorization_for_browser(&Company(90), &["hello"], next)
            .await
        {
            Ok(bound) => bound.into_response(),
            Err(e) => format!("refused here: {e}").into_response(),
        }
    };
    let app = axum::Router::new()
        .route("/go", axum::routing::get(go))
        .with_state(runtime.clone())
        .fallback(|uri: axum::http::Uri| async move { format!("APP PAGE {uri}") })
        .merge(oauth2_api::web::callback_router(runtime));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The full flow in headless Chromium (browser-bound begin, the sandbox's auto-approve,
/// the callback's redirect) never reaches evil.example through a look-alike target.
#[tokio::test]
async fn a_real_browser_never_reaches_a_look_alike_return_target() {
    let Some(chromium) = chromium() else {
        skip_or_fail("Chromium", "no `chromium` on PATH");
        return;
    };
    let (evil_port, evil_hits) = evil_site().await;
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let base = browser_bound_app(&sandbox).await;
    let dotted = ["/%2e%2e%2F%2Fevil.example", "/.//evil.example"];
    for target in LOOK_ALIKES.iter().chain(&dotted) {
        let next: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let dom = final_page(chromium, &format!("{base}/go?next={next}"), evil_port).await;
        assert_eq!(
            evil_hits.load(Ordering::SeqCst),
            0,
            "{target} led to evil.example"
        );
        assert!(
            dom.contains("refused here") || dom.contains("APP PAGE"),
            "{target}: ends on {dom}"
        );
    }
}

#[test]
fn control_bytes_in_a_callback_are_malformed() {
    for q in [
        "state=a%0Db&code=x",
        "state=ab&code=x%0Ay",
        "state=ab&code=x&iss=http%3A%2F%2Fa%00",
        "state=ab&error=access%0Ddenied",
        "state=ab&error=x&error_description=a%0Ab",
        "state=ab&code=%E2%80%8B",
        "state=%7F&code=x",
    ] {
        let parsed = CallbackParams::from_query(q);
        assert!(
            matches!(parsed, Err(CallbackError::Malformed(_))),
            "{q}: {parsed:?}"
        );
    }
}

/// With a declared issuer, `iss` must match exactly, also on error callbacks; a missing
/// one is refused too, and the state is left for the real callback.
#[tokio::test]
async fn an_inexact_or_missing_issuer_is_refused_and_leaves_the_state() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let issuer = sandbox.url();
    let environment = Environment::new(
        "sandbox",
        sandbox.url(),
        sandbox.auth_url(),
        sandbox.token_url(),
    );
    let provider = Provider::new("HMRC").environment(environment.issuer(&issuer));
    let runtime = builder_for(provider)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let user = Company(3);
    let request = runtime
        .begin_authorization(&user, &["hello"], None)
        .await
        .unwrap();
    let state = &request.state;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    for q in [
        format!("state={state}&error=access_denied"),
        format!("state={state}&code=x"),
        format!("state={state}&code=x&iss={}", enc(&format!("{issuer}/"))),
        format!("state={state}&code=x&iss={}", enc(&issuer.to_uppercase())),
        format!(
            "state={state}&error=access_denied&iss={}",
            enc("https://evil.example")
        ),
    ] {
        let params = CallbackParams::from_query(&q).unwrap();
        let err = runtime.complete_authorization(&params).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Callback(
                    CallbackError::MissingIssuer | CallbackError::IssuerMismatch { .. }
                )
            ),
            "{q}: {err:?}"
        );
    }
    let pending = runtime.pending_authorizations(&user).await.unwrap();
    assert_eq!(pending.len(), 1, "the state is still usable");
}

/// Pending authorizations per session stay bounded whichever way they are begun:
/// distinct return targets, browser-bound, scope sets in any order, and the
/// `AuthorizationRequired` of calls.
#[tokio::test]
async fn pending_authorizations_stay_bounded_however_they_are_begun() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let backend = Backend::sqlite();
    let runtime = sandbox_runtime_on(&sandbox, backend.open().await);
    let user = Company(9);
    for i in 0..100 {
        let target = format!("/page/{i}");
        runtime
            .begin_authorization(&user, &["hello"], Some(&target))
            .await
            .unwrap();
        runtime
            .begin_authorization_for_browser(&user, &["hello"], Some(&target))
            .await
            .unwrap();
        let scopes: &[&str] = match i % 2 {
            0 => &["hello", "read:vat"],
            _ => &["read:vat", "hello"],
        };
        let call = runtime.request(&user, Method::Get, "/hello/user");
        let _ = call.scopes(scopes).send().await;
    }
    let pending = runtime.pending_authorizations(&user).await.unwrap();
    assert!(
        pending.len() <= 16,
        "{} pending authorizations",
        pending.len()
    );
}

/// The web flow's application (`web_security`) on a sandbox, with the plain callback
/// route: the sandbox, the application's base URL and its runtime.
async fn application() -> (Sandbox, String, oauth2_api::Runtime) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let callback = oauth2_api::web::callback_router;
    let (base, runtime) = crate::web_security::serve(&sandbox, MemoryStore::new(), callback).await;
    (sandbox, base, runtime)
}

fn code_of(callback: &str) -> String {
    let url = url::Url::parse(callback).unwrap();
    let code = url.query_pairs().find(|(k, _)| k == "code").unwrap().1;
    code.into_owned()
}

fn state_of(callback: &str) -> String {
    let params = CallbackParams::from_url(callback).unwrap();
    params.state().unwrap().to_owned()
}

/// The authorization swap through the callback route, two browsers: the victim's error
/// branch for the attacker's state is refused without using it up, and the victim's
/// code sent with another state of the attacker stores nothing under the attacker.
#[tokio::test]
async fn the_swap_fails_through_the_error_branch_and_with_a_mixed_code_and_state() {
    let (_sandbox, base, runtime) = application().await;
    let (attacker, victim) = (WebClient::new(), WebClient::new());
    attacker.get(&format!("{base}/login?user=80")).await;
    victim.get(&format!("{base}/login?user=81")).await;
    // The attacker begins two authorizations (two cookies), the victim consents to one.
    let r1 = attacker.get(&format!("{base}/vat")).await;
    let r2 = attacker.get(&format!("{base}/obligations")).await;
    let set_cookie = r1.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    assert!(set_cookie.contains("Path=/oauth2/callback") && !set_cookie.contains("Secure"));
    let cb1 = location(&victim.get(&location(&r1)).await);
    let cb2 = location(&attacker.get(&location(&r2)).await);
    let deny = format!(
        "{base}/oauth2/callback?state={}&error=access_denied",
        state_of(&cb1)
    );
    assert_eq!(victim.get(&deny).await.status(), 403);
    assert_eq!(victim.get(&cb1).await.status(), 403);
    // The victim's code (bound to state 1 at the provider) with state 2's cookie.
    let mixed = format!(
        "{base}/oauth2/callback?state={}&code={}",
        state_of(&cb2),
        code_of(&cb1)
    );
    attacker.get(&mixed).await;
    let session = runtime.session(&Company(80)).await.unwrap();
    assert!(
        session.and_then(|s| s.state.tokens).is_none(),
        "the victim's code was stored under the attacker"
    );
}

/// A loopback flow waiting in the background: the sandbox, the redirect URL it listens
/// at, the authorization it waits for, and the flow.
struct Waiting {
    sandbox: Sandbox,
    redirect: String,
    required: AuthorizationRequired,
    flow: tokio::task::JoinHandle<Result<Authorized, Error>>,
}

async fn waiting(company: &Company, authorizer: LoopbackAuthorizer) -> Waiting {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let redirect = format!("http://127.0.0.1:{}/oauth2/callback", free_port());
    let runtime = sandbox_builder(&sandbox)
        .credentials(sandbox_client(&redirect))
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let err = hello_status(&runtime, company).await.unwrap_err();
    let required = err
        .authorization_required()
        .expect("required first")
        .clone();
    let asked = required.clone();
    let flow = tokio::spawn(async move {
        let authorizer = authorizer.browser(Browser::Print);
        authorizer.authorize(&runtime, &asked).await
    });
    Waiting {
        sandbox,
        redirect,
        required,
        flow,
    }
}

/// A connection to the listener at `redirect`, once it listens.
async fn connected(redirect: &str) -> tokio::net::TcpStream {
    let url = url::Url::parse(redirect).unwrap();
    let addr = format!("127.0.0.1:{}", url.port().unwrap());
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    while tokio::time::Instant::now() < deadline {
        match tokio::net::TcpStream::connect(&addr).await {
            Ok(stream) => return stream,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
        }
    }
    panic!("the listener never listened");
}

#[tokio::test]
async fn the_listener_closes_a_connection_that_sends_nothing() {
    let timeout = std::time::Duration::from_millis(200);
    let authorizer = LoopbackAuthorizer::new().header_read_timeout(timeout);
    let w = waiting(&Company(51), authorizer).await;
    let mut silent = connected(&w.redirect).await;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(HANG_GUARD, silent.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "a connection that sent nothing is kept open"
    );
    let answer = String::from_utf8_lossy(&rest);
    assert!(
        !answer.contains("200 OK"),
        "nothing was served to it: {answer}"
    );
    let callback = w.sandbox.approve(w.required.url.as_str()).await.unwrap();
    assert_eq!(reqwest::get(&callback).await.unwrap().status(), 200);
    let flow = tokio::time::timeout(HANG_GUARD, w.flow).await.unwrap();
    flow.unwrap().expect("authorized");
}

/// 300 half-open connections, then the real callback sent with a request body that
/// never ends: the callback is served and the flow returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_listener_serves_its_callback_past_open_connections_and_an_endless_body() {
    let w = waiting(&Company(52), LoopbackAuthorizer::new()).await;
    let mut held = Vec::new();
    for i in 0..300 {
        let mut c = connected(&w.redirect).await;
        let start: &[u8] = if i % 2 == 0 {
            b"GET /oauth2/callback?state="
        } else {
            b"G"
        };
        let _ = c.write_all(start).await;
        held.push(c);
    }
    let callback = w.sandbox.approve(w.required.url.as_str()).await.unwrap();
    let url = url::Url::parse(&callback).unwrap();
    let mut ours = connected(&w.redirect).await;
    let head = format!(
        "GET {}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        url.path(),
        url.query().unwrap()
    );
    ours.write_all(head.as_bytes()).await.unwrap();
    let done = tokio::time::timeout(HANG_GUARD, w.flow).await;
    let done = done.expect("the flow returns while its own callback's body never ends");
    done.unwrap().expect("authorized");
    drop(held);
}

/// The provider says it granted everything, but the API keeps answering 403
/// `insufficient_scope`: the browser is sent to the provider at most once more, not in a
/// loop (with a provider that remembers consent, each trip would come straight back).
#[tokio::test]
async fn an_api_that_keeps_answering_insufficient_scope_is_not_a_redirect_loop() {
    let (sandbox, base, _runtime) = application().await;
    let browser = WebClient::new();
    browser.get(&format!("{base}/login?user=70")).await;
    // Not authorized yet: one trip to the provider is expected.
    let r = browser.get(&format!("{base}/vat")).await;
    assert_eq!(r.status(), 303);
    let callback = location(&browser.get(&location(&r)).await);
    assert_eq!(location(&browser.get(&callback).await), "/vat");
    for _ in 0..10 {
        let challenge = r#"Bearer error="insufficient_scope", scope="hello""#;
        sandbox.fail_next_api_call(ApiFault::Challenge(403, challenge.to_owned()));
    }
    let mut trips = 0;
    for _ in 0..5 {
        let r = browser.get(&format!("{base}/vat")).await;
        if r.status() != 303 {
            break;
        }
        trips += 1;
        let callback = location(&browser.get(&location(&r)).await);
        assert_eq!(
            browser.get(&callback).await.status(),
            303,
            "back to the page"
        );
    }
    assert!(
        trips <= 1,
        "redirect loop: {trips} more trips to the provider"
    );
}
