//! The sandbox provider itself: consent page, PKCE and client checks, faults.

use oauth2_api::sandbox::{Sandbox, SandboxConfig, TokenFault};
use oauth2_api::store::MemoryStore;
use oauth2_api::{CallbackParams, Error, TokenError};
use oauth2_api_tests::{Company, sandbox_builder};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_consent_page_approves_or_denies() {
    let sandbox = Sandbox::start(SandboxConfig {
        auto_approve: false,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let browser = no_redirects();
    for (decision, user) in [("approve", "alice"), ("deny", "bob")] {
        let request = runtime
            .begin_authorization(&Company(1), &["hello"], None)
            .await
            .unwrap();
        let page = browser.get(request.url.as_str()).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("<form method=\"post\" action=\"/oauth/consent\">"),
            "{html}"
        );
        // Submit the form as a browser would: every hidden field plus the decision.
        let mut form: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        form.push(("user".into(), user.into()));
        form.push(("decision".into(), decision.into()));
        let answer = browser
            .post(format!("{}/oauth/consent", sandbox.url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303);
        let callback = answer.headers()["location"].to_str().unwrap().to_owned();
        let result = runtime
            .complete_authorization(&CallbackParams::from_url(&callback).unwrap())
            .await;
        match decision {
            "approve" => {
                result.unwrap();
                let hello = runtime
                    .request(&Company(1), oauth2_api::Method::Get, "/hello/user")
                    .scopes(&["hello"])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(hello.headers["x-sandbox-user"], "alice");
            }
            _ => assert_eq!(result.unwrap_err().provider_code(), Some("access_denied")),
        }
    }
}

#[tokio::test]
async fn the_token_endpoint_checks_pkce_client_and_redirect() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let request = runtime
        .begin_authorization(&Company(2), &["hello"], None)
        .await
        .unwrap();
    let callback = sandbox.approve(request.url.as_str()).await.unwrap();
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let token = |form: Vec<(&'static str, String)>| {
        let url = sandbox.token_url();
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let base = |verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", oauth2_api_tests::REDIRECT_URL.to_owned()),
            ("client_id", "sandbox-client".to_owned()),
            ("client_secret", "sandbox-secret".to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let wrong = token(base("not-the-verifier")).await;
    assert_eq!(wrong.status(), 400);
    assert!(wrong.text().await.unwrap().contains("invalid_grant"));
    let mut bad_client = base("x");
    bad_client[4].1 = "wrong".into();
    assert_eq!(token(bad_client).await.status(), 401);
}

#[tokio::test]
async fn refresh_already_in_progress_is_a_typed_error() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let runtime = sandbox_builder(&sandbox)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    sandbox.fail_next_token_request(TokenFault::RefreshInProgress);
    let err = runtime
        .token(&oauth2_api::Application, &["hello"])
        .await
        .unwrap_err();
    match err {
        Error::Token(TokenError::Rejected {
            code, description, ..
        }) => {
            assert_eq!(code, "invalid_request");
            assert_eq!(
                description.as_deref(),
                Some("Refresh operation is already in progress")
            );
        }
        other => panic!("{other:?}"),
    }
}
