//! Building a declared endpoint's request from the method's arguments, and the call
//! generated code makes (reached through `__private`).

use percent_encoding::utf8_percent_encode;
use serde::Serialize;
use serde_json::Value;

use crate::call::Outgoing;
use crate::call::text::{NOT_SCALAR, Refusal, Text, each_text};
use crate::error::Error;
use crate::http::{Method, UNRESERVED, is_unreserved};
use crate::runtime::Runtime;
use crate::scope::ScopeSet;
use crate::user::UserRef;

/// A declared endpoint, as a `static` in the generated method.
#[derive(Debug)]
pub struct Endpoint {
    /// The method's name.
    pub name: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The scopes the token must cover.
    pub scopes: ScopeSet,
    /// The scopes to ask a person for: every scope of the API for this user type.
    pub authorize_scopes: ScopeSet,
    /// Fixed headers of this endpoint.
    pub headers: &'static [(&'static str, &'static str)],
    /// The name of the environment's base URL it is sent to, if not the environment's own.
    pub base_url: Option<&'static str>,
}

/// A request being assembled from the method's arguments.
#[derive(Debug)]
pub struct Request {
    pub(crate) out: Outgoing,
    /// The first argument refused. Boxed: the request is part of every call's future.
    pub(crate) error: Option<Box<Error>>,
}

impl Request {
    /// A request for `endpoint`.
    pub fn new(endpoint: &'static Endpoint) -> Self {
        Self {
            out: Outgoing::declared(endpoint, super::spare::take()),
            error: None,
        }
    }

    fn fail(&mut self, argument: &str, message: String) {
        let endpoint = self.out.endpoint();
        self.error.get_or_insert_with(|| {
            Box::new(Error::InvalidArgument {
                endpoint: endpoint.to_owned(),
                argument: argument.to_owned(),
                message,
            })
        });
    }

    /// A fixed part of the path.
    pub fn path(&mut self, part: &str) {
        self.out.path.push_str(part);
    }

    /// A `{segment}` of the path, percent-encoded.
    pub fn path_param<T: Serialize + ?Sized>(&mut self, argument: &str, value: &T) {
        let path = &mut self.out.path;
        let start = path.len();
        let mut count = 0;
        let written = each_text(value, &mut |segment| {
            count += 1;
            if count == 1 {
                push_segment(path, &segment.as_str()?);
            }
            Ok(())
        });
        let problem = match written {
            Err(refusal) => refusal.to_string(),
            Ok(()) if count != 1 => NOT_ONE_SEGMENT.to_owned(),
            Ok(()) if path.len() == start => EMPTY_SEGMENT.to_owned(),
            Ok(()) => return,
        };
        path.truncate(start);
        self.fail(argument, problem);
    }

    /// A `{segment}` of the path written by a [`Scalar`](super::scalar::Scalar), which
    /// says whether it had a text.
    pub(crate) fn path_text(&mut self, argument: &str, write: impl FnOnce(&mut String) -> bool) {
        let path = &mut self.out.path;
        let start = path.len();
        let problem = match write(path) {
            false => NOT_ONE_SEGMENT,
            true if path.len() == start => EMPTY_SEGMENT,
            true => return,
        };
        path.truncate(start);
        self.fail(argument, problem.to_owned());
    }

    /// The query parameter `name` written by a [`Scalar`](super::scalar::Scalar), left
    /// out when it had no text.
    pub(crate) fn query_text(&mut self, name: &str, write: impl FnOnce(&mut String) -> bool) {
        self.out.query.push_with(name, write);
    }

    /// A query parameter; `None` is left out, a sequence repeats the parameter, and a
    /// struct (or map) is flattened: each field is a parameter under its serde name (the
    /// argument's own name is not sent), `None` fields left out, in the order of their
    /// names (servers do not depend on the order of query parameters).
    pub fn query<T: Serialize + ?Sized>(&mut self, argument: &str, name: &str, value: &T) {
        let query = &mut self.out.query;
        let start = query.mark();
        let pushed = each_text(value, &mut |text| match text {
            Text::Str(text) => {
                query.push(name, text);
                Ok(())
            }
            Text::Shown(value) => query.push_shown(name, value),
        });
        match pushed {
            Ok(()) => {}
            Err(Refusal::Fields) => self.query_fields(argument, value),
            Err(refusal) => {
                self.out.query.truncate(start);
                self.fail(argument, refusal.to_string());
            }
        }
    }

    /// A struct's (or map's) fields, each a parameter.
    fn query_fields<T: Serialize + ?Sized>(&mut self, argument: &str, value: &T) {
        let value = match serde_json::to_value(value) {
            Ok(value) => value,
            Err(e) => return self.fail(argument, format!("does not serialize: {e}")),
        };
        let Value::Object(fields) = value else {
            return self.fail(argument, NOT_SCALAR.to_owned());
        };
        for (field, value) in fields {
            if matches!(value, Value::Object(_)) {
                let message = format!(
                    "field `{field}` is a struct: a query parameter takes scalars or sequences of them"
                );
                return self.fail(argument, message);
            }
            self.query_value(argument, &field, value);
        }
    }

    fn query_value(&mut self, argument: &str, name: &str, value: Value) {
        let query = &mut self.out.query;
        let pushed = each_scalar(value, |v| query.push(name, &v));
        if let Err(message) = pushed {
            self.fail(argument, message);
        }
    }

    /// A header; `None` is left out.
    pub fn header<T: Serialize + ?Sized>(&mut self, argument: &str, name: &str, value: &T) {
        let headers = &mut self.out.headers;
        let start = headers.len();
        let pushed = each_text(value, &mut |text| {
            headers.push((name.to_owned().into(), text.as_str()?.into_owned().into()));
            Ok(())
        });
        let problem = match pushed {
            Err(refusal) => refusal.to_string(),
            Ok(())
                if (self.out.headers[start..].iter())
                    .any(|(_, v)| http::HeaderValue::from_str(v).is_err()) =>
            {
                super::build::NOT_A_HEADER_VALUE.to_owned()
            }
            Ok(()) => return,
        };
        self.out.headers.truncate(start);
        self.fail(argument, problem);
    }

    /// The JSON body.
    pub fn body<T: Serialize + ?Sized>(&mut self, argument: &str, value: &T) {
        match serde_json::to_vec(value) {
            Ok(body) => self.out.body = Some(body),
            Err(e) => self.fail(argument, format!("does not serialize to JSON: {e}")),
        }
    }
}

const NOT_ONE_SEGMENT: &str = "a path segment needs exactly one value";
const EMPTY_SEGMENT: &str = "a path segment cannot be empty";
pub(crate) const DOT_SEGMENT: &str = "a path segment cannot be `.` or `..`: a URL resolves it \
     away, encoded or not, and the request would go to another path";

/// Whether `segment` is `.` or `..`, written plainly or percent-encoded: URL parsing
/// (WHATWG) resolves `%2e%2e` as it does `..`.
pub(crate) fn is_dot_segment(segment: &str) -> bool {
    let dot = |part: &str| part == "." || part.eq_ignore_ascii_case("%2e");
    // All ASCII, so that the cuts below fall between characters.
    if !segment.is_ascii() {
        return false;
    }
    match segment.len() {
        1 | 3 => dot(segment),
        2 => segment == "..",
        4 => dot(&segment[..1]) && dot(&segment[1..]) || dot(&segment[..3]) && dot(&segment[3..]),
        6 => dot(&segment[..3]) && dot(&segment[3..]),
        _ => false,
    }
}

/// Appends the path segment `text`, percent-encoded.
pub(crate) fn push_segment(path: &mut String, text: &str) {
    match text {
        // Written encoded, as `url` would; a URL resolves them either way, so a path with
        // such a segment is refused when its URL is built (`target`).
        dots @ ("." | "..") => path.push_str(&dots.replace('.', "%2E")),
        plain if plain.bytes().all(is_unreserved) => path.push_str(plain),
        segment => path.extend(utf8_percent_encode(segment, UNRESERVED)),
    }
}

/// Hands each string a struct field's value sends to `sink`: itself if a scalar, each
/// item if a sequence, nothing for `None`.
fn each_scalar(value: Value, mut sink: impl FnMut(String)) -> Result<(), String> {
    let mut one = |v: Value| {
        match v {
            Value::String(s) => sink(s),
            Value::Number(n) => sink(n.to_string()),
            Value::Bool(b) => sink(b.to_string()),
            Value::Null => {}
            Value::Array(_) | Value::Object(_) => return Err(NOT_SCALAR.to_owned()),
        }
        Ok(())
    };
    match value {
        Value::Array(items) => items.into_iter().try_for_each(one),
        v => one(v),
    }
}

/// How a declared method's result is made: its answer type's decoding, its error type's
/// conversion. Function pointers, not trait bounds on [`call`]: a type that cannot be an
/// answer (or an error) is then refused once, where generated code names the function
/// (spanned on the declared type), rather than again on the method's future.
pub type Decode<T> = fn(crate::RawResponse, &str) -> Result<T, Error>;

/// Sends the request for `user`, decodes a successful answer with `decode`, and converts
/// an error with `convert` (the declared method's error type).
///
/// Not an `async fn`, and the generated method is not one either (it builds the request
/// and returns this future): each level of `async fn` holds its arguments in a state of
/// its own, and its future is copied whole into its parent's on every call.
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` holds the request twice"
)]
pub fn call<'a, T: 'a, E: 'a>(
    runtime: &'a Runtime,
    user: UserRef,
    mut request: Request,
    decode: Decode<T>,
    convert: fn(Error) -> E,
) -> impl Future<Output = Result<T, E>> + Send + 'a {
    async move {
        if let Some(error) = request.error.take() {
            return Err(convert(*error));
        }
        // `Runtime::send`'s lines, not a call to it: one future less to build and move.
        // The session is found when the call is first polled, not when it is made: a call
        // awaited later uses the token of that moment.
        let out = &request.out;
        // Each wait below holds only what comes after it: a value matched on stays in the
        // future's state while an arm awaits, on every path.
        let ready = match runtime.common_call(user, out) {
            Ok(ready) => ready,
            Err(general) => return finish(runtime, &request, general.await, decode, convert),
        };
        let first = match (runtime.send_once(&ready.key, Some(&ready.usable.bearer), out)).await {
            Ok(first) => first,
            Err(error) => return Err(convert(error)),
        };
        if runtime.is_final(out, &first) {
            return finish(runtime, &request, Ok(first), decode, convert);
        }
        let more = runtime.follow_up(&ready, out, first);
        finish(runtime, &request, more.await, decode, convert)
    }
}

/// Sends the request with no token (an open endpoint); the rest as [`call`].
pub async fn call_open<T, E>(
    runtime: &Runtime,
    request: Request,
    decode: Decode<T>,
    convert: fn(Error) -> E,
) -> Result<T, E> {
    if let Some(error) = request.error {
        return Err(convert(*error));
    }
    let answer = runtime.send_open(&request.out).await;
    finish(runtime, &request, answer, decode, convert)
}

/// The call's result from the API's `answer`: a success decoded, an error converted.
fn finish<T, E>(
    runtime: &Runtime,
    request: &Request,
    answer: Result<crate::RawResponse, Error>,
    decode: Decode<T>,
    convert: fn(Error) -> E,
) -> Result<T, E> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => return Err(convert(error)),
    };
    let endpoint = request.out.endpoint();
    let decoded = match answer.is_success() {
        true => decode(answer, endpoint),
        false => Err(runtime.decode_error(&answer, endpoint).into()),
    };
    decoded.map_err(convert)
}

#[cfg(test)]
mod tests {
    use super::*;

    static ENDPOINT: Endpoint = Endpoint {
        name: "view_return",
        method: Method::Get,
        scopes: ScopeSet::declared(&["read:vat"]),
        authorize_scopes: ScopeSet::declared(&["read:vat"]),
        headers: &[("Accept", "application/vnd.hmrc.1.0+json")],
        base_url: None,
    };

    #[test]
    fn path_segments_are_percent_encoded() {
        let mut r = Request::new(&ENDPOINT);
        r.path("/returns/");
        r.path_param("period_key", "#001/a b?");
        assert_eq!(r.out.path, "/returns/%23001%2Fa%20b%3F");
        assert!(r.error.is_none());
        r.path_param("none", &Option::<u8>::None);
        assert!(
            matches!(r.error.as_deref(), Some(Error::InvalidArgument { argument, .. }) if argument == "none")
        );
    }

    /// `.` and `..` are written encoded (`%2E`), and [`is_dot_segment`] finds them however
    /// they are written: the URL they would be sent to is refused (see `target`).
    #[test]
    fn dot_segments_are_found_however_written() {
        let mut r = Request::new(&ENDPOINT);
        r.path("/repos/");
        r.path_param("repo", "..");
        assert_eq!(
            (r.out.path.as_str(), r.error.is_none()),
            ("/repos/%2E%2E", true)
        );
        // A value that merely looks encoded is sent as what it is (`%252e`).
        r.path_param("more", "%2e%2E");
        assert!(r.out.path.ends_with("%2E%2E%252e%252E"));
        for fine in [
            "...",
            "a.",
            ".a",
            "%2e%2e%2e",
            "%2",
            "é.",
            ".é",
            "%252e",
            "",
            "é..",
            "..é",
            "é%2e",
            "%2eé",
        ] {
            assert!(!is_dot_segment(fine), "{fine}");
        }
        for dots in ["%2E%2E", "..", ".%2e", "%2e.", "%2E", "."] {
            assert!(is_dot_segment(dots), "{dots}");
        }
    }

    #[test]
    fn query_values_follow_serde() {
        #[derive(Serialize)]
        enum Status {
            #[serde(rename = "O")]
            Open,
        }
        let mut r = Request::new(&ENDPOINT);
        r.query("from", "from", "2017-01-01");
        r.query("status", "status", &Some(Status::Open));
        r.query("none", "none", &Option::<Status>::None);
        r.query("ids", "id", &[1, 2]);
        r.query("flag", "flag", &true);
        assert_eq!(
            r.out.query.as_str(),
            "from=2017-01-01&status=O&id=1&id=2&flag=true"
        );
        #[derive(Serialize)]
        struct Nested {
            a: u8,
        }
        r.query("nested", "nested", &[Nested { a: 1 }]);
        assert!(r.error.is_some());
    }

    /// A value whose `Display` fails is refused wherever it goes, and leaves nothing of
    /// itself in the request.
    #[test]
    fn a_failing_display_leaves_nothing_behind() {
        struct Failing;
        impl Serialize for Failing {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                struct Fails;
                impl std::fmt::Display for Fails {
                    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("half")?;
                        Err(std::fmt::Error)
                    }
                }
                s.collect_str(&Fails)
            }
        }
        let mut r = Request::new(&ENDPOINT);
        r.path("/x/");
        r.query("from", "from", "2017-01-01");
        r.query("bad", "bad", &Failing);
        r.path_param("bad_segment", &Failing);
        r.header("bad_header", "X-Bad", &Failing);
        assert_eq!(r.out.query.as_str(), "from=2017-01-01");
        assert_eq!(r.out.path, "/x/");
        assert_eq!(r.out.all_headers().count(), ENDPOINT.headers.len());
        assert!(
            matches!(r.error.as_deref(), Some(Error::InvalidArgument { argument, .. }) if argument == "bad")
        );
    }

    /// A header argument that cannot be a header's value is refused by the argument's
    /// name, not sent (a line break would start a header of the caller's choosing).
    #[test]
    fn a_header_argument_with_a_line_break_is_refused() {
        let mut r = Request::new(&ENDPOINT);
        r.header("note", "X-Note", "fine");
        r.header("scenario", "X-Scenario", &["ok", "a\r\nX-Injected: 1"]);
        let sent: Vec<&str> = r.out.all_headers().map(|(_, v)| v).collect();
        assert_eq!(sent[ENDPOINT.headers.len()..], ["fine"]);
        let Some(Error::InvalidArgument {
            argument, message, ..
        }) = r.error.as_deref()
        else {
            panic!("expected InvalidArgument, got {:?}", r.error);
        };
        assert_eq!(
            (argument.as_str(), message.as_str()),
            ("scenario", super::super::build::NOT_A_HEADER_VALUE)
        );
    }

    /// An enum variant with data is a JSON object: its variant names the parameter.
    #[test]
    fn a_query_variant_with_data_is_a_parameter_of_its_name() {
        #[derive(Serialize)]
        enum Shape {
            Circle(u8),
            Pair(u8, u8),
        }
        let mut r = Request::new(&ENDPOINT);
        r.query("shape", "shape", &Shape::Circle(1));
        r.query("pair", "pair", &Some(Shape::Pair(2, 3)));
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.out.query.as_str(), "Circle=1&Pair=2&Pair=3");
    }

    #[test]
    fn struct_query_arguments_are_flattened() {
        #[derive(Serialize)]
        struct Filter<'a> {
            #[serde(rename = "where")]
            condition: &'a str,
            page: Option<u32>,
            ids: Vec<u8>,
            skipped: Option<u8>,
        }
        let mut r = Request::new(&ENDPOINT);
        let filter = Filter {
            condition: "Status==\"PAID\"",
            page: Some(2),
            ids: vec![1, 2],
            skipped: None,
        };
        r.query("filter", "filter", &filter);
        assert!(r.error.is_none());
        let sent: Vec<(String, String)> = (r.out.query.pairs())
            .map(|(a, b)| (a.into_owned(), b.into_owned()))
            .collect();
        let expected = [("ids", "1"), ("ids", "2"), ("page", "2")];
        let expected = (expected.iter().map(|(a, b)| (a.to_string(), b.to_string())))
            .chain([("where".to_owned(), "Status==\"PAID\"".to_owned())]);
        assert_eq!(sent, expected.collect::<Vec<_>>());
        #[derive(Serialize)]
        struct Deep {
            inner: Filter<'static>,
        }
        let deep = Deep {
            inner: Filter {
                condition: "",
                page: None,
                ids: Vec::new(),
                skipped: None,
            },
        };
        r.query("deep", "deep", &deep);
        let message = r.error.expect("a nested struct is refused").to_string();
        assert!(message.contains("`inner` is a struct"), "{message}");
    }
}
