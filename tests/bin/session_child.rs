//! A second (third, fourth...) application instance for the multi-process tests: its own
//! process and runtime on the shared PostgreSQL schema, calling the parent's sandbox.
//!
//! `session_child <calls> <lease-ms>` with `DATABASE_URL`, `CHILD_SCHEMA` and
//! `CHILD_SANDBOX` set; prints `CHILD-OK <successful calls>`.

use std::time::Duration;

use oauth2_api::{Credentials, Environment, Method, Provider, Runtime};
use oauth2_api_tests::{Company, REDIRECT_URL};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let calls: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: session_child <calls> <lease-ms>");
    let lease: u64 = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .expect("usage: session_child <calls> <lease-ms>");
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let sandbox = var("CHILD_SANDBOX");
    let store = oauth2_api::store::PostgresStore::connect_in_schema(
        &var("DATABASE_URL"),
        Some(&var("CHILD_SCHEMA")),
    )
    .await
    .expect("the store opens");
    let provider = Provider::new("HMRC").environment(Environment::new(
        "sandbox",
        &sandbox,
        format!("{sandbox}/oauth/authorize"),
        format!("{sandbox}/oauth/token"),
    ));
    let runtime = Runtime::builder(provider)
        .credentials(
            Credentials::new("sandbox-client")
                .secret("sandbox-secret")
                .redirect_url(REDIRECT_URL),
        )
        .store(store)
        .lease_ttl(Duration::from_millis(lease))
        .build()
        .expect("the runtime builds");
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let runtime = runtime.clone();
            tokio::spawn(async move {
                runtime
                    .request(&Company(1), Method::Get, "/hello/user")
                    .scopes(&["hello"])
                    .send()
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("the call task") {
            Ok(answer) if answer.status == 200 => ok += 1,
            Ok(answer) => eprintln!("child: HTTP {}", answer.status),
            Err(e) => eprintln!("child: {e}"),
        }
    }
    println!("CHILD-OK {ok}");
}
