//! What a declared endpoint's successful answer becomes: its decoded body, or the body
//! with the status and headers ([`Response`]).

use serde::de::DeserializeOwned;

use crate::error::Error;

use super::RawResponse;

/// A declared endpoint's answer with its status and headers: declare the endpoint as
/// returning `Result<Response<T>, Error>` to read a header (`ETag`, a rate-limit count,
/// `Location`) beside the decoded body.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Response<T> {
    /// The HTTP status (2xx: other statuses are errors).
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The decoded body.
    pub body: T,
}

impl<T> Response<T> {
    /// An answer, for fakes of a declared trait in tests.
    pub fn new(status: u16, headers: http::HeaderMap, body: T) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// A header's value, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The decoded body, without the status and headers.
    pub fn into_body(self) -> T {
        self.body
    }
}

/// What a declared endpoint can return as `T` of `Result<T, E>`: a type that decodes
/// from the JSON body (`()` for none), or [`Response<T>`] of one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something an endpoint can return",
    label = "an endpoint returns a decoded body or `Response<T>`",
    note = "return `Result<T, Error>` where `T` implements `serde::Deserialize` (`()` for no body), \
            or `Result<oauth2_api::Response<T>, Error>` for the status and headers too"
)]
pub trait FromAnswer: Sized {
    /// Makes the value from a successful answer of `endpoint`.
    #[doc(hidden)]
    fn from_answer(answer: RawResponse, endpoint: &str) -> Result<Self, Error>;
}

impl<T: DeserializeOwned> FromAnswer for T {
    fn from_answer(answer: RawResponse, endpoint: &str) -> Result<Self, Error> {
        answer.into_json(endpoint)
    }
}

impl<T: DeserializeOwned> FromAnswer for Response<T> {
    fn from_answer(answer: RawResponse, endpoint: &str) -> Result<Self, Error> {
        let body = answer.json(endpoint)?;
        Ok(Self {
            status: answer.status,
            headers: answer.headers,
            body,
        })
    }
}
