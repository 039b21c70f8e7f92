//! Parsing `#[oauth2_api(...)]`, `#[endpoint(...)]` and the argument attributes into the
//! model. Mistakes go to the error sink; parsing goes on so all are reported at once.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, FnArg, Lit, LitStr, Pat, Token, TraitItemFn, Type};

use crate::ast::{Api, ClientAuth, Endpoint, EnvironmentDecl, HttpMethod, Param, ParamKind, User};
use crate::ctxt::Ctxt;
use crate::path::Template;
use crate::symbol::*;

/// A value that may be given once; a second one is a "duplicate" error on its key.
struct Once<T> {
    key: &'static str,
    value: Option<T>,
}

impl<T> Once<T> {
    fn new(key: &'static str) -> Self {
        Self { key, value: None }
    }

    fn set(&mut self, cx: &Ctxt, meta: &ParseNestedMeta<'_>, value: T) {
        if self.value.is_some() {
            cx.error_spanned_by(
                &meta.path,
                format!("duplicate `{}`: give it once", self.key),
            );
        } else {
            self.value = Some(value);
        }
    }
}

/// Consumes whatever follows an unknown or broken key, so parsing can go on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

fn key_of(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| meta.path.to_token_stream().to_string().replace(' ', ""))
}

fn unknown_key(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    what: &str,
    valid: &[&str],
) -> syn::Result<()> {
    cx.error_spanned_by(
        &meta.path,
        format!(
            "unknown key `{}` in {what}; expected one of: {}",
            key_of(meta),
            one_of(valid)
        ),
    );
    skip_value(meta)
}

/// `headers("Accept" = "application/json", "X-Other" = "v")`.
fn parse_headers(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<(LitStr, LitStr)>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let pairs = Punctuated::<HeaderPair, Token![,]>::parse_terminated(&content)?;
    Ok(pairs.into_iter().map(|p| (p.name, p.value)).collect())
}

struct HeaderPair {
    name: LitStr,
    value: LitStr,
}

impl syn::parse::Parse for HeaderPair {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let name: LitStr = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a header as `\"Name\" = \"value\"`")
        })?;
        if name.value().is_empty()
            || !name
                .value()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(syn::Error::new_spanned(
                &name,
                "not a valid HTTP header name",
            ));
        }
        input.parse::<Token![=]>()?;
        let value: LitStr = input.parse()?;
        Ok(Self { name, value })
    }
}

const API_KEYS: &[&str] = &[
    PROVIDER,
    BASE_URL,
    AUTH_URL,
    TOKEN_URL,
    REVOKE_URL,
    ISSUER,
    ENVIRONMENT,
    SCOPE_SEPARATOR,
    CLIENT_AUTH,
    HEADERS,
];
const ENVIRONMENT_KEYS: &[&str] = &[NAME, BASE_URL, AUTH_URL, TOKEN_URL, REVOKE_URL, ISSUER];

/// Parses the arguments of `#[oauth2_api(...)]`. `None` when too broken to expand.
pub(crate) fn parse_api(cx: &Ctxt, args: TokenStream) -> Option<Api> {
    let mut provider = Once::new(PROVIDER);
    let mut flat = Urls::default();
    let mut flat_tokens: Option<syn::Path> = None;
    let mut environments: Vec<(EnvironmentDecl, syn::Path)> = Vec::new();
    let mut broken_environment = false;
    let mut scope_separator = Once::new(SCOPE_SEPARATOR);
    let mut client_auth = Once::new(CLIENT_AUTH);
    let mut headers = Once::new(HEADERS);

    let parser = syn::meta::parser(|meta| {
        let key = key_of(&meta);
        match key.as_str() {
            PROVIDER => {
                let lit: LitStr = meta.value()?.parse()?;
                provider.set(cx, &meta, lit);
            }
            BASE_URL | AUTH_URL | TOKEN_URL | REVOKE_URL | ISSUER => {
                flat_tokens.get_or_insert_with(|| meta.path.clone());
                flat.parse_key(cx, &meta)?;
            }
            ENVIRONMENT => {
                let mut urls = Urls::default();
                let mut name = Once::new(NAME);
                meta.parse_nested_meta(|inner| {
                    match key_of(&inner).as_str() {
                        NAME => {
                            let lit: LitStr = inner.value()?.parse()?;
                            name.set(cx, &inner, lit);
                        }
                        BASE_URL | AUTH_URL | TOKEN_URL | REVOKE_URL | ISSUER => {
                            urls.parse_key(cx, &inner)?
                        }
                        _ => unknown_key(cx, &inner, "`environment(...)`", ENVIRONMENT_KEYS)?,
                    }
                    Ok(())
                })?;
                let Some(name) = name.value else {
                    broken_environment = true;
                    cx.error_spanned_by(
                        &meta.path,
                        "`environment(...)` needs `name = \"...\"`, e.g. `name = \"sandbox\"`",
                    );
                    return Ok(());
                };
                match urls.finish(cx, name, &meta.path) {
                    Some(env) => environments.push((env, meta.path.clone())),
                    None => broken_environment = true,
                }
            }
            SCOPE_SEPARATOR => {
                let lit: LitStr = meta.value()?.parse()?;
                scope_separator.set(cx, &meta, lit);
            }
            CLIENT_AUTH => {
                let lit: LitStr = meta.value()?.parse()?;
                let auth = match lit.value().as_str() {
                    "basic" => Some(ClientAuth::Basic),
                    "body" => Some(ClientAuth::Body),
                    _ => {
                        cx.error_spanned_by(&lit, "expected `client_auth = \"basic\"` (HTTP Basic) or `\"body\"` (form body)");
                        None
                    }
                };
                if let Some(auth) = auth {
                    client_auth.set(cx, &meta, auth);
                }
            }
            HEADERS => {
                let list = parse_headers(&meta)?;
                headers.set(cx, &meta, list);
            }
            _ => unknown_key(cx, &meta, "`#[oauth2_api(...)]`", API_KEYS)?,
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        cx.syn_error(e);
        return None;
    }

    let Some(provider) = provider.value else {
        cx.syn_error(syn::Error::new(
            Span::call_site(),
            "missing `provider = \"...\"` in `#[oauth2_api(...)]`, e.g. `provider = \"HMRC\"`",
        ));
        return None;
    };
    let environments = match (flat_tokens, environments.is_empty()) {
        (Some(path), false) => {
            cx.error_spanned_by(
                &path,
                "give either the flat `base_url`/`auth_url`/`token_url` (one environment) or \
                 `environment(...)` entries, not both: move these URLs into an `environment(name = \"...\", ...)`",
            );
            return None;
        }
        (Some(path), true) => {
            let name = LitStr::new("default", provider.span());
            vec![flat.finish(cx, name, &path)?]
        }
        (None, false) => {
            let mut seen = std::collections::HashSet::new();
            for (env, path) in &environments {
                if !seen.insert(env.name.value()) {
                    cx.error_spanned_by(
                        path,
                        format!("duplicate environment `{}`", env.name.value()),
                    );
                }
            }
            environments.into_iter().map(|(env, _)| env).collect()
        }
        (None, true) if broken_environment => return None,
        (None, true) => {
            cx.error_spanned_by(
                &provider,
                "the provider needs URLs: `base_url = \"...\", auth_url = \"...\", token_url = \"...\"`, \
                 or `environment(name = \"sandbox\", base_url = ..., auth_url = ..., token_url = ...)`",
            );
            return None;
        }
    };
    Some(Api {
        provider,
        environments,
        scope_separator: scope_separator.value,
        client_auth: client_auth.value,
        headers: headers.value.unwrap_or_default(),
    })
}

#[derive(Default)]
struct Urls {
    base: Option<LitStr>,
    auth: Option<LitStr>,
    token: Option<LitStr>,
    revoke: Option<LitStr>,
    issuer: Option<LitStr>,
}

impl Urls {
    fn parse_key(&mut self, cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = key_of(meta);
        let lit: LitStr = meta.value()?.parse()?;
        let value = lit.value();
        if key != ISSUER && !(value.starts_with("https://") || value.starts_with("http://")) {
            cx.error_spanned_by(
                &lit,
                format!(
                    "`{key}` must be an absolute http(s) URL, e.g. \"https://api.example.com\""
                ),
            );
        }
        let slot = match key.as_str() {
            BASE_URL => &mut self.base,
            AUTH_URL => &mut self.auth,
            TOKEN_URL => &mut self.token,
            REVOKE_URL => &mut self.revoke,
            _ => &mut self.issuer,
        };
        if slot.is_some() {
            cx.error_spanned_by(&meta.path, format!("duplicate `{key}`: give it once"));
        } else {
            *slot = Some(lit);
        }
        Ok(())
    }

    fn finish(self, cx: &Ctxt, name: LitStr, at: &syn::Path) -> Option<EnvironmentDecl> {
        let missing: Vec<&str> = [
            (BASE_URL, &self.base),
            (AUTH_URL, &self.auth),
            (TOKEN_URL, &self.token),
        ]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
        if !missing.is_empty() {
            cx.error_spanned_by(
                at,
                format!(
                    "environment `{}` is missing {}",
                    name.value(),
                    one_of(&missing)
                ),
            );
            return None;
        }
        Some(EnvironmentDecl {
            name,
            base_url: self.base?,
            auth_url: self.auth?,
            token_url: self.token?,
            revoke_url: self.revoke,
            issuer: self.issuer,
        })
    }
}

const ENDPOINT_KEYS: &[&str] = &[METHOD, PATH, SCOPE, USER, HEADERS];

/// Parses one trait method into an endpoint. `None` when it cannot be expanded.
pub(crate) fn parse_endpoint<'a>(cx: &Ctxt, item: &'a TraitItemFn) -> Option<Endpoint<'a>> {
    let sig = &item.sig;
    let mut broken = false;
    let attr = item.attrs.iter().find(|a| a.path().is_ident(ENDPOINT));
    let Some(attr) = attr else {
        cx.error_spanned_by(
            &sig.ident,
            format!(
                "`{}` has no `#[endpoint(...)]`: every method of an `#[oauth2_api]` trait is an endpoint, \
                 e.g. `#[endpoint(method = GET, path = \"/hello/user\", scope = \"hello\", user = Company)]`",
                sig.ident
            ),
        );
        return None;
    };
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!("endpoint `{}` must be `async fn`", sig.ident),
        );
        broken = true;
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        Some(FnArg::Receiver(r)) => {
            cx.error_spanned_by(r, "endpoints take `&self`");
            broken = true;
        }
        _ => {
            cx.error_spanned_by(
                &sig.ident,
                format!("endpoint `{}` must take `&self` first", sig.ident),
            );
            broken = true;
        }
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(&sig.generics, "endpoints cannot be generic");
        broken = true;
    }

    let mut method = Once::new(METHOD);
    let mut path = Once::new(PATH);
    let mut scopes = Once::new(SCOPE);
    let mut user = Once::new(USER);
    let mut headers = Once::new(HEADERS);
    // Keys given with a value that was refused: reported once, not again as missing.
    let mut refused: Vec<&str> = Vec::new();
    let parsed = attr.parse_nested_meta(|meta| {
        match key_of(&meta).as_str() {
            METHOD => {
                let ident: syn::Ident = meta.value()?.parse()?;
                match HttpMethod::from_ident(&ident) {
                    Some(m) => method.set(cx, &meta, (m, ident.span())),
                    None => {
                        refused.push(METHOD);
                        cx.error_spanned_by(
                            &ident,
                            format!(
                                "unknown HTTP method `{ident}`; expected one of: {}",
                                one_of(HttpMethod::NAMES)
                            ),
                        );
                    }
                }
            }
            PATH => {
                let lit: LitStr = meta.value()?.parse()?;
                match Template::parse(lit) {
                    Ok(t) => path.set(cx, &meta, t),
                    Err(e) => {
                        refused.push(PATH);
                        cx.syn_error(e);
                    }
                }
            }
            SCOPE => {
                let value: Expr = meta.value()?.parse()?;
                if let Some(list) = scope_list(cx, &value) {
                    scopes.set(cx, &meta, list);
                }
            }
            USER => {
                let ty: Type = meta.value()?.parse()?;
                user.set(cx, &meta, ty);
            }
            HEADERS => {
                let list = parse_headers(&meta)?;
                headers.set(cx, &meta, list);
            }
            _ => unknown_key(cx, &meta, "`#[endpoint(...)]`", ENDPOINT_KEYS)?,
        }
        Ok(())
    });
    if let Err(e) = parsed {
        cx.syn_error(e);
        return None;
    }
    let mut require = |present: bool, key: &str, example: &str| {
        if refused.contains(&key) {
            broken = true;
        } else if !present {
            cx.error_spanned_by(
                attr,
                format!("`#[endpoint]` is missing `{key}`, e.g. `{key} = {example}`"),
            );
            broken = true;
        }
    };
    require(method.value.is_some(), METHOD, "GET");
    require(path.value.is_some(), PATH, "\"/hello/user\"");
    require(
        user.value.is_some(),
        USER,
        "Company`, `user = Application` or `user = Anonymous",
    );

    let params = parse_params(cx, item);
    let ok_type = result_ok_type(cx, item);
    if let (Some(path), Some(params)) = (&path.value, &params) {
        crate::valid::check_arguments(cx, &sig.ident, path, params);
    }
    if broken {
        return None;
    }
    let (method, method_span) = method.value?;
    let user = match user.value? {
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("Anonymous") => User::Anonymous,
        Type::Path(p)
            if p.qself.is_none()
                && p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Application") =>
        {
            User::Application
        }
        ty => User::Type(Box::new(ty)),
    };
    Some(Endpoint {
        item,
        docs: item
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect(),
        method,
        method_span,
        path: path.value?,
        scopes: scopes.value.unwrap_or_default(),
        user,
        headers: headers.value.unwrap_or_default(),
        params: params?,
        ok_type: ok_type?,
    })
}

/// `scope = "a"` or `scope = ["a", "b"]`.
fn scope_list(cx: &Ctxt, value: &Expr) -> Option<Vec<LitStr>> {
    let lit = |e: &Expr| match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        _ => None,
    };
    let list = match value {
        Expr::Array(ExprArray { elems, .. }) => elems.iter().map(lit).collect::<Option<Vec<_>>>(),
        e => lit(e).map(|s| vec![s]),
    };
    match list {
        Some(list) => {
            for s in &list {
                if s.value().is_empty() || s.value().contains(char::is_whitespace) {
                    cx.error_spanned_by(
                        s,
                        "a scope is one word; list several as `scope = [\"a\", \"b\"]`",
                    );
                }
            }
            Some(list)
        }
        None => {
            cx.error_spanned_by(
                value,
                "expected `scope = \"read:vat\"` or `scope = [\"read:vat\", \"write:vat\"]`",
            );
            None
        }
    }
}

fn parse_params(cx: &Ctxt, item: &TraitItemFn) -> Option<Vec<Param>> {
    let mut params = Vec::new();
    let mut ok = true;
    for arg in item.sig.inputs.iter().skip(1) {
        let FnArg::Typed(arg) = arg else { continue };
        let Pat::Ident(pat) = &*arg.pat else {
            cx.error_spanned_by(&arg.pat, "endpoint arguments must be plain names");
            ok = false;
            continue;
        };
        let mut kind: Option<ParamKind> = None;
        for attr in &arg.attrs {
            let name = attr
                .path()
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let this = match name.as_str() {
                QUERY => match &attr.meta {
                    syn::Meta::Path(_) => Some(ParamKind::Query(pat.ident.to_string())),
                    _ => {
                        let mut rename = None;
                        let r = attr.parse_nested_meta(|meta| {
                            if meta.path.is_ident(RENAME) {
                                rename = Some(meta.value()?.parse::<LitStr>()?.value());
                                Ok(())
                            } else {
                                Err(meta.error(format!(
                                    "unknown key in `#[query(...)]`; expected {}",
                                    one_of(&[RENAME])
                                )))
                            }
                        });
                        if let Err(e) = r {
                            cx.syn_error(e);
                        }
                        Some(ParamKind::Query(
                            rename.unwrap_or_else(|| pat.ident.to_string()),
                        ))
                    }
                },
                HEADER => match attr.parse_args::<LitStr>() {
                    Ok(lit) => Some(ParamKind::Header(lit.value())),
                    Err(_) => {
                        cx.error_spanned_by(attr, "expected `#[header(\"Header-Name\")]`");
                        None
                    }
                },
                BODY => Some(ParamKind::Body(attr.span())),
                _ => continue,
            };
            if kind.is_some() {
                cx.error_spanned_by(
                    attr,
                    "an argument is one of `#[query]`, `#[header(..)]` or `#[body]`, not several",
                );
            } else {
                kind = this;
            }
        }
        params.push(Param {
            ident: pat.ident.clone(),
            kind: kind.unwrap_or(ParamKind::Path),
        });
    }
    ok.then_some(params)
}

fn result_ok_type(cx: &Ctxt, item: &TraitItemFn) -> Option<Type> {
    let message = "an endpoint returns `Result<T, oauth2_api::Error>`, where `T` is the decoded answer (`()` for none)";
    let syn::ReturnType::Type(_, ty) = &item.sig.output else {
        cx.error_spanned_by(&item.sig, message);
        return None;
    };
    if let Type::Path(p) = &**ty
        && let Some(last) = p.path.segments.last()
        && last.ident == "Result"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(ok)) = args.args.first()
    {
        return Some(ok.clone());
    }
    cx.error_spanned_by(ty, message);
    None
}
