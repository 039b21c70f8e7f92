//! `#[oauth2_api(...)]`: one parsing function per key.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;

use super::{Keys, headers, lit_str, pairs};
use crate::ast::{ApiArgs, ClientAuth, EnvironmentArgs, ScopePolicy};
use crate::ctxt::Ctxt;
use crate::symbol::*;

const API: Keys<ApiArgs> = Keys {
    list: "`#[oauth2_api(...)]`",
    keys: &[
        (PROVIDER, |_, a, m| a.provider.set(lit_str(m))),
        (BASE_URL, |_, a, m| flat(a, m).base_url.set(lit_str(m))),
        (BASE_URLS, |cx, a, m| {
            flat(a, m).base_urls.set(named_urls(cx, m))
        }),
        (AUTH_URL, |_, a, m| flat(a, m).auth_url.set(lit_str(m))),
        (TOKEN_URL, |_, a, m| flat(a, m).token_url.set(lit_str(m))),
        (REVOKE_URL, |_, a, m| flat(a, m).revoke_url.set(lit_str(m))),
        (ISSUER, |_, a, m| flat(a, m).issuer.set(lit_str(m))),
        (ENVIRONMENT, environment),
        (SCOPE_SEPARATOR, |_, a, m| a.scope_separator.set(lit_str(m))),
        (CLIENT_AUTH, |_, a, m| a.client_auth.set(client_auth(m))),
        (SCOPES, |_, a, m| {
            a.scopes.set(super::endpoint::scopes(m, SCOPES))
        }),
        (SCOPE_POLICY, |_, a, m| a.scope_policy.set(scope_policy(m))),
        (SCOPE_IMPLIES, |_, a, m| {
            a.scope_implies.set(pairs(m, "\"user\" = \"read:user\""))
        }),
        (HEADERS, |_, a, m| a.headers.set(headers(m))),
        (ERROR_BODY, |_, a, m| {
            a.error_body.set(m.value().and_then(|v| v.parse()))
        }),
    ],
    repeatable: &[ENVIRONMENT],
    hints: &[
        (
            "paginate",
            "`paginate(...)` goes on each `#[endpoint(...)]` that returns pages",
        ),
        ("method", ON_ENDPOINT),
        ("path", ON_ENDPOINT),
        ("user", ON_ENDPOINT),
        (
            "error",
            "write `error_body = YourErrorType` (a `serde::Deserialize` type)",
        ),
        (
            "error_type",
            "write `error_body = YourErrorType` (a `serde::Deserialize` type)",
        ),
        ("scopes_separator", "write `scope_separator = \" \"`"),
        (
            "environments",
            "write one `environment(name = \"...\", base_url = ..., auth_url = ..., token_url = ...)` per environment",
        ),
    ],
};

const ON_ENDPOINT: &str = "it goes on each method's `#[endpoint(...)]`";

const ENVIRONMENT_KEYS: Keys<EnvironmentArgs> = Keys {
    list: "`environment(...)`",
    keys: &[
        (NAME, |_, e, m| e.name.set(lit_str(m))),
        (BASE_URL, |_, e, m| e.base_url.set(lit_str(m))),
        (BASE_URLS, |cx, e, m| e.base_urls.set(named_urls(cx, m))),
        (AUTH_URL, |_, e, m| e.auth_url.set(lit_str(m))),
        (TOKEN_URL, |_, e, m| e.token_url.set(lit_str(m))),
        (REVOKE_URL, |_, e, m| e.revoke_url.set(lit_str(m))),
        (ISSUER, |_, e, m| e.issuer.set(lit_str(m))),
    ],
    repeatable: &[],
    hints: &[("url", "write `base_url = \"...\"`")],
};

/// Parses the arguments of `#[oauth2_api(...)]`.
pub(super) fn parse(cx: &Ctxt, args: TokenStream) -> ApiArgs {
    let mut api = ApiArgs::default();
    if let Err(e) = syn::meta::parser(API.visitor(cx, &mut api)).parse2(args) {
        cx.syn_error(e);
        api.broken = true;
        if let Some(flat) = &mut api.flat {
            flat.broken = true;
        }
    }
    api
}

/// The one environment of the flat form, begun by its first URL key (where its errors
/// will point).
fn flat<'a>(api: &'a mut ApiArgs, meta: &ParseNestedMeta<'_>) -> &'a mut EnvironmentArgs {
    api.flat
        .get_or_insert_with(|| EnvironmentArgs::new(meta.path.clone()))
}

/// `environment(name = "sandbox", base_url = "...", ...)`: kept even when incomplete, so
/// the checks can say what it lacks and the fallback can still name it.
fn environment(cx: &Ctxt, api: &mut ApiArgs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let mut env = EnvironmentArgs::new(meta.path.clone());
    let parsed = meta.parse_nested_meta(ENVIRONMENT_KEYS.visitor(cx, &mut env));
    env.broken = parsed.is_err();
    api.environments.push(env);
    parsed
}

/// `base_urls(identity = "https://identity.xero.com", ...)`.
fn named_urls(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<Vec<(syn::Ident, syn::LitStr)>> {
    let mut urls = Vec::new();
    meta.parse_nested_meta(|m| {
        let Some(name) = m.path.get_ident() else {
            return Err(m.error("expected `base_urls(name = \"https://...\")`"));
        };
        let url = lit_str(&m)?;
        match urls.iter().any(|(known, _)| known == name) {
            // Reported, and the list read on: the rest of it is checked too.
            true => cx.error_spanned_by(name, format!("duplicate `{name}`: give it once")),
            false => urls.push((name.clone(), url)),
        }
        Ok(())
    })?;
    Ok(urls)
}

/// `scope_policy = "granted"` or `"requested"`.
fn scope_policy(meta: &ParseNestedMeta<'_>) -> syn::Result<ScopePolicy> {
    let lit = lit_str(meta)?;
    match lit.value().as_str() {
        "granted" => Ok(ScopePolicy::Granted),
        "requested" => Ok(ScopePolicy::Requested),
        _ => Err(syn::Error::new_spanned(
            &lit,
            "expected `scope_policy = \"granted\"` (the scopes the token answer lists) or \
             `\"requested\"` (the scopes asked for)",
        )),
    }
}

/// `client_auth = "basic"` or `"body"`.
fn client_auth(meta: &ParseNestedMeta<'_>) -> syn::Result<ClientAuth> {
    let lit = lit_str(meta)?;
    match lit.value().as_str() {
        "basic" => Ok(ClientAuth::Basic),
        "body" => Ok(ClientAuth::Body),
        _ => Err(syn::Error::new_spanned(
            &lit,
            "expected `client_auth = \"basic\"` (HTTP Basic) or `\"body\"` (form body)",
        )),
    }
}
