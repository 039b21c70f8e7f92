//! Typed error bodies: an API's own error shape (`error_body = XeroError`), decoded from
//! each non-success answer and carried by its [`ApiError`](crate::ApiError), which hands
//! it out by type.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

/// A decoded error body: any `Debug` value, handed out by its type.
pub(crate) trait TypedBody: Any + fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + fmt::Debug + Send + Sync> TypedBody for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Decodes error bodies into a provider's declared type.
#[derive(Clone, Copy)]
pub(crate) struct ErrorBodyDecoder {
    decode: fn(&[u8]) -> Option<Arc<dyn TypedBody>>,
    type_name: &'static str,
}

impl ErrorBodyDecoder {
    pub(crate) fn of<T: DeserializeOwned + fmt::Debug + Send + Sync + 'static>() -> Self {
        Self {
            decode: |body| {
                let value: T = serde_json::from_slice(body).ok()?;
                Some(Arc::new(value))
            },
            type_name: std::any::type_name::<T>(),
        }
    }

    /// `body` as the declared type, when it has its shape.
    pub(crate) fn decode(&self, body: &[u8]) -> Option<Arc<dyn TypedBody>> {
        (self.decode)(body)
    }
}

impl fmt::Debug for ErrorBodyDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name)
    }
}
