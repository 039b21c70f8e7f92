//! The rules of each endpoint: its signature, its `#[endpoint(...)]`, its arguments.

use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Pat, TraitItemFn, Type};

use crate::ast::{Endpoint, EndpointFn, HttpMethod, Param, ParamArgs, ParamKind, Slot, User};
use crate::ctxt::Ctxt;
use crate::path::Template;
use crate::symbol::*;

/// Checks one method; `Some` only when every rule holds.
pub(super) fn check<'a>(cx: &Ctxt, e: &'a EndpointFn<'a>) -> Option<Endpoint<'a>> {
    let attr = has_endpoint_attribute(cx, e)?;
    let signature = signature_is_an_endpoint(cx, e.item);
    let method = required(cx, attr, e, &e.args.method, METHOD, "GET");
    let path = required(cx, attr, e, &e.args.path, PATH, "\"/hello/user\"");
    let user = required(
        cx,
        attr,
        e,
        &e.args.user,
        USER,
        "Company`, `user = Application` or `user = Anonymous",
    );
    let params = params(cx, &e.params);
    if let Some(path) = path {
        path_is_a_path(cx, path);
    }
    if let (Some(path), Some(params)) = (path, &params) {
        captures_have_arguments(cx, &e.item.sig.ident, path, params);
        arguments_are_used(cx, path, params);
    }
    if let Some(params) = &params {
        at_most_one_body(cx, params);
    }
    let returns = returns_result(cx, e.item);
    if let Some((ok, _)) = returns {
        not_a_raw_response(cx, ok);
    }
    scopes_are_words(cx, &e.args.scopes);
    super::header_names_are_valid(cx, &e.args.headers);
    let paginate = e
        .args
        .paginate
        .given()
        .map(|p| super::paginate::check(cx, p, returns.map(|(ok, _)| ok)));
    let &(method, method_span) = method?;
    let endpoint = Endpoint {
        item: e.item,
        docs: e
            .item
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect(),
        lints: (e.item.attrs.iter())
            .filter(|a| {
                let lint = ["allow", "expect", "warn", "deny", "forbid"];
                lint.iter().any(|name| a.path().is_ident(name))
            })
            .collect(),
        method,
        method_span,
        path: path?,
        scopes: e.args.scopes.given().map_or(&[], Vec::as_slice),
        user: user?,
        headers: e.args.headers.given().map_or(&[], Vec::as_slice),
        base_url: e.args.base_url.given(),
        params: params?,
        ok_type: returns?.0,
        err_type: returns?.1,
        paginate: paginate.map_or(Some(None), |p| p.map(Some))?,
    };
    no_body_without_payload_method(cx, &endpoint);
    user_argument_is_free(cx, &endpoint);
    open_endpoints_have_no_scope(cx, &endpoint);
    token_headers_are_the_runtimes(cx, &endpoint);
    signature.then_some(endpoint)
}

/// Every method of the trait is an endpoint: one without the attribute is a mistake, not
/// a helper (the client could not implement it).
fn has_endpoint_attribute<'a>(cx: &Ctxt, e: &EndpointFn<'a>) -> Option<&'a Attribute> {
    if e.attr.is_none() {
        let ident = &e.item.sig.ident;
        cx.error_spanned_by(
            ident,
            format!(
                "`{ident}` has no `#[endpoint(...)]`: every method of an `#[oauth2_api]` trait is an endpoint, \
                 e.g. `#[endpoint(method = GET, path = \"/hello/user\", scope = \"hello\", user = Company)]`"
            ),
        );
    }
    e.attr
}

/// The generated method is an `async fn(&self, ...)` of a concrete client.
fn signature_is_an_endpoint(cx: &Ctxt, item: &TraitItemFn) -> bool {
    let sig = &item.sig;
    let mut ok = true;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!("endpoint `{}` must be `async fn`", sig.ident),
        );
        ok = false;
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        Some(FnArg::Receiver(r)) => {
            cx.error_spanned_by(r, "endpoints take `&self`");
            ok = false;
        }
        _ => {
            cx.error_spanned_by(
                &sig.ident,
                format!("endpoint `{}` must take `&self` first", sig.ident),
            );
            ok = false;
        }
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(&sig.generics, "endpoints cannot be generic");
        ok = false;
    }
    ok
}

/// `method`, `path` and `user` have no default. A key whose value was refused is
/// already reported, and not again as missing; nor is one that may have been after the
/// place where the list broke off.
fn required<'s, T>(
    cx: &Ctxt,
    attr: &Attribute,
    e: &EndpointFn<'_>,
    slot: &'s Slot<T>,
    key: &str,
    example: &str,
) -> Option<&'s T> {
    if let Slot::Absent = slot
        && !e.args.broken
    {
        cx.error_spanned_by(
            attr,
            format!("`#[endpoint]` is missing `{key}`, e.g. `{key} = {example}`"),
        );
    }
    slot.given()
}

/// The arguments, each a plain name with at most one of `#[query]`, `#[header(..)]` and
/// `#[body]`: the generated code passes them on by name, and sends each one one way.
fn params(cx: &Ctxt, params: &[ParamArgs<'_>]) -> Option<Vec<Param>> {
    let mut checked = Some(Vec::new());
    for p in params {
        for (extra, _) in p.kinds.iter().skip(1) {
            cx.error_spanned_by(
                extra,
                "an argument is one of `#[query]`, `#[header(..)]` or `#[body]`, not several",
            );
        }
        let kind = match p.kinds.first() {
            None => Some(ParamKind::Path),
            Some((_, kind)) => kind.clone(),
        };
        let Pat::Ident(pat) = &*p.arg.pat else {
            cx.error_spanned_by(&p.arg.pat, "endpoint arguments must be plain names");
            checked = None;
            continue;
        };
        match (&mut checked, kind) {
            (Some(list), Some(kind)) => list.push(Param {
                ident: pat.ident.clone(),
                ty_span: p.arg.ty.span(),
                kind,
            }),
            _ => checked = None,
        }
    }
    checked
}

/// A declared path is a path under the base URL: `/` first, no query or fragment (they
/// are arguments), each `{segment}` named like an argument.
fn path_is_a_path(cx: &Ctxt, path: &Template) {
    let value = path.lit.value();
    if !value.starts_with('/') {
        let message = format!("the path must start with `/`: write \"/{value}\"");
        cx.error_spanned_by(&path.lit, message);
    }
    if path.statics().any(|part| part.contains(['?', '#'])) {
        cx.error_spanned_by(
            &path.lit,
            "the path cannot hold a query or fragment: use `#[query]` arguments",
        );
    }
    for name in path.captures().filter(|c| !is_ident(c)) {
        let message = format!("`{{{name}}}` must name an argument: `{{vrn}}`, `{{period_key}}`");
        cx.error_spanned_by(&path.lit, message);
    }
}

fn is_ident(name: &str) -> bool {
    syn::parse_str::<syn::Ident>(name).is_ok()
}

/// Every `{segment}` binds an argument of the same name.
fn captures_have_arguments(cx: &Ctxt, method: &syn::Ident, path: &Template, params: &[Param]) {
    let mut seen = std::collections::HashSet::new();
    // A capture that names no argument is reported by `path_is_a_path`.
    for capture in path.captures().filter(|c| is_ident(c)) {
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

/// A request has one body.
fn at_most_one_body(cx: &Ctxt, params: &[Param]) {
    let bodies = params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::Body(_)));
    for extra in bodies.skip(1) {
        cx.error_spanned_by(
            &extra.ident,
            "only one argument can be the `#[body]`: group the fields in one serializable type",
        );
    }
}

/// The answer is decoded into `T` of `Result<T, E>`, and the runtime's error converted
/// into `E`: `Result` itself, or an alias whose name ends in `Result` (`ApiResult<T>`,
/// `anyhow::Result<T>`), which may fix `E`.
fn returns_result<'a>(cx: &Ctxt, item: &'a TraitItemFn) -> Option<(&'a Type, Option<&'a Type>)> {
    let message = "an endpoint returns `Result<T, E>` or an alias such as `ApiResult<T>`: \
                   `T` is the decoded answer (`()` for none) or `oauth2_api::Response<T>` \
                   for the status and headers too; `E` is `oauth2_api::Error` or your own \
                   error type implementing `From<oauth2_api::Error>`";
    let syn::ReturnType::Type(_, ty) = &item.sig.output else {
        cx.error_spanned_by(&item.sig, message);
        return None;
    };
    if let Type::Path(p) = &**ty
        && let Some(last) = p.path.segments.last()
        && last.ident.to_string().ends_with("Result")
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
    {
        let mut types = args.args.iter().filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        });
        if let Some(ok) = types.next() {
            return Some((ok, types.next()));
        }
    }
    cx.error_spanned_by(ty, message);
    None
}

/// `RawResponse` is the escape hatch's answer, undecoded; a declared endpoint that wants
/// the status and headers returns `Response<T>`.
fn not_a_raw_response(cx: &Ctxt, ok: &Type) {
    if let Type::Path(p) = ok
        && p.path
            .segments
            .last()
            .is_some_and(|s| s.ident == "RawResponse")
    {
        cx.error_spanned_by(
            ok,
            "a declared endpoint decodes its answer: return `oauth2_api::Response<T>` for the \
             status, headers and decoded body (`Response<serde_json::Value>` for any JSON, \
             `Response<()>` for none); `RawResponse` is what the escape hatch \
             `runtime.request(user, method, path)` returns",
        );
    }
}

/// Scopes are joined by a separator in requests: one with a space would read as two. A
/// declaration's list is used as a set as it stands, so each scope is named once.
pub(super) fn scopes_are_words(cx: &Ctxt, scopes: &Slot<Vec<syn::LitStr>>) {
    let scopes = scopes.given().map_or(&[][..], Vec::as_slice);
    for (i, s) in scopes.iter().enumerate() {
        if s.value().is_empty() || s.value().contains(char::is_whitespace) {
            cx.error_spanned_by(
                s,
                "a scope is one word; list several as `scope = [\"a\", \"b\"]`",
            );
        } else if scopes[..i]
            .iter()
            .any(|earlier| earlier.value() == s.value())
        {
            cx.error_spanned_by(s, format!("scope `{}` is listed twice", s.value()));
        }
    }
}

/// GET and DELETE requests carry no body.
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
fn user_argument_is_free(cx: &Ctxt, e: &Endpoint<'_>) {
    for p in &e.params {
        if p.ident == "user" && matches!(e.user, User::Type(_)) {
            cx.error_spanned_by(
                &p.ident,
                "`user` is the generated user argument: rename this one",
            );
        }
    }
}

/// A call with a token carries no `Authorization` or `Host` of its own: refused when the
/// request is built, after a person may have been asked to authorize it.
fn token_headers_are_the_runtimes(cx: &Ctxt, e: &Endpoint<'_>) {
    if matches!(e.user, User::Anonymous) {
        return;
    }
    let arguments = e.params.iter().filter_map(|p| match &p.kind {
        ParamKind::Header(name) => Some(name),
        _ => None,
    });
    for name in e.headers.iter().map(|(name, _)| name).chain(arguments) {
        if let Some(why) = super::token_header(name) {
            cx.error_spanned_by(name, why);
        }
    }
}

/// A scope is asked of a token; an open endpoint is called without one.
fn open_endpoints_have_no_scope(cx: &Ctxt, e: &Endpoint<'_>) {
    if matches!(e.user, User::Anonymous) {
        for s in e.scopes {
            cx.error_spanned_by(
                s,
                "`user = Anonymous` calls without a token: remove the scope",
            );
        }
    }
}
