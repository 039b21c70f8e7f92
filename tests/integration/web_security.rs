//! The web flow as an attacker would try it: an authorization begun in one browser and
//! completed in another (the authorization swap), hostile return targets, bytes the
//! database refuses, and a provider that never grants what is asked (a redirect loop).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SessionStore};
use oauth2_api::{Error, Method, Runtime, UserRef};
use oauth2_api_tests::web_client::{WebClient, location};
use oauth2_api_tests::{Company, PgSchema, sandbox_provider};

/// The application's own sign-in: who the browser is, from its `app_user` cookie.
pub fn signed_in(headers: &HeaderMap) -> Option<Company> {
    let cookies = headers.get(axum::http::header::COOKIE)?.to_str().ok()?;
    let id = cookies
        .split(';')
        .find_map(|c| c.trim().strip_prefix("app_user="))?;
    Some(Company(id.parse().ok()?))
}

async fn login(Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let cookie = format!("app_user={}; Path=/", q["user"]);
    ([(axum::http::header::SET_COOKIE, cookie)], "signed in").into_response()
}

/// A page that needs `scopes` for the signed-in company.
async fn page(runtime: &Runtime, headers: &HeaderMap, scopes: &[&str]) -> Result<String, Error> {
    let company = signed_in(headers).ok_or_else(|| Error::Config("sign in first".into()))?;
    let answer = runtime
        .request(&company, Method::Get, "/hello/user")
        .scopes(scopes)
        .send()
        .await?;
    Ok(answer.text())
}

/// Begins an authorization for the signed-in company with `next` as its return target,
/// as an application that builds its own redirect from a `?next=` parameter would.
async fn connect(
    State(runtime): State<Runtime>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let company = signed_in(&headers).unwrap_or(Company(0));
    match runtime
        .begin_authorization(&company, &["hello"], q.get("next").map(String::as_str))
        .await
    {
        Ok(request) => Redirect::to(request.url.as_str()).into_response(),
        Err(e) => (
            axum::http::StatusCode::BAD_REQUEST,
            format!("refused here: {e}"),
        )
            .into_response(),
    }
}

/// The application: sign-in, `/vat` (hello), `/obligations` (hello + read:vat), `/connect`,
/// the redirect middleware, and `callback` at the redirect URL.
fn app(runtime: Runtime, callback: Router) -> Router {
    let vat =
        |State(r): State<Runtime>, h: HeaderMap| async move { page(&r, &h, &["hello"]).await };
    let obligations = |State(r): State<Runtime>, h: HeaderMap| async move {
        page(&r, &h, &["hello", "read:vat"]).await
    };
    Router::new()
        .route("/vat", get(vat))
        .route("/obligations", get(obligations))
        .route("/connect", get(connect))
        .layer(axum::middleware::from_fn_with_state(
            runtime.clone(),
            oauth2_api::web::redirect_to_authorize,
        ))
        .route("/login", get(login))
        .with_state(runtime)
        .merge(callback)
}

/// A runtime on `store` whose redirect URL is on the application's own address.
pub(crate) async fn serve(
    sandbox: &Sandbox,
    store: impl SessionStore,
    callback: impl FnOnce(Runtime) -> Router,
) -> (String, Runtime) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let runtime = Runtime::builder(sandbox_provider(sandbox))
        .credentials(oauth2_api_tests::sandbox_client(format!(
            "{base}/oauth2/callback"
        )))
        .store(store)
        .build()
        .unwrap();
    let router = app(runtime.clone(), callback(runtime.clone()));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, runtime)
}

async fn tokens_of(runtime: &Runtime, company: &Company) -> bool {
    runtime
        .session(company)
        .await
        .unwrap()
        .is_some_and(|s| s.state.tokens.is_some())
}

#[tokio::test]
async fn an_authorization_begun_in_one_browser_cannot_be_completed_in_another() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (base, runtime) = serve(
        &sandbox,
        MemoryStore::new(),
        oauth2_api::web::callback_router,
    )
    .await;
    let (attacker, victim) = (WebClient::new(), WebClient::new());
    attacker.get(&format!("{base}/login?user=66")).await;
    victim.get(&format!("{base}/login?user=1")).await;
    // The attacker begins as their own user and sends the provider URL to the victim.
    let r = attacker.get(&format!("{base}/vat")).await;
    assert_eq!(r.status(), 303);
    let provider_url = location(&r);
    // The victim consents; the provider sends the victim's browser back with the code.
    let callback = location(&victim.get(&provider_url).await);
    let r = victim.get(&callback).await;
    assert_eq!(r.status(), 403, "the victim's browser did not begin it");
    let page = r.text().await.unwrap();
    assert!(page.contains("not begun in this browser"), "{page}");
    assert!(
        !tokens_of(&runtime, &Company(66)).await,
        "nothing stored under the attacker"
    );
    assert_eq!(
        sandbox.counts().authorization_code,
        0,
        "the code was not exchanged"
    );
    let state = oauth2_api::CallbackParams::from_url(&callback).unwrap();
    let pending = runtime.pending_authorizations(&Company(66)).await.unwrap();
    assert!(
        pending
            .iter()
            .any(|p| Some(p.state.as_str()) == state.state()),
        "the state is not used up"
    );
    // The browser that began it completes it, and comes back to the page.
    let r = attacker.get(&callback).await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/vat".to_owned())
    );
    assert!(tokens_of(&runtime, &Company(66)).await);
}

#[tokio::test]
async fn the_application_checks_its_signed_in_user_at_the_callback() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let checked = |runtime| {
        oauth2_api::web::CallbackRouter::new(runtime)
            .check_user(|parts, user: UserRef| async move {
                signed_in(&parts.headers).map(|c| oauth2_api::ApiUser::user_ref(&c)) == Some(user)
            })
            .into_router()
    };
    let (base, runtime) = serve(&sandbox, MemoryStore::new(), checked).await;
    // Begun without a browser binding (`begin_authorization`, through `/connect`).
    let (attacker, victim) = (WebClient::new(), WebClient::new());
    attacker.get(&format!("{base}/login?user=67")).await;
    victim.get(&format!("{base}/login?user=2")).await;
    let provider_url = location(&attacker.get(&format!("{base}/connect?next=/vat")).await);
    let callback = location(&victim.get(&provider_url).await);
    let r = victim.get(&callback).await;
    assert_eq!(r.status(), 403, "signed in as another user");
    assert!(r.text().await.unwrap().contains("another user"));
    assert!(!tokens_of(&runtime, &Company(67)).await);
    assert!(!tokens_of(&runtime, &Company(2)).await);
    // Signed in as the state's user, the check passes.
    let r = attacker.get(&callback).await;
    assert_eq!(r.status(), 303);
    assert!(tokens_of(&runtime, &Company(67)).await);
}

#[tokio::test]
async fn without_a_user_check_unbound_states_are_refused_at_the_callback() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (base, runtime) = serve(
        &sandbox,
        MemoryStore::new(),
        oauth2_api::web::callback_router,
    )
    .await;
    let browser = WebClient::new();
    browser.get(&format!("{base}/login?user=68")).await;
    let provider_url = location(&browser.get(&format!("{base}/connect?next=/vat")).await);
    let callback = location(&browser.get(&provider_url).await);
    assert_eq!(browser.get(&callback).await.status(), 403);
    assert!(!tokens_of(&runtime, &Company(68)).await);
}

#[tokio::test]
async fn a_nul_byte_in_the_state_is_a_bad_request_without_database_text() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (base, _runtime) =
        serve(&sandbox, pg.store().await, oauth2_api::web::callback_router).await;
    let browser = WebClient::new();
    for query in [
        "code=abc&state=ab%00cd",
        "code=a%00b&state=abcd",
        "state=x&error=a%00",
    ] {
        let r = browser
            .get(&format!("{base}/oauth2/callback?{query}"))
            .await;
        assert_eq!(r.status(), 400, "{query}");
        let page = r.text().await.unwrap().to_lowercase();
        assert!(page.contains("malformed"), "{query}: {page}");
        for internal in ["0x00", "utf8", "byte sequence", "postgres", "sqlx", "store"] {
            assert!(!page.contains(internal), "{query}: `{internal}` in {page}");
        }
    }
    pg.drop().await;
}

#[tokio::test]
async fn a_provider_that_withholds_scopes_is_not_asked_again_in_a_loop() {
    let config = SandboxConfig {
        withheld_scopes: vec!["read:vat".to_owned()],
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let (base, runtime) = serve(
        &sandbox,
        MemoryStore::new(),
        oauth2_api::web::callback_router,
    )
    .await;
    let browser = WebClient::new();
    browser.get(&format!("{base}/login?user=69")).await;
    let r = browser.get(&format!("{base}/obligations")).await;
    assert_eq!(r.status(), 303, "sent to the provider once");
    let callback = location(&browser.get(&location(&r)).await);
    let back = location(&browser.get(&callback).await);
    assert_eq!(back, "/obligations");
    // Back on the page, read:vat is still missing: no second trip to the provider.
    let r = browser.get(&format!("{base}{back}")).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("did not grant the scopes read:vat"), "{page}");
    assert_eq!(
        sandbox.counts().authorize,
        1,
        "the browser went to the provider once"
    );
    let last = runtime
        .last_error(&Company(69))
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(last.kind, "scopes_not_granted");
    assert!(last.message.contains("read:vat"), "{}", last.message);
    // A page whose scopes were granted still works.
    let r = browser.get(&format!("{base}/vat")).await;
    assert_eq!(r.status(), 200);
}
