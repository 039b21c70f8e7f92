//! Runnable examples of `oauth2-api`: the declarations, set-up and quickstart steps the
//! example targets in `examples/` share with the tests.

pub mod declarations;
pub mod fakes;
pub mod github;
pub mod quickstart;
pub mod setup;
pub mod xero;
