//! The OAuth2 side: beginning and completing authorizations (state, PKCE, browser
//! binding, return targets), the grants through the `oauth2` crate and the token
//! endpoint's HTTP, and the token lifecycle (renewal, single flight, conditional writes).
//! Its rules are in [`renewal`]'s header.

pub(crate) mod authorize;
pub(crate) mod binding;
pub(crate) mod callback;
pub(crate) mod grants;
pub(crate) mod keep;
pub(crate) mod renewal;
pub(crate) mod return_to;
pub(crate) mod token_http;
