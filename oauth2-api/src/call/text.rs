//! A value's text as a path segment, a query value or a header sends it. Serde is the one
//! description of a value's wire form (a `NaiveDate`, an enum's `#[serde(rename)]`); this
//! serializer hands each scalar's text straight to the request, without building a
//! `serde_json::Value` and copying out of it on every call.

use std::borrow::Cow;
use std::fmt::{self, Display};

use serde::Serialize;
use serde::ser::{self, Impossible};

pub(crate) const NOT_SCALAR: &str =
    "is not a scalar (a string, number, boolean or unit enum variant)";

/// Why a value has no text of its own.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A struct or a map: for a query, its fields are the parameters.
    Fields,
    /// What is wrong with it, as the end of a sentence naming the argument.
    Message(String),
}

impl Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Fields => f.write_str(NOT_SCALAR),
            Refusal::Message(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Refusal {}

impl ser::Error for Refusal {
    fn custom<T: Display>(message: T) -> Self {
        Refusal::Message(format!("does not serialize: {message}"))
    }
}

fn not_scalar() -> Refusal {
    Refusal::Message(NOT_SCALAR.to_owned())
}

/// Hands each text `value` sends to `sink`: itself if a scalar, each item of a sequence,
/// nothing for `None`, unit or a non-finite float (as JSON has no text for them). The
/// sink's error is a `Display` that failed.
pub(crate) fn each_text<T: Serialize + ?Sized>(
    value: &T,
    sink: &mut dyn FnMut(Text<'_>) -> fmt::Result,
) -> Result<(), Refusal> {
    value.serialize(Texts {
        sink,
        in_sequence: false,
    })
}

/// One text of a value: a string, or a value's `Display` (a date's), which a sink writes
/// where the text goes rather than into a string of its own first.
#[derive(Clone, Copy)]
pub(crate) enum Text<'a> {
    Str(&'a str),
    Shown(&'a dyn Display),
}

impl Text<'_> {
    /// The text as one string; the error of a `Display` that failed.
    pub(crate) fn as_str(&self) -> Result<Cow<'_, str>, fmt::Error> {
        match self {
            Text::Str(text) => Ok(Cow::Borrowed(text)),
            Text::Shown(value) => {
                let mut text = String::new();
                fmt::Write::write_fmt(&mut text, format_args!("{value}"))?;
                Ok(Cow::Owned(text))
            }
        }
    }
}

struct Texts<'a> {
    sink: &'a mut dyn FnMut(Text<'_>) -> fmt::Result,
    /// Items of a sequence must be scalars themselves.
    in_sequence: bool,
}

impl Texts<'_> {
    /// What JSON writes as an object (a struct, a map, an enum variant with data): for a
    /// query, parameters of its own (the old `serde_json::Value` reading, kept); inside a
    /// sequence, not a scalar.
    fn object(&self) -> Refusal {
        match self.in_sequence {
            true => not_scalar(),
            false => Refusal::Fields,
        }
    }

    fn give(&mut self, text: Text<'_>) -> Result<(), Refusal> {
        (self.sink)(text).map_err(ser::Error::custom)
    }

    fn str(mut self, text: &str) -> Result<(), Refusal> {
        self.give(Text::Str(text))
    }

    fn integer(self, value: impl itoa::Integer) -> Result<(), Refusal> {
        self.str(itoa::Buffer::new().format(value))
    }

    /// Floats are written as `serde_json` writes them, the form these values had before.
    fn float(self, value: impl Serialize) -> Result<(), Refusal> {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::Number(n)) => self.str(&n.to_string()),
            Ok(_) => Ok(()),
            Err(e) => Err(ser::Error::custom(e)),
        }
    }
}

macro_rules! integers {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, value: $ty) -> Result<(), Refusal> {
            self.integer(value)
        })*
    };
}

impl<'a> ser::Serializer for Texts<'a> {
    type Ok = ();
    type Error = Refusal;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Impossible<(), Refusal>;
    type SerializeMap = Impossible<(), Refusal>;
    type SerializeStruct = JsonText<'a>;
    type SerializeStructVariant = Impossible<(), Refusal>;

    integers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128);

    fn serialize_bool(self, value: bool) -> Result<(), Refusal> {
        self.str(if value { "true" } else { "false" })
    }

    fn serialize_f32(self, value: f32) -> Result<(), Refusal> {
        self.float(value)
    }

    fn serialize_f64(self, value: f64) -> Result<(), Refusal> {
        self.float(value)
    }

    fn serialize_char(self, value: char) -> Result<(), Refusal> {
        self.str(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<(), Refusal> {
        self.str(value)
    }

    fn serialize_bytes(mut self, value: &[u8]) -> Result<(), Refusal> {
        if self.in_sequence {
            return Err(not_scalar());
        }
        (value.iter()).try_for_each(|b| self.give(Text::Str(itoa::Buffer::new().format(*b))))
    }

    fn serialize_none(self) -> Result<(), Refusal> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Refusal> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Refusal> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Refusal> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Refusal> {
        self.str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Refusal> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Refusal> {
        Err(self.object())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Refusal> {
        match self.in_sequence {
            true => Err(not_scalar()),
            false => Ok(self),
        }
    }

    fn serialize_tuple(self, len: usize) -> Result<Self, Refusal> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Self, Refusal> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Refusal> {
        Err(self.object())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Refusal> {
        Err(self.object())
    }

    fn serialize_struct(
        self,
        name: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Refusal> {
        match name {
            JSON_NUMBER | JSON_RAW => Ok(JsonText {
                raw: name == JSON_RAW,
                texts: self,
            }),
            _ => Err(self.object()),
        }
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Refusal> {
        Err(self.object())
    }

    fn collect_str<T: Display + ?Sized>(mut self, value: &T) -> Result<(), Refusal> {
        self.give(Text::Shown(&value))
    }
}

/// serde_json's own number and raw value, as a serializer sees them where any crate of
/// the build turns on serde_json's `arbitrary_precision` or `raw_value` feature: a struct
/// of one field holding the JSON text.
const JSON_NUMBER: &str = "$serde_json::private::Number";
const JSON_RAW: &str = "$serde_json::private::RawValue";

/// The text of a [`JSON_NUMBER`] as it is; that of a [`JSON_RAW`] read as the JSON it is.
pub(crate) struct JsonText<'a> {
    texts: Texts<'a>,
    raw: bool,
}

impl ser::SerializeStruct for JsonText<'_> {
    type Ok = ();
    type Error = Refusal;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Refusal> {
        let text = match serde_json::to_value(value) {
            Ok(serde_json::Value::String(text)) => text,
            Ok(_) => return Err(not_scalar()),
            Err(e) => return Err(ser::Error::custom(e)),
        };
        let texts = Texts {
            sink: &mut *self.texts.sink,
            in_sequence: self.texts.in_sequence,
        };
        if !self.raw {
            return texts.str(&text);
        }
        let json: serde_json::Value = serde_json::from_str(&text).map_err(ser::Error::custom)?;
        json.serialize(texts)
    }

    fn end(self) -> Result<(), Refusal> {
        Ok(())
    }
}

impl ser::SerializeSeq for Texts<'_> {
    type Ok = ();
    type Error = Refusal;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refusal> {
        value.serialize(Texts {
            sink: &mut *self.sink,
            in_sequence: true,
        })
    }

    fn end(self) -> Result<(), Refusal> {
        Ok(())
    }
}

impl ser::SerializeTuple for Texts<'_> {
    type Ok = ();
    type Error = Refusal;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refusal> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Refusal> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Texts<'_> {
    type Ok = ();
    type Error = Refusal;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refusal> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Refusal> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<T: Serialize + ?Sized>(value: &T) -> Result<Vec<String>, String> {
        let mut all = Vec::new();
        let mut sink = |t: Text<'_>| {
            all.push(t.as_str()?.into_owned());
            Ok(())
        };
        each_text(value, &mut sink).map_err(|e| e.to_string())?;
        Ok(all)
    }

    /// The texts `serde_json::Value` gives, the form these values had before.
    fn as_json<T: Serialize + ?Sized>(value: &T) -> Vec<String> {
        let one = |v: serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        };
        match serde_json::to_value(value).unwrap() {
            serde_json::Value::Array(items) => items.into_iter().filter_map(one).collect(),
            v => one(v).into_iter().collect(),
        }
    }

    #[test]
    fn scalars_read_as_json_writes_them() {
        #[derive(Serialize)]
        enum Status {
            #[serde(rename = "O")]
            Open,
        }
        #[derive(Serialize)]
        struct Vrn(u64);
        /// Written with `collect_str`, as `chrono` writes a date.
        struct Date;
        impl Serialize for Date {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("{}-{:02}-{:02}", 2017, 1, 31))
            }
        }
        let date = Date;
        macro_rules! same {
            ($($value:expr),*) => {$(
                assert_eq!(texts(&$value).unwrap(), as_json(&$value), "{}", stringify!($value));
            )*};
        }
        same!(
            "a b/ü",
            'é',
            true,
            -7i8,
            u64::MAX,
            i64::MIN,
            1.5f64,
            0.1f32,
            1e300f64,
            f64::NAN,
            f64::INFINITY,
            Status::Open,
            Some(Status::Open),
            Option::<u8>::None,
            (),
            Vrn(42),
            date,
            vec![Some(1), None, Some(3)],
            (1, "two"),
            [true, false],
            Vec::<u8>::new()
        );
    }

    /// A `Display` that fails is refused, not sent cut short.
    #[test]
    fn a_failing_display_is_refused() {
        struct Failing;
        impl Serialize for Failing {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                struct Fails;
                impl Display for Fails {
                    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                        Err(fmt::Error)
                    }
                }
                s.collect_str(&Fails)
            }
        }
        let refused = texts(&Failing).unwrap_err();
        assert!(refused.starts_with("does not serialize"), "{refused}");
    }

    #[test]
    fn what_has_no_text_is_refused() {
        #[derive(Serialize)]
        enum Shape {
            Circle(u8),
            Square { side: u8 },
            Pair(u8, u8),
        }
        #[derive(Serialize)]
        struct Filter {
            page: u8,
        }
        let refused = |r: Result<Vec<String>, String>| r.unwrap_err();
        assert_eq!(refused(texts(&[[1]])), NOT_SCALAR);
        assert_eq!(refused(texts(&[Filter { page: 1 }])), NOT_SCALAR);
        assert_eq!(refused(texts(&[Shape::Circle(1)])), NOT_SCALAR);
        // JSON objects: a query makes parameters of their fields (as JSON reads them).
        let fields = |value: &dyn erased::Value| matches!(value.texts(), Err(Refusal::Fields));
        assert!(fields(&Filter { page: 1 }));
        assert!(fields(&Shape::Circle(1)) && fields(&Shape::Pair(1, 2)));
        assert!(fields(&Shape::Square { side: 1 }));
        let map: std::collections::BTreeMap<&str, u8> = [("a", 1)].into();
        assert!(fields(&map));
    }

    /// serde_json's number under `arbitrary_precision` and its raw value under
    /// `raw_value`, as any crate of a build may turn those on: written as they are.
    #[test]
    fn serde_json_numbers_and_raw_values_are_their_text() {
        struct Private(&'static str, &'static str);
        impl Serialize for Private {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeStruct;
                let mut fields = s.serialize_struct(self.0, 1)?;
                fields.serialize_field(self.0, self.1)?;
                fields.end()
            }
        }
        let number = Private(JSON_NUMBER, "123456789012345678901234567890.5");
        assert_eq!(
            texts(&number).unwrap(),
            ["123456789012345678901234567890.5"]
        );
        let in_list = [Private(JSON_NUMBER, "1"), Private(JSON_NUMBER, "2")];
        assert_eq!(texts(&in_list).unwrap(), ["1", "2"]);
        assert_eq!(texts(&Private(JSON_RAW, "\"abc\"")).unwrap(), ["abc"]);
        assert_eq!(
            texts(&Private(JSON_RAW, "[1, true]")).unwrap(),
            ["1", "true"]
        );
        assert!(matches!(
            each_text(&Private(JSON_RAW, "{\"a\": 1}"), &mut |_| Ok(())),
            Err(Refusal::Fields)
        ));
    }

    /// Values of several types behind one reference, for the checks above.
    mod erased {
        pub(super) trait Value {
            fn texts(&self) -> Result<(), super::Refusal>;
        }
        impl<T: super::Serialize> Value for T {
            fn texts(&self) -> Result<(), super::Refusal> {
                super::each_text(self, &mut |_| Ok(()))
            }
        }
    }
}
