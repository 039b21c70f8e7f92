//! Generated items take the declaration's visibility: a `pub(crate)` trait in a module
//! makes `pub(crate)` items usable across the crate, a private one private items usable
//! in its module, and both compile without a warning (`private_interfaces`,
//! `unreachable_pub`, unused generated methods). That private items stay private is
//! `ui/private-declaration.rs`.
#![deny(warnings, unreachable_pub)]

mod api {
    use oauth2_api::{ApiUser, Error, UserRef, oauth2_api};

    pub(crate) struct Company;
    impl ApiUser for Company {
        fn user_ref(&self) -> UserRef {
            UserRef::new("company", "1")
        }
    }

    #[oauth2_api(provider = "X",
                 environment(name = "sandbox", base_url = "https://api.example.com",
                             auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token"))]
    pub(crate) trait Vat {
        #[endpoint(method = GET, path = "/returns", scope = "read:vat", user = Company)]
        async fn returns(&self) -> Result<(), Error>;
    }

    /// A private declaration, used only in this module.
    mod private {
        use oauth2_api::{Error, oauth2_api};

        #[oauth2_api(provider = "Y", base_url = "https://api.example.com",
                     auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
        trait Hidden {
            #[endpoint(method = GET, path = "/hello", user = Application)]
            async fn hello(&self) -> Result<(), Error>;
        }

        pub(super) fn provider_name() -> &'static str {
            let _ = HiddenEnv::ALL;
            let _ = HiddenClient::provider;
            "Y"
        }
    }

    pub(crate) fn hidden_provider() -> &'static str {
        private::provider_name()
    }
}

/// The crate uses the `pub(crate)` items from outside their module.
#[allow(dead_code)]
async fn use_it(client: &api::VatClient) -> Result<(), oauth2_api::Error> {
    client.select_environment(&api::Company, api::VatEnv::Sandbox).await?;
    client.returns(&api::Company).await?;
    let _: &[api::VatEnv] = api::VatEnv::ALL;
    Ok(())
}

fn main() {
    let _ = api::VatClient::provider();
    let _ = api::hidden_provider();
}
