//! Only the bare names `Application` and `Anonymous` are the built-in users: a path that
//! ends in `Application` is the application's own user type, taken as the first
//! argument of its endpoints and a user of the API.

use oauth2_api::{ApiUser, Error, UserRef, oauth2_api};

mod billing {
    /// The application's own notion of an application (a billing account), not the
    /// built-in client-credentials user.
    pub struct Application {
        pub id: u32,
    }
    impl oauth2_api::ApiUser for Application {
        fn user_ref(&self) -> oauth2_api::UserRef {
            oauth2_api::UserRef::new("billing-application", self.id)
        }
    }
}

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Billing {
    #[endpoint(method = GET, path = "/invoices", scope = "invoices", user = billing::Application)]
    async fn invoices(&self) -> Result<(), Error>;
}

/// `billing::Application` is a user type of the API, with its endpoint's scope.
fn is_a_user<U: BillingUser + ApiUser>() -> &'static [&'static str] {
    U::SCOPES
}

/// Its endpoint takes it first; the session operations accept it.
#[allow(dead_code)]
async fn calls(client: &BillingClient) -> Result<(), Error> {
    let account = billing::Application { id: 7 };
    client.invoices(&account).await?;
    client.begin_authorization(&account, None).await?;
    Ok(())
}

fn main() {
    assert_eq!(is_a_user::<billing::Application>(), ["invoices"]);
    assert_eq!(
        billing::Application { id: 7 }.user_ref(),
        UserRef::new("billing-application", "7")
    );
}
