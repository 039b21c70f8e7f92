//! The names a declaration generates, shared by the phases that need them: `valid`
//! (an endpoint may not take one), `expand` and `fallback` (which make them).

use quote::format_ident;
use syn::{Ident, ItemTrait, LitStr, Visibility};

/// The inherent methods every client has besides its endpoints, as `expand::client_items` generates
/// them: an endpoint cannot take one of these names (`valid` says so). A unit test keeps
/// this list and the generated code the same.
pub(crate) const CLIENT_METHODS: &[&str] = &[
    "provider",
    "builder",
    "new",
    "with_context",
    "runtime",
    "select_environment",
    "begin_authorization",
    "is_authorized",
    "disconnect",
    "last_error",
];

/// Methods of traits the client derives (`Clone`, `Debug`): an endpoint of the same name
/// would shadow them at every call site, far from the declaration.
pub(crate) const DERIVED_METHODS: &[&str] = &["clone", "clone_from", "fmt"];

/// The names of what a declaration generates, and their visibility: the trait's, so
/// that a `pub(crate)` or private declaration makes `pub(crate)` or private items.
pub(crate) struct Names {
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    pub(crate) client: Ident,
    pub(crate) env: Ident,
    pub(crate) user: Ident,
}

impl Names {
    pub(crate) fn of(item: &ItemTrait) -> Self {
        let name = &item.ident;
        Self {
            vis: item.vis.clone(),
            name: name.clone(),
            client: format_ident!("{}Client", name),
            env: format_ident!("{}Env", name),
            user: format_ident!("{}User", name),
        }
    }
}

/// The variant of the environment enum for the environment `name`.
pub(crate) fn variant(name: &LitStr) -> Ident {
    Ident::new(&camel(&name.value()), name.span())
}

/// `sandbox` → `Sandbox`, `pre-production` → `PreProduction`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if upper {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'E');
    }
    out
}
