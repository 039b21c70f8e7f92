//! A user's id, held in place when short: naming the user of a call (which
//! [`ApiUser::user_ref`](super::ApiUser::user_ref) does on every call) then allocates
//! nothing for a number, a VRN or a UUID.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// The longest id held in place: a UUID's 36 characters, and a little more.
const INLINE: usize = 38;

/// The id of an API user within its kind (see [`UserRef`](super::UserRef)): text,
/// made from a string (`&str`, `String`, `Cow<str>`, `Box<str>`, `Arc<str>`, `char`) or
/// an integer, or a reference to either: `&self.id` works whatever the field's type.
///
/// Another type that converts into a `String` (an id newtype of the application's, a
/// generic `impl Into<String>`) is passed as `String::from(id)`, or implements
/// `From<ItsType> for UserId` itself.
///
/// ```
/// use oauth2_api::UserRef;
///
/// // An integer id is written as its digits, without `to_string()`.
/// assert_eq!(UserRef::new("company", 42_u32), UserRef::new("company", "42"));
/// assert_eq!(UserRef::new("company", 42_u32).id(), "42");
/// ```
#[derive(Clone)]
pub struct UserId(Repr);

#[derive(Clone)]
enum Repr {
    Inline(u8, [u8; INLINE]),
    Heap(String),
}

impl UserId {
    /// No id: the [`Application`](super::Application)'s.
    pub(crate) const EMPTY: UserId = UserId(Repr::Inline(0, [0; INLINE]));

    /// The id's text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever filled from a `str`'s whole bytes (see `inline`).
            Repr::Inline(len, bytes) => std::str::from_utf8(&bytes[..usize::from(*len)])
                .expect("an inline id holds a whole str"),
            Repr::Heap(text) => text,
        }
    }

    /// The id's text as bytes, without the check `as_str` makes: what comparing and
    /// hashing it on every call reads.
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(len, bytes) => &bytes[..usize::from(*len)],
            Repr::Heap(text) => text.as_bytes(),
        }
    }

    /// `text` in place, if it fits.
    fn inline(text: &str) -> Option<UserId> {
        let len = u8::try_from(text.len())
            .ok()
            .filter(|&len| len as usize <= INLINE)?;
        let mut bytes = [0; INLINE];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(UserId(Repr::Inline(len, bytes)))
    }

    /// The digits of `value`, a sign first if negative.
    fn integer(negative: bool, mut value: u128) -> UserId {
        // 39 digits and a sign at most: written from the end of a buffer of their own.
        let mut digits = [0u8; 40];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        if negative {
            start -= 1;
            digits[start] = b'-';
        }
        let text = std::str::from_utf8(&digits[start..]).expect("ASCII digits");
        UserId::from(text)
    }
}

impl From<&str> for UserId {
    fn from(text: &str) -> Self {
        Self::inline(text).unwrap_or_else(|| UserId(Repr::Heap(text.to_owned())))
    }
}

impl From<String> for UserId {
    fn from(text: String) -> Self {
        Self::inline(&text).unwrap_or(UserId(Repr::Heap(text)))
    }
}

impl From<&String> for UserId {
    fn from(text: &String) -> Self {
        Self::from(text.as_str())
    }
}

impl From<Cow<'_, str>> for UserId {
    fn from(text: Cow<'_, str>) -> Self {
        match text {
            Cow::Borrowed(text) => Self::from(text),
            Cow::Owned(text) => Self::from(text),
        }
    }
}

impl From<Box<str>> for UserId {
    fn from(text: Box<str>) -> Self {
        Self::from(String::from(text))
    }
}

impl From<char> for UserId {
    fn from(c: char) -> Self {
        Self::from(c.encode_utf8(&mut [0; 4]) as &str)
    }
}

impl From<&mut str> for UserId {
    fn from(text: &mut str) -> Self {
        Self::from(&*text)
    }
}

// References to the string types above, so that `&self.id` works whatever `id` is.
macro_rules! from_text_ref {
    ($($t:ty),*) => {$(
        impl From<&$t> for UserId {
            fn from(text: &$t) -> Self {
                Self::from(text.as_ref() as &str)
            }
        }
    )*};
}

from_text_ref!(
    &str,
    Box<str>,
    Cow<'_, str>,
    std::sync::Arc<str>,
    std::rc::Rc<str>,
    UserId
);

impl From<std::sync::Arc<str>> for UserId {
    fn from(text: std::sync::Arc<str>) -> Self {
        Self::from(&*text)
    }
}

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for UserId {
            fn from(value: $t) -> Self {
                Self::integer(false, value as u128)
            }
        }

        impl From<&$t> for UserId {
            fn from(value: &$t) -> Self {
                Self::from(*value)
            }
        }
    )*};
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for UserId {
            fn from(value: $t) -> Self {
                Self::integer(value < 0, value.unsigned_abs() as u128)
            }
        }

        impl From<&$t> for UserId {
            fn from(value: &$t) -> Self {
                Self::from(*value)
            }
        }
    )*};
}

from_unsigned!(u8, u16, u32, u64, u128, usize);
from_signed!(i8, i16, i32, i64, i128, isize);

impl std::ops::Deref for UserId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

// Compared, ordered and hashed as its text's bytes, however it is held.
impl PartialEq for UserId {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for UserId {}

impl PartialEq<str> for UserId {
    fn eq(&self, other: &str) -> bool {
        self.bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for UserId {
    fn eq(&self, other: &&str) -> bool {
        self.bytes() == other.as_bytes()
    }
}

impl PartialOrd for UserId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for UserId {
    fn cmp(&self, other: &Self) -> Ordering {
        // As `str` orders: by bytes.
        self.bytes().cmp(other.bytes())
    }
}

impl Hash for UserId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `str` hashes by default (a terminator keeps `("ab", "c")` from `("a", "bc")`).
        state.write(self.bytes());
        state.write_u8(0xff);
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;

    use super::*;

    fn hash(id: &UserId) -> u64 {
        let mut hasher = DefaultHasher::new();
        id.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn an_id_is_its_text_however_it_is_held() {
        let long = "x".repeat(INLINE + 1);
        for text in [
            "",
            "1",
            "company-42",
            "123e4567-e89b-12d3-a456-426614174000",
            &long,
        ] {
            let ids = [
                UserId::from(text),
                UserId::from(text.to_owned()),
                UserId::from(Cow::Borrowed(text)),
                UserId::from(Box::<str>::from(text)),
            ];
            for id in &ids {
                assert_eq!(id.as_str(), text);
                assert_eq!(id, &ids[0]);
                assert_eq!(hash(id), hash(&ids[0]));
                assert_eq!(format!("{id:?}"), format!("{text:?}"));
            }
        }
        let at_limit = "é".repeat(INLINE / 2);
        assert_eq!(UserId::from(at_limit.as_str()).as_str(), at_limit);
        assert!(matches!(UserId::from(long.as_str()).0, Repr::Heap(_)));
        assert!(matches!(UserId::from("company-42").0, Repr::Inline(..)));
    }

    #[test]
    fn an_integer_id_is_its_digits() {
        assert_eq!(UserId::from(0_u8), "0");
        assert_eq!(UserId::from(42_u32), "42");
        assert_eq!(UserId::from(-7_i64), "-7");
        assert_eq!(UserId::from(u128::MAX).as_str(), u128::MAX.to_string());
        assert_eq!(UserId::from(i128::MIN).as_str(), i128::MIN.to_string());
        assert_eq!(UserId::from(usize::MAX).as_str(), usize::MAX.to_string());
        // Ordered as text, as ids read from a store are.
        assert!(UserId::from(10_u32) < UserId::from(9_u32));
    }
}
