//! Integration tests of the runtime: stores, authorization, tokens, calls, and the
//! same cycle against the real `oidc-provider` peer.

mod authorize;
mod calls;
mod peer;
mod stores;
mod tokens;
