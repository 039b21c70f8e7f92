//! The flows on top of calls: authorize-and-retry, the loopback listener for desktop and
//! command-line programs, the axum callback route and redirect middleware for web
//! applications, and the one HTML page helper they share.

pub(crate) mod loopback;
pub(crate) mod page;
mod retry;
#[cfg(feature = "axum")]
pub mod web;

pub use retry::{AuthorizeAndRetry, Authorizer};
