//! Validation: every rule a declaration must keep, one small function each with the
//! sentence that says why. It is the only place that turns what was parsed into the
//! checked declaration expansion reads; a rule that fails reports a spanned error and
//! the declaration is not expanded (the fallback is emitted instead).

mod api;
mod endpoint;
mod paginate;

use syn::{ItemTrait, LitStr};

use crate::ast::{Declaration, EndpointFn, Parsed, Slot};
use crate::ctxt::Ctxt;
use crate::names::{CLIENT_METHODS, DERIVED_METHODS, Names};
use crate::symbol::one_of;

/// Checks a whole declaration; `Some` only when every rule holds.
pub(crate) fn check<'a>(cx: &Ctxt, parsed: &'a Parsed<'a>) -> Option<Declaration<'a>> {
    trait_is_not_generic(cx, parsed.item);
    trait_holds_only_methods(cx, parsed);
    trait_declares_endpoints(cx, parsed.item);
    let api = api::check(cx, &parsed.api);
    let endpoints: Vec<_> = parsed
        .endpoints
        .iter()
        .map(|e| endpoint::check(cx, e))
        .collect();
    endpoint_names_are_distinct(cx, &parsed.endpoints);
    endpoint_names_are_free(cx, parsed);
    let api = api?;
    let endpoints: Vec<_> = endpoints.into_iter().collect::<Option<_>>()?;
    base_urls_are_declared(cx, &api, &endpoints);
    Some(Declaration {
        item: parsed.item,
        api,
        endpoints,
    })
}

/// The generated client names the trait without parameters.
fn trait_is_not_generic(cx: &Ctxt, item: &ItemTrait) {
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, "an `#[oauth2_api]` trait cannot be generic");
    }
}

/// The client implements the trait, and can implement only what it generates.
fn trait_holds_only_methods(cx: &Ctxt, parsed: &Parsed<'_>) {
    for other in &parsed.others {
        cx.error_spanned_by(
            other,
            "an `#[oauth2_api]` trait holds only `#[endpoint]` methods",
        );
    }
}

/// A declaration without endpoints is most likely unfinished.
fn trait_declares_endpoints(cx: &Ctxt, item: &ItemTrait) {
    if item.items.is_empty() {
        cx.error_spanned_by(
            &item.ident,
            format!(
                "`{}` declares no endpoint: add methods such as \
                 `#[endpoint(method = GET, path = \"/hello/world\", user = Application)] \
                 async fn hello(&self) -> Result<Message, oauth2_api::Error>;`",
                item.ident
            ),
        );
    }
}

/// The methods an endpoint becomes: its own name (unraw: `r#a` is `a`) and, when it is
/// paginated, `{name}_pages` and `{name}_items`.
pub(crate) fn generated_names(e: &EndpointFn<'_>) -> Vec<String> {
    let name = syn::ext::IdentExt::unraw(&e.item.sig.ident).to_string();
    match e.args.paginate.given() {
        Some(_) => vec![
            name.clone(),
            format!("{name}_pages"),
            format!("{name}_items"),
        ],
        None => vec![name],
    }
}

/// Each endpoint becomes a method of the trait and of the client, and a paginated one
/// two more (`{name}_pages`, `{name}_items`): a second one of the same name would be a
/// duplicate definition inside the expansion.
fn endpoint_names_are_distinct(cx: &Ctxt, endpoints: &[EndpointFn<'_>]) {
    // Each name, and whether a paginated endpoint made it.
    let mut taken: Vec<(String, bool)> = Vec::new();
    for e in endpoints {
        let ident = &e.item.sig.ident;
        let names = generated_names(e).into_iter().enumerate();
        for (name, made) in names.map(|(i, name)| (name, i > 0)) {
            if let Some((_, made_before)) = taken.iter().find(|(n, _)| *n == name) {
                let paged = if made || *made_before {
                    " (a paginated endpoint `x` also makes `x_pages` and `x_items`)"
                } else {
                    ""
                };
                cx.error_spanned_by(
                    ident,
                    format!("`{name}` is declared twice{paged}: give each endpoint its own name"),
                );
            }
            taken.push((name, made));
        }
    }
}

/// The client has methods of its own (`new`, `disconnect`, ...): an endpoint of the same
/// name would be a duplicate definition inside the expansion.
fn endpoint_names_are_free(cx: &Ctxt, parsed: &Parsed<'_>) {
    let client = Names::of(parsed.item).client;
    for e in parsed.endpoints.iter().filter(|e| e.attr.is_some()) {
        // `r#new` is `new` once expanded.
        let ident = &syn::ext::IdentExt::unraw(&e.item.sig.ident);
        if CLIENT_METHODS.iter().any(|m| ident == m) {
            cx.error_spanned_by(
                ident,
                format!(
                    "an endpoint cannot be named `{ident}`: `{client}` has a generated method \
                     of that name; rename the endpoint (the generated methods are {})",
                    one_of(CLIENT_METHODS)
                ),
            );
        } else if DERIVED_METHODS.iter().any(|m| ident == m) {
            cx.error_spanned_by(
                ident,
                format!(
                    "an endpoint cannot be named `{ident}`: it would hide `{client}`'s derived \
                     `{ident}` (from `Clone` or `Debug`) at every call; rename the endpoint"
                ),
            );
        }
    }
}

/// An endpoint's `base_url = name` is a base URL every environment declares: a call in
/// one that lacks it could not be sent.
fn base_urls_are_declared(
    cx: &Ctxt,
    api: &crate::ast::Api,
    endpoints: &[crate::ast::Endpoint<'_>],
) {
    for name in endpoints.iter().filter_map(|e| e.base_url) {
        let lacking: Vec<String> = api
            .environments
            .iter()
            .filter(|env| !env.base_urls.iter().any(|(n, _)| n == name))
            .map(|env| env.name.value())
            .collect();
        if let Some(first) = lacking.first() {
            cx.error_spanned_by(
                name,
                format!(
                    "no base URL `{name}` in environment `{first}`: add \
                     `base_urls({name} = \"https://...\")` to each environment ({})",
                    one_of(&lacking.iter().map(String::as_str).collect::<Vec<_>>())
                ),
            );
        }
    }
}

/// A header a request with a token cannot carry, and why: the runtime's own.
pub(super) fn token_header(name: &LitStr) -> Option<&'static str> {
    let name = name.value();
    if name.eq_ignore_ascii_case("authorization") {
        return Some(
            "`Authorization` is the runtime's to send: it carries the session's access token \
             (an endpoint called without a token is `user = Anonymous`)",
        );
    }
    name.eq_ignore_ascii_case("host")
        .then_some("`Host` is the URL's: a request with a token goes to the host of its URL")
}

/// Header names are sent as written: they must be valid HTTP header names.
fn header_names_are_valid(cx: &Ctxt, headers: &Slot<Vec<(LitStr, LitStr)>>) {
    for (name, _) in headers.given().into_iter().flatten() {
        let value = name.value();
        let valid = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !valid {
            cx.error_spanned_by(name, "not a valid HTTP header name");
        }
    }
}
