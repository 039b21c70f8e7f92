//! Procedural macros of `oauth2-api`. Use them through `oauth2_api`.
