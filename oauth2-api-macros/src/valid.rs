//! Checks across a declaration that parsing alone cannot make, one small function each.

use crate::ast::{Endpoint, HttpMethod, Param, ParamKind};
use crate::ctxt::Ctxt;
use crate::path::Template;

/// Checks of an endpoint that parsed whole.
pub(crate) fn check(cx: &Ctxt, endpoint: &Endpoint<'_>) {
    no_body_without_payload_method(cx, endpoint);
    reserved_names_are_free(cx, endpoint);
    open_endpoints_have_no_scope(cx, endpoint);
}

/// A scope is asked of a token; an open endpoint is called without one.
fn open_endpoints_have_no_scope(cx: &Ctxt, e: &Endpoint<'_>) {
    if matches!(e.user, crate::ast::User::Anonymous) {
        for s in &e.scopes {
            cx.error_spanned_by(
                s,
                "`user = Anonymous` calls without a token: remove the scope",
            );
        }
    }
}

/// Checks of the path and the arguments alone: run even when another key of the
/// endpoint is broken, so one compile reports every mistake.
pub(crate) fn check_arguments(cx: &Ctxt, method: &syn::Ident, path: &Template, params: &[Param]) {
    captures_have_arguments(cx, method, path, params);
    arguments_are_used(cx, path, params);
    at_most_one_body(cx, params);
}

/// Every `{segment}` binds an argument of the same name.
fn captures_have_arguments(cx: &Ctxt, method: &syn::Ident, path: &Template, params: &[Param]) {
    let mut seen = std::collections::HashSet::new();
    for capture in path.captures() {
        if !seen.insert(capture) {
            cx.error_spanned_by(
                &path.lit,
                format!("`{{{capture}}}` appears twice in the path"),
            );
            continue;
        }
        match params.iter().find(|p| p.ident == capture) {
            Some(p) if matches!(p.kind, ParamKind::Path) => {}
            Some(p) => cx.error_spanned_by(
                &p.ident,
                format!(
                    "`{capture}` is a path segment: remove its `#[query]`, `#[header]` or `#[body]`"
                ),
            ),
            None => cx.error_spanned_by(
                &path.lit,
                format!("`{{{capture}}}` has no argument: add `{capture}: &str` to `{method}`"),
            ),
        }
    }
}

/// An argument with no attribute must be a path segment.
fn arguments_are_used(cx: &Ctxt, path: &Template, params: &[Param]) {
    for p in params {
        if matches!(p.kind, ParamKind::Path) && !path.captures().any(|c| p.ident == c) {
            cx.error_spanned_by(
                &p.ident,
                format!(
                    "argument `{0}` is used nowhere: put `{{{0}}}` in the path, or mark it \
                     `#[query]`, `#[header(\"Name\")]` or `#[body]`",
                    p.ident
                ),
            );
        }
    }
}

fn at_most_one_body(cx: &Ctxt, params: &[Param]) {
    let bodies: Vec<_> = params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::Body(_)))
        .collect();
    for extra in bodies.iter().skip(1) {
        cx.error_spanned_by(
            &extra.ident,
            "only one argument can be the `#[body]`: group the fields in one serializable type",
        );
    }
}

fn no_body_without_payload_method(cx: &Ctxt, e: &Endpoint<'_>) {
    if !matches!(e.method, HttpMethod::Get | HttpMethod::Delete) {
        return;
    }
    for p in &e.params {
        if let ParamKind::Body(span) = p.kind {
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "a {} request has no body: use `method = POST`, `PUT` or `PATCH`, or send `{}` as `#[query]`",
                    e.method.name(),
                    p.ident
                ),
            ));
        }
    }
}

/// The generated methods name the user argument `user`.
fn reserved_names_are_free(cx: &Ctxt, e: &Endpoint<'_>) {
    for p in &e.params {
        if p.ident == "user" && matches!(e.user, crate::ast::User::Type(_)) {
            cx.error_spanned_by(
                &p.ident,
                "`user` is the generated user argument: rename this one",
            );
        }
    }
}
