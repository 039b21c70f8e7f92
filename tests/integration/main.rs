//! Integration tests of the runtime: stores, authorization, tokens, calls, declared
//! APIs, and the same cycle against the real `oidc-provider` peer.

// Declarations here are `pub` as an application would write them.
#![allow(unreachable_pub)]

mod answers;
mod authorize;
mod base_urls;
mod cache;
mod cache_kit;
mod callbacks;
mod calls;
mod credentials;
mod escape_hatch;
mod examples;
mod faults;
mod flows;
mod kit;
mod lifecycle;
mod lifecycle_stores;
mod loopback;
mod macros;
mod pagination;
mod peer;
mod pending;
mod postgres;
mod providers;
mod regressions_api;
mod regressions_built_requests;
mod regressions_call_paths;
mod regressions_callbacks;
mod regressions_dot_segments;
mod regressions_fast_path;
mod regressions_lifecycle;
mod regressions_lints;
mod regressions_overhead_review;
mod regressions_paging;
mod regressions_rate_and_spans;
mod regressions_requests;
mod regressions_review16;
mod regressions_review16b;
mod regressions_review16c;
mod regressions_review16d;
mod regressions_review16e;
mod regressions_review16f;
mod regressions_review16g;
mod regressions_review16h;
mod regressions_review16i;
mod regressions_secrets;
mod regressions_tracing;
mod return_to;
mod sandbox;
mod scopes;
mod stores;
mod throttle;
mod tokens;
mod web_security;
