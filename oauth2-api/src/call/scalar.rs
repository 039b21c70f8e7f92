//! The arguments whose text the runtime writes itself: strings, integers, booleans,
//! characters and (with the `chrono` feature) `chrono::NaiveDate`, each as its
//! `Serialize` writes it. Through serde, a date's text takes a trip through `core::fmt`
//! a character at a time, the largest single cost of building a request; here it is ten
//! bytes written in place.
//!
//! Generated code picks this way where the argument's type has it, and serde's
//! otherwise, by the method it finds first ("autoref specialization"):
//! `(&Arg(&value)).__oauth2_api_pick()` is [`PickText`]'s when `Arg<T>` implements it
//! (`T: Scalar`), its `&self` taking the `&Arg<T>` given; else [`PickSerde`]'s, which
//! `&Arg<T>` implements, found one reference later. The method's name is one no trait
//! of the application's has: a `pick` of its own in scope would make the call
//! ambiguous. The serde way has no bound of its own, so a type with neither is refused
//! as before: not `Serialize`.

use std::borrow::Cow;

use serde::Serialize;

use super::request::Request;

/// A value whose text is written without serde, the same text its `Serialize` gives.
/// Sealed: a type of the application's goes through serde.
pub trait Scalar: sealed::Sealed {
    /// Writes its text to `out`; `false` for a value that has none (`None`).
    fn write(&self, out: TextOut<'_>) -> bool;
}

/// Where a scalar's text goes: a path segment or a query value, each encoded its way.
pub struct TextOut<'a> {
    out: &'a mut String,
    part: Part,
}

#[derive(Clone, Copy)]
enum Part {
    Path,
    Query,
}

impl<'a> TextOut<'a> {
    pub(crate) fn path(out: &'a mut String) -> Self {
        Self {
            out,
            part: Part::Path,
        }
    }

    pub(crate) fn query(out: &'a mut String) -> Self {
        Self {
            out,
            part: Part::Query,
        }
    }

    /// Writes `text`, encoded.
    fn text(self, text: &str) -> bool {
        match self.part {
            Part::Path => super::request::push_segment(self.out, text),
            Part::Query => super::query::encode(self.out, text),
        }
        true
    }

    /// Writes ASCII digits and `-` signs, which neither encoding changes: pushed as they
    /// are, with no UTF-8 check or search of the text (a date's or a number's is written
    /// on every call).
    fn digits(self, text: &[u8]) -> bool {
        debug_assert!(text.iter().all(|b| b.is_ascii_digit() || *b == b'-'));
        self.out.reserve(text.len());
        for &byte in text {
            self.out.push(char::from(byte));
        }
        true
    }
}

mod sealed {
    pub trait Sealed {}
}

impl sealed::Sealed for str {}
impl Scalar for str {
    fn write(&self, out: TextOut<'_>) -> bool {
        out.text(self)
    }
}

impl sealed::Sealed for String {}
impl Scalar for String {
    fn write(&self, out: TextOut<'_>) -> bool {
        out.text(self)
    }
}

impl sealed::Sealed for Cow<'_, str> {}
impl Scalar for Cow<'_, str> {
    fn write(&self, out: TextOut<'_>) -> bool {
        out.text(self)
    }
}

impl<T: Scalar + ?Sized> sealed::Sealed for &T {}
impl<T: Scalar + ?Sized> Scalar for &T {
    fn write(&self, out: TextOut<'_>) -> bool {
        (**self).write(out)
    }
}

impl<T: Scalar> sealed::Sealed for Option<T> {}
impl<T: Scalar> Scalar for Option<T> {
    fn write(&self, out: TextOut<'_>) -> bool {
        self.as_ref().is_some_and(|value| value.write(out))
    }
}

impl sealed::Sealed for bool {}
impl Scalar for bool {
    fn write(&self, out: TextOut<'_>) -> bool {
        out.text(if *self { "true" } else { "false" })
    }
}

impl sealed::Sealed for char {}
impl Scalar for char {
    fn write(&self, out: TextOut<'_>) -> bool {
        out.text(self.encode_utf8(&mut [0; 4]))
    }
}

macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        impl Scalar for $ty {
            fn write(&self, out: TextOut<'_>) -> bool {
                out.digits(itoa::Buffer::new().format(*self).as_bytes())
            }
        }
    )*};
}

integers!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

/// `chrono`'s text of a date (`2017-01-31`; a year outside 0–9999 signed, `+10000-01-01`),
/// which its `Serialize` writes.
#[cfg(feature = "chrono")]
impl sealed::Sealed for chrono::NaiveDate {}
#[cfg(feature = "chrono")]
impl Scalar for chrono::NaiveDate {
    fn write(&self, out: TextOut<'_>) -> bool {
        use chrono::Datelike;
        let year = self.year();
        if !(0..=9999).contains(&year) {
            return signed_year_date(self, out);
        }
        let digits = |n: u32| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
        let (year, month, day) = (year as u32, self.month(), self.day());
        let [c, y] = digits(year / 100);
        let [d, z] = digits(year % 100);
        let [m1, m2] = digits(month);
        let [d1, d2] = digits(day);
        out.digits(&[c, y, d, z, b'-', m1, m2, b'-', d1, d2])
    }
}

/// A date whose year has a sign, as `chrono` writes it: out of line, as it is rare.
#[cfg(feature = "chrono")]
#[cold]
#[inline(never)]
fn signed_year_date(date: &chrono::NaiveDate, out: TextOut<'_>) -> bool {
    out.text(&format!("{date:?}"))
}

/// An argument as generated code hands it to [`PickText`] / [`PickSerde`].
pub struct Arg<'a, T: ?Sized>(pub &'a T);

/// The way of an argument with a [`Scalar`] text.
pub struct ByText;

/// The way of any other argument: serde.
pub struct BySerde;

/// Picks [`ByText`] for an argument of a [`Scalar`] type.
pub trait PickText {
    /// The way to write the argument.
    fn __oauth2_api_pick(&self) -> ByText {
        ByText
    }
}

impl<T: Scalar + ?Sized> PickText for Arg<'_, T> {}

/// Picks [`BySerde`] for every other argument.
pub trait PickSerde {
    /// The way to write the argument.
    fn __oauth2_api_pick(&self) -> BySerde {
        BySerde
    }
}

impl<T: ?Sized> PickSerde for &Arg<'_, T> {}

impl ByText {
    /// [`Request::path_param`] for a scalar.
    #[inline]
    pub fn path_param<T: Scalar + ?Sized>(self, request: &mut Request, argument: &str, value: &T) {
        request.path_text(argument, |path| value.write(TextOut::path(path)));
    }

    /// [`Request::query`] for a scalar.
    #[inline]
    pub fn query<T: Scalar + ?Sized>(
        self,
        request: &mut Request,
        _argument: &str,
        name: &str,
        value: &T,
    ) {
        request.query_text(name, |query| value.write(TextOut::query(query)));
    }
}

impl BySerde {
    /// [`Request::path_param`].
    #[inline]
    pub fn path_param<T: Serialize + ?Sized>(
        self,
        request: &mut Request,
        argument: &str,
        value: &T,
    ) {
        request.path_param(argument, value);
    }

    /// [`Request::query`].
    #[inline]
    pub fn query<T: Serialize + ?Sized>(
        self,
        request: &mut Request,
        argument: &str,
        name: &str,
        value: &T,
    ) {
        request.query(argument, name, value);
    }
}

#[cfg(test)]
#[allow(
    clippy::needless_borrow,
    reason = "written as generated code writes it, where the type is not known"
)]
mod tests {
    use std::borrow::Cow;

    use serde::Serialize;

    use super::{PickSerde as _, PickText as _, Scalar};
    use crate::call::request::{Endpoint, Request};
    use crate::http::Method;
    use crate::scope::ScopeSet;

    static ENDPOINT: Endpoint = Endpoint {
        name: "scalars",
        method: Method::Get,
        scopes: ScopeSet::EMPTY,
        authorize_scopes: ScopeSet::EMPTY,
        headers: &[],
        base_url: None,
    };

    /// The path, query and error a request gets from `value`, written one way or the other.
    fn written(value: &dyn Fn(&mut Request)) -> (String, String, Option<String>) {
        let mut request = Request::new(&ENDPOINT);
        request.path("/x/");
        value(&mut request);
        let error = request.error.take().map(|e| e.to_string());
        let query = request.out.query.as_str().to_owned();
        (std::mem::take(&mut request.out.path), query, error)
    }

    /// `value` as a path segment and a query value, by its own text and through serde:
    /// the same request either way.
    fn same_as_serde<T: Scalar + Serialize + ?Sized>(value: &T) {
        let by_text = written(&|r| {
            (&super::Arg(value))
                .__oauth2_api_pick()
                .path_param(r, "segment", value);
            (&super::Arg(value))
                .__oauth2_api_pick()
                .query(r, "value", "v", value);
        });
        let by_serde = written(&|r| {
            r.path_param("segment", value);
            r.query("value", "v", value);
        });
        assert_eq!(by_text, by_serde);
    }

    #[test]
    fn strings_are_written_as_serde_writes_them() {
        for text in [
            "plain",
            "a b/c?d#e&f=g+h%",
            ".",
            "..",
            "...",
            "",
            "é✓ 𝄞",
            "\t\r\n",
        ] {
            same_as_serde(text);
            same_as_serde(&text);
            same_as_serde(&text.to_owned());
            same_as_serde(&Cow::Borrowed(text));
            same_as_serde(&Some(text));
        }
        same_as_serde(&Option::<&str>::None);
        same_as_serde(&Option::<String>::None);
    }

    #[test]
    fn numbers_booleans_and_characters_are_written_as_serde_writes_them() {
        same_as_serde(&0u8);
        same_as_serde(&u128::MAX);
        same_as_serde(&i128::MIN);
        same_as_serde(&-1i32);
        same_as_serde(&usize::MAX);
        same_as_serde(&isize::MIN);
        same_as_serde(&Some(42u64));
        same_as_serde(&Option::<u64>::None);
        same_as_serde(&true);
        same_as_serde(&false);
        for c in ['a', ' ', '/', '+', '.', 'é', '𝄞'] {
            same_as_serde(&c);
        }
    }

    /// Every year chrono has at the edges, and a few days of every month: the same text
    /// as chrono's own `Serialize`, signed years included.
    #[cfg(feature = "chrono")]
    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        use chrono::NaiveDate;
        let mut dates = vec![NaiveDate::MIN, NaiveDate::MAX];
        for year in (-10_001..=-9_990).chain(-101..=101).chain(9_990..=10_001) {
            dates.extend(NaiveDate::from_ymd_opt(year, 1, 1));
        }
        for month in 1..=12 {
            for day in [1, 9, 10, 28, 29, 30, 31] {
                dates.extend(NaiveDate::from_ymd_opt(2024, month, day));
            }
        }
        // Every day of years leap and not, by every rule (4, 100, 400).
        for year in [
            0, 1, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 2400, 9996, 9999,
        ] {
            dates.extend((1..=366).filter_map(|day| NaiveDate::from_yo_opt(year, day)));
        }
        for date in &dates {
            same_as_serde(date);
            same_as_serde(&Some(*date));
        }
        let (path, query, _) = written(&|r| {
            let date = NaiveDate::from_ymd_opt(2017, 12, 31).unwrap();
            (&super::Arg(&date))
                .__oauth2_api_pick()
                .query(r, "to", "to", &date);
        });
        assert_eq!((path.as_str(), query.as_str()), ("/x/", "to=2017-12-31"));
    }

    /// A segment with no text, or an empty one, is refused by the argument's name and
    /// leaves nothing in the path; a query value with none is left out.
    #[test]
    fn a_missing_or_empty_scalar_is_refused_in_a_path_and_left_out_of_a_query() {
        for (value, message) in [
            (None, "a path segment needs exactly one value"),
            (Some(""), "a path segment cannot be empty"),
        ] {
            let (path, query, error) = written(&|r| {
                (&super::Arg(&value))
                    .__oauth2_api_pick()
                    .path_param(r, "id", &value);
                (&super::Arg(&value))
                    .__oauth2_api_pick()
                    .query(r, "q", "q", &value);
            });
            assert_eq!(path, "/x/");
            let error = error.expect("refused");
            assert!(error.contains("`id`") && error.contains(message), "{error}");
            let expected = if value.is_some() { "q=" } else { "" };
            assert_eq!(query, expected);
        }
    }

    /// A type of the application's is written through serde, whatever it looks like.
    #[test]
    fn other_types_go_through_serde() {
        #[derive(Serialize)]
        #[serde(transparent)]
        struct Vrn(String);
        #[derive(Serialize)]
        enum Status {
            #[serde(rename = "O")]
            Open,
        }
        let (path, query, error) = written(&|r| {
            let (vrn, status) = (Vrn("12 3".to_owned()), Some(Status::Open));
            (&super::Arg(&vrn))
                .__oauth2_api_pick()
                .path_param(r, "vrn", &vrn);
            (&super::Arg(&status))
                .__oauth2_api_pick()
                .query(r, "status", "status", &status);
        });
        assert_eq!(
            (path.as_str(), query.as_str(), error),
            ("/x/12%203", "status=O", None)
        );
    }
}
