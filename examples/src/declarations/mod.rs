//! The API declarations of the examples, one module per provider API, and the user type
//! the HMRC APIs share.

use oauth2_api::{ApiUser, UserRef};

pub mod github;
pub mod hmrc_hello;
pub mod hmrc_vat;
pub mod piste_legifrance;
pub mod xero;

/// A company of the application: the party that authorizes HMRC access.
#[derive(Clone, Debug)]
pub struct Company {
    /// The application's own id of the company.
    pub id: u32,
}

impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", self.id)
    }
}
