//! The rules of `#[oauth2_api(...)]`.

use proc_macro2::Span;
use syn::LitStr;
use syn::spanned::Spanned;

use crate::ast::{Api, ApiArgs, EnvironmentArgs, EnvironmentDecl, Slot};
use crate::ctxt::Ctxt;
use crate::names::variant;
use crate::symbol::*;

/// Checks `#[oauth2_api(...)]`; `Some` only when every rule holds.
pub(super) fn check(cx: &Ctxt, args: &ApiArgs) -> Option<Api> {
    let provider = provider_is_given(cx, &args.provider, args.broken);
    for env in args.flat.iter().chain(&args.environments) {
        urls_are_absolute(cx, env);
    }
    super::header_names_are_valid(cx, &args.headers);
    // The API's headers go with every call, most with a token.
    for (name, _) in args.headers.given().into_iter().flatten() {
        if let Some(why) = super::token_header(name) {
            cx.error_spanned_by(name, why);
        }
    }
    super::endpoint::scopes_are_words(cx, &args.scopes);
    let environments = environments(cx, args, provider);
    Some(Api {
        provider: provider?.clone(),
        environments: environments?,
        scope_separator: args.scope_separator.given().cloned(),
        client_auth: args.client_auth.given().copied(),
        scope_policy: args.scope_policy.given().copied(),
        scopes: args.scopes.given().cloned().unwrap_or_default(),
        scope_implies: args.scope_implies.given().cloned().unwrap_or_default(),
        headers: args.headers.given().cloned().unwrap_or_default(),
        error_body: args.error_body.given().cloned(),
    })
}

/// Sessions are stored under the provider's name.
fn provider_is_given<'a>(
    cx: &Ctxt,
    provider: &'a Slot<LitStr>,
    broken: bool,
) -> Option<&'a LitStr> {
    if let Slot::Absent = provider
        && !broken
    {
        cx.syn_error(syn::Error::new(
            Span::call_site(),
            "missing `provider = \"...\"` in `#[oauth2_api(...)]`, e.g. `provider = \"HMRC\"`",
        ));
    }
    provider.given()
}

/// One environment in the flat form, or one or more `environment(...)`: never both, as
/// it would be unclear which one the flat URLs belong to.
fn environments(
    cx: &Ctxt,
    args: &ApiArgs,
    provider: Option<&LitStr>,
) -> Option<Vec<EnvironmentDecl>> {
    match (&args.flat, args.environments.is_empty()) {
        (Some(flat), false) => {
            cx.error_spanned_by(
                &flat.at,
                "give either the flat `base_url`/`auth_url`/`token_url` (one environment) or \
                 `environment(...)` entries, not both: move these URLs into an `environment(name = \"...\", ...)`",
            );
            None
        }
        (Some(flat), true) => {
            let name = LitStr::new("default", flat.at.span());
            Some(vec![environment_is_complete(cx, flat, name)?])
        }
        (None, false) => {
            let checked: Vec<_> = args
                .environments
                .iter()
                .map(|env| environment_is_named(cx, env))
                .collect();
            environment_names_are_distinct(cx, &args.environments);
            checked.into_iter().collect()
        }
        (None, true) => {
            if let Some(provider) = provider
                && !args.broken
            {
                cx.error_spanned_by(
                    provider,
                    "the provider needs URLs: `base_url = \"...\", auth_url = \"...\", token_url = \"...\"`, \
                     or `environment(name = \"sandbox\", base_url = ..., auth_url = ..., token_url = ...)`",
                );
            }
            None
        }
    }
}

/// Sessions and the environment enum know an environment by its name.
fn environment_is_named(cx: &Ctxt, env: &EnvironmentArgs) -> Option<EnvironmentDecl> {
    if let Slot::Absent = env.name
        && !env.broken
    {
        cx.error_spanned_by(
            &env.at,
            "`environment(...)` needs `name = \"...\"`, e.g. `name = \"sandbox\"`",
        );
    }
    let name = env.name.given()?.clone();
    environment_is_complete(cx, env, name)
}

/// Without these three URLs no call and no authorization can be made.
fn environment_is_complete(
    cx: &Ctxt,
    env: &EnvironmentArgs,
    name: LitStr,
) -> Option<EnvironmentDecl> {
    let required = [
        (BASE_URL, &env.base_url),
        (AUTH_URL, &env.auth_url),
        (TOKEN_URL, &env.token_url),
    ];
    let missing: Vec<&str> = required
        .iter()
        .filter(|(_, slot)| matches!(slot, Slot::Absent))
        .map(|(key, _)| *key)
        .collect();
    if !missing.is_empty() && !env.broken {
        cx.error_spanned_by(
            &env.at,
            format!(
                "environment `{}` is missing {}",
                name.value(),
                one_of(&missing)
            ),
        );
    }
    Some(EnvironmentDecl {
        name,
        base_url: env.base_url.given()?.clone(),
        base_urls: env.base_urls.given().cloned().unwrap_or_default(),
        auth_url: env.auth_url.given()?.clone(),
        token_url: env.token_url.given()?.clone(),
        revoke_url: env.revoke_url.given().cloned(),
        issuer: env.issuer.given().cloned(),
    })
}

/// Each environment is a session key and a variant of the environment enum: two names
/// that are the same, or that make the same variant, cannot be told apart.
fn environment_names_are_distinct(cx: &Ctxt, envs: &[EnvironmentArgs]) {
    let names: Vec<(&EnvironmentArgs, &LitStr)> = envs
        .iter()
        .filter_map(|env| Some((env, env.name.given()?)))
        .collect();
    for (i, (env, name)) in names.iter().enumerate() {
        let Some((_, earlier)) = names[..i]
            .iter()
            .find(|(_, earlier)| variant(earlier) == variant(name))
        else {
            continue;
        };
        let message = if earlier.value() == name.value() {
            format!("duplicate environment `{}`", name.value())
        } else {
            format!(
                "environments `{}` and `{}` would both be the variant `{}`: rename one",
                earlier.value(),
                name.value(),
                variant(name)
            )
        };
        cx.error_spanned_by(&env.at, message);
    }
}

/// The URLs are used as given: a relative one could never be reached.
fn urls_are_absolute(cx: &Ctxt, env: &EnvironmentArgs) {
    let urls = [
        (BASE_URL, &env.base_url),
        (AUTH_URL, &env.auth_url),
        (TOKEN_URL, &env.token_url),
        (REVOKE_URL, &env.revoke_url),
    ];
    let named = env.base_urls.given().into_iter().flatten();
    let urls = urls
        .iter()
        .filter_map(|(key, url)| Some((*key, url.given()?)))
        .chain(named.map(|(_, url)| (BASE_URLS, url)));
    for (key, url) in urls {
        let value = url.value();
        if !(value.starts_with("https://") || value.starts_with("http://")) {
            cx.error_spanned_by(
                url,
                format!(
                    "`{key}` must be an absolute http(s) URL, e.g. \"https://api.example.com\""
                ),
            );
        }
    }
}
