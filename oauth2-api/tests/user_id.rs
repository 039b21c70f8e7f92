//! What `UserRef::new` takes as an id (review uid): what `impl Into<String>` took from
//! the standard library, references of every kind, integers; the migration for what it
//! no longer takes; and the code the `ApiUser` diagnostic suggests, for ids of any type.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use oauth2_api::{ApiUser, UserId, UserRef};

#[test]
#[expect(
    clippy::needless_borrows_for_generic_args,
    reason = "references are what is tested"
)]
fn the_standard_librarys_strings_and_their_references_are_ids() {
    let expected = UserRef::new("c", "42");
    let mut text = String::from("42");
    let boxed: Box<str> = "42".into();
    let cow: Cow<'_, str> = Cow::Borrowed("42");
    let arc: Arc<str> = "42".into();
    let rc: Rc<str> = "42".into();
    let str_ref: &str = "42";
    let made = [
        UserRef::new("c", text.as_mut_str()),
        UserRef::new("c", &text),
        UserRef::new("c", text.clone()),
        UserRef::new("c", &str_ref),
        UserRef::new("c", &boxed),
        UserRef::new("c", boxed.clone()),
        UserRef::new("c", &cow),
        UserRef::new("c", cow.clone()),
        UserRef::new("c", &arc),
        UserRef::new("c", arc.clone()),
        UserRef::new("c", &rc),
        UserRef::new("c", 42_u8),
        UserRef::new("c", &42_i64),
        UserRef::new("c", UserId::from(42_u128)),
    ];
    for user in made {
        assert_eq!(user, expected);
    }
    assert_eq!(UserRef::new("grade", 'é').id(), "é");
}

/// What converts into a `String` but is none of `UserId`'s sources (a generic helper's
/// `impl Into<String>`, an id newtype) is passed as a `String`, as the docs say.
#[test]
fn what_converts_into_a_string_is_passed_as_one() {
    fn company(id: impl Into<String>) -> UserRef {
        let id: String = id.into();
        UserRef::new("company", id)
    }
    struct CustomerId(String);
    impl From<CustomerId> for String {
        fn from(id: CustomerId) -> String {
            id.0
        }
    }
    assert_eq!(company("42"), UserRef::new("company", "42"));
    let customer = UserRef::new("customer", String::from(CustomerId("c-1".into())));
    assert_eq!(customer.id(), "c-1");
}

/// The `ApiUser` diagnostic's suggestion, `UserRef::new("kind", &self.id)`, as written:
/// it compiles for a `String` id, an integer id and a `&'static str` id.
#[test]
#[expect(
    clippy::needless_borrows_for_generic_args,
    reason = "the suggestion as written, for every type of id"
)]
fn the_diagnostics_suggestion_compiles_for_any_id() {
    struct Named {
        id: String,
    }
    struct Numbered {
        id: u64,
    }
    struct Fixed {
        id: &'static str,
    }
    impl ApiUser for Named {
        fn user_ref(&self) -> UserRef {
            UserRef::new("kind", &self.id)
        }
    }
    impl ApiUser for Numbered {
        fn user_ref(&self) -> UserRef {
            UserRef::new("kind", &self.id)
        }
    }
    impl ApiUser for Fixed {
        fn user_ref(&self) -> UserRef {
            UserRef::new("kind", &self.id)
        }
    }
    let named = Named { id: "7".into() }.user_ref();
    assert_eq!(named, Numbered { id: 7 }.user_ref());
    assert_eq!(named, Fixed { id: "7" }.user_ref());
}
