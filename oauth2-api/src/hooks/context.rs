//! Per-call facts for request hooks: a small type map.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Values for one call or one end user's requests (an IP address, a device id), read by
/// [`RequestHook`](crate::RequestHook)s. Attach it with [`Runtime::with_context`](crate::Runtime::with_context).
#[derive(Clone, Default)]
pub struct CallContext {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("values", &self.values.len())
            .finish()
    }
}

impl CallContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`, replacing a value of the same type.
    pub fn with<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// The value of type `T`, if one was added.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.values.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_holds_one_value_per_type() {
        #[derive(Debug, PartialEq)]
        struct Ip(&'static str);
        let ctx = CallContext::new()
            .with(Ip("198.51.100.1"))
            .with(Ip("203.0.113.9"));
        assert_eq!(ctx.get::<Ip>(), Some(&Ip("203.0.113.9")));
        assert_eq!(ctx.get::<u32>(), None);
    }
}
