//! Who holds tokens: the [`ApiUser`] trait and the built-in [`Application`].

use std::borrow::Cow;
use std::fmt;

mod id;

pub use id::UserId;

/// A stable reference to an API user: a kind (`"company"`, `"user"`) and an id.
///
/// It names the user in the session store, so it must not change for the life of
/// the user's grant. It is not a secret and appears in logs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserRef {
    kind: Cow<'static, str>,
    id: UserId,
}

impl UserRef {
    /// A reference from a kind and an id, e.g. `UserRef::new("company", "42")` or
    /// `UserRef::new("company", self.id)` for an integer id (see [`UserId`]).
    pub fn new(kind: impl Into<Cow<'static, str>>, id: impl Into<UserId>) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
        }
    }

    /// The reference of the built-in [`Application`] user.
    pub const fn application() -> Self {
        Self {
            kind: Cow::Borrowed(Application::KIND),
            id: UserId::EMPTY,
        }
    }

    /// The reference calls to open endpoints are made under: nobody, no token.
    pub const fn anonymous() -> Self {
        Self {
            kind: Cow::Borrowed("anonymous"),
            id: UserId::EMPTY,
        }
    }

    /// The kind of user, e.g. `"company"`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The user's id within its kind.
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// Whether this is the [`Application`] itself, served by the client-credentials grant.
    pub fn is_application(&self) -> bool {
        self.kind == Application::KIND
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.id.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}:{}", self.kind, self.id)
        }
    }
}

/// Anything that holds tokens for an API: a company, a user, an employee.
///
/// ```
/// use oauth2_api::{ApiUser, UserRef};
///
/// struct Company { id: u32 }
///
/// impl ApiUser for Company {
///     fn user_ref(&self) -> UserRef {
///         UserRef::new("company", self.id)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an API user",
    label = "`user = {Self}` needs a type that implements `oauth2_api::ApiUser`",
    note = "implement it: `impl oauth2_api::ApiUser for {Self} {{ fn user_ref(&self) -> oauth2_api::UserRef {{ oauth2_api::UserRef::new(\"kind\", &self.id) }} }}`",
    note = "or write `user = Application` for endpoints served by the client-credentials grant"
)]
pub trait ApiUser {
    /// The stable reference under which this user's sessions are stored.
    fn user_ref(&self) -> UserRef;
}

impl<T: ApiUser + ?Sized> ApiUser for &T {
    fn user_ref(&self) -> UserRef {
        (**self).user_ref()
    }
}

impl ApiUser for UserRef {
    fn user_ref(&self) -> UserRef {
        self.clone()
    }
}

/// The application itself: served by the client-credentials grant, never by a person.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Application;

impl Application {
    /// The user kind under which the application's sessions are stored.
    pub const KIND: &'static str = "application";
}

impl ApiUser for Application {
    fn user_ref(&self) -> UserRef {
        UserRef::application()
    }
}
