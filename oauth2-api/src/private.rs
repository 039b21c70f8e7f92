//! What generated code calls. Not a public API: it changes without notice.

pub use crate::call::pages::{PageDecode, PageStyle, Paginate, page_items, pages};
pub use crate::call::request::{Decode, Endpoint, Request, call, call_open};
pub use crate::call::scalar::{Arg, BySerde, ByText, PickSerde, PickText, Scalar, TextOut};

/// The parts of a declared return type, `Result<T, E>` or an alias of one: the
/// paginated methods name `E` through it.
pub trait Declared {
    /// `E`.
    type Err;
}

impl<T, E> Declared for Result<T, E> {
    type Err = E;
}
pub use crate::http::Method;
pub use crate::scope::ScopeSet;

/// Entry points of the fuzz targets (`fuzz/`): the parsers that meet untrusted input.
pub mod fuzz {
    use super::{Endpoint, Method, Request};

    static FUZZ: Endpoint = Endpoint {
        name: "fuzz",
        method: Method::Get,
        scopes: crate::scope::ScopeSet::EMPTY,
        authorize_scopes: crate::scope::ScopeSet::EMPTY,
        headers: &[],
        base_url: None,
    };

    /// A token endpoint's answer, normalised then decoded as `oauth2` does. Never panics.
    pub fn token_answer(body: &[u8]) -> bool {
        let Ok(json) = serde_json::from_slice(body) else {
            return false;
        };
        let normalised = crate::oauth::token_http::normalise_token_answer(json);
        serde_json::from_value::<oauth2::basic::BasicTokenResponse>(normalised).is_ok()
    }

    /// A path segment as generated code renders it; `None` when refused.
    pub fn path_segment(value: &str) -> Option<String> {
        let mut request = Request::new(&FUZZ);
        request.path_param("value", value);
        request
            .error
            .is_none()
            .then(|| std::mem::take(&mut request.out.path))
    }
}
