//! HMRC Hello World: an open endpoint, an application endpoint and a user endpoint.
//!
//! Offline against a local sandbox by default; with `HMRC_CLIENT_ID`,
//! `HMRC_CLIENT_SECRET` and `HMRC_REDIRECT_URL` (a `http://localhost:PORT/...` URL
//! registered for the application) it talks to HMRC's real sandbox and opens a browser.

use oauth2_api::{Browser, Credentials, LoopbackAuthorizer};
use oauth2_api_examples::declarations::hmrc_hello::{Company, HelloWorldClient};
use oauth2_api_examples::setup;

#[tokio::main]
async fn main() {
    let company = Company { id: 7 };
    let (client, browser, _sandbox) = match setup::credentials_from_env("HMRC") {
        Some(credentials) => {
            println!("Using HMRC's sandbox with the credentials from the environment.");
            let runtime = setup::builder(HelloWorldClient::provider())
                .credentials(credentials)
                .build();
            (
                HelloWorldClient::new(runtime.unwrap_or_else(|e| setup::fail(e))),
                Browser::System,
                None,
            )
        }
        None => {
            let sandbox = setup::hmrc_sandbox()
                .await
                .expect("the local sandbox starts");
            println!(
                "Using a local HMRC-like sandbox at {} (offline).",
                sandbox.url()
            );
            let redirect = format!("http://127.0.0.1:{}/callback", setup::free_port());
            let runtime = setup::on_sandbox(
                setup::builder(HelloWorldClient::provider()),
                "sandbox",
                &sandbox,
                &redirect,
            )
            .credentials(Credentials::new("unused"))
            .build()
            .unwrap_or_else(|e| setup::fail(e));
            (
                HelloWorldClient::new(runtime),
                Browser::Follow,
                Some(sandbox),
            )
        }
    };
    let world = client
        .hello_world()
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!(
        "GET /hello/world (open):                     {}",
        world.message
    );
    let application = client
        .hello_application()
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!(
        "GET /hello/application (client credentials): {}",
        application.message
    );
    let authorizer = LoopbackAuthorizer::new().browser(browser);
    let user = client
        .runtime()
        .authorize_and_retry(&authorizer)
        .run(|| client.hello_user(&company))
        .await
        .unwrap_or_else(|e| setup::fail(e));
    println!(
        "GET /hello/user (company 7, scope hello):    {}",
        user.message
    );
}
