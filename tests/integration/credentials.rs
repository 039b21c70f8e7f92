//! Credentials per user kind: the application uses its own client, for a server that
//! allows one grant type per client.

use oauth2_api::sandbox::{Sandbox, SandboxClient, SandboxConfig};
use oauth2_api::store::MemoryStore;
use oauth2_api::{Application, Credentials, Error, Method, Runtime, RuntimeBuilder};
use oauth2_api_tests::{Company, REDIRECT_URL, authorize, sandbox_provider};

fn client(id: &str, grant_type: &str) -> SandboxClient {
    SandboxClient {
        id: id.to_owned(),
        secret: Some(format!("{id}-secret")),
        redirect_uris: Vec::new(),
        grant_types: vec![grant_type.to_owned()],
    }
}

async fn one_grant_type_per_client() -> Sandbox {
    let config = SandboxConfig {
        clients: vec![
            client("people", "authorization_code"),
            client("app", "client_credentials"),
        ],
        ..SandboxConfig::default()
    };
    Sandbox::start(config).await.unwrap()
}

fn builder(sandbox: &Sandbox) -> RuntimeBuilder {
    let people = Credentials::new("people")
        .secret("people-secret")
        .redirect_url(REDIRECT_URL);
    Runtime::builder(sandbox_provider(sandbox))
        .credentials(people)
        .store(MemoryStore::new())
}

async fn hello(
    runtime: &Runtime,
    path: &str,
    user: &impl oauth2_api::ApiUser,
) -> Result<u16, Error> {
    let answer = runtime
        .request(user, Method::Get, path)
        .scopes(&["hello"])
        .send()
        .await?;
    Ok(answer.status)
}

#[tokio::test]
async fn the_application_uses_its_own_client() {
    let sandbox = one_grant_type_per_client().await;
    let app = Credentials::new("app").secret("app-secret");
    let runtime = builder(&sandbox)
        .application_credentials(app)
        .build()
        .unwrap();
    assert_eq!(
        hello(&runtime, "/hello/application", &Application)
            .await
            .unwrap(),
        200
    );
    let company = Company(1);
    authorize(&sandbox, &runtime, &company, &["hello"]).await;
    assert_eq!(hello(&runtime, "/hello/user", &company).await.unwrap(), 200);
    let counts = sandbox.counts();
    assert_eq!(
        (counts.client_credentials, counts.authorization_code),
        (1, 1)
    );
}

#[tokio::test]
async fn without_its_own_client_the_application_is_refused_by_such_a_server() {
    let sandbox = one_grant_type_per_client().await;
    let runtime = builder(&sandbox).build().unwrap();
    let err = hello(&runtime, "/hello/application", &Application)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unauthorized_client"), "{err}");
    // Named per environment, typed or not; an unknown name fails at build.
    let app = Credentials::new("app").secret("app-secret");
    let runtime = builder(&sandbox)
        .application_credentials_for("sandbox", app.clone())
        .build()
        .unwrap();
    assert_eq!(
        hello(&runtime, "/hello/application", &Application)
            .await
            .unwrap(),
        200
    );
    let err = builder(&sandbox)
        .application_credentials_for("sandbx", app)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::UnknownEnvironment { .. }), "{err:?}");
}
