//! `#[endpoint(...)]` on each method, one parsing function per key, and the attributes
//! of its arguments (`#[query]`, `#[header(..)]`, `#[body]`).

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, ExprArray, ExprLit, FnArg, Lit, LitStr, Pat, PatType, TraitItemFn, Type,
};

use super::{Keys, headers, lit_str};
use crate::ast::{
    EndpointArgs, EndpointFn, HttpMethod, PaginateArgs, ParamArgs, ParamKind, Slot, User,
};
use crate::ctxt::Ctxt;
use crate::path::Template;
use crate::symbol::*;

const ENDPOINT_KEYS: Keys<EndpointArgs> = Keys {
    list: "`#[endpoint(...)]`",
    keys: &[
        (METHOD, |_, e, m| e.method.set(method(m))),
        (PATH, |_, e, m| e.path.set(path(m))),
        (SCOPE, |_, e, m| e.scopes.set(scopes(m, SCOPE))),
        (USER, |_, e, m| e.user.set(user(m))),
        (HEADERS, |_, e, m| e.headers.set(headers(m))),
        (BASE_URL, |_, e, m| e.base_url.set(base_url(m))),
        (PAGINATE, |cx, e, m| e.paginate.set(paginate(cx, m))),
    ],
    repeatable: &[],
    hints: &[
        ("scopes", "write `scope = [\"a\", \"b\"]`"),
        (
            "error_body",
            "`error_body = Type` is declared once, in `#[oauth2_api(...)]`",
        ),
        ("pagination", PAGINATE_HINT),
        ("paginated", PAGINATE_HINT),
        ("pages", PAGINATE_HINT),
        ("returns", RETURNS_HINT),
        ("response", RETURNS_HINT),
        ("query", "mark the argument instead: `#[query] name: Type`"),
        (
            "body",
            "mark the argument instead: `#[body] payload: &Payload`",
        ),
        (
            "header",
            "mark the argument instead: `#[header(\"Name\")] value: &str`, or give fixed ones as `headers(\"Name\" = \"value\")`",
        ),
    ],
};

const PAGINATE_HINT: &str = "write `paginate(link)`, `paginate(page = \"page\")`, \
    `paginate(offset = \"offset\")` or `paginate(cursor = \"next_cursor\", param = \"cursor\")`";

const RETURNS_HINT: &str = "the method's return type says what the answer decodes into: \
    `-> Result<T, Error>`, or `-> Result<Response<T>, Error>` for the status and headers too";

const PAGINATE_KEYS: Keys<PaginateArgs> = Keys {
    list: "`paginate(...)`",
    keys: &[
        (LINK, |_, p, m| link(p, m)),
        (PAGE, |_, p, m| p.page.set(lit_str(m))),
        (PER_PAGE, |_, p, m| p.per_page.set(lit_str(m))),
        (OFFSET, |_, p, m| p.offset.set(lit_str(m))),
        (LIMIT, |_, p, m| p.limit.set(lit_str(m))),
        (CURSOR, |_, p, m| p.cursor.set(lit_str(m))),
        (PARAM, |_, p, m| p.param.set(lit_str(m))),
        (ITEMS, |_, p, m| p.items.set(lit_str(m))),
    ],
    repeatable: &[],
    hints: &[
        ("per_page", "`per_page` goes with `page = \"page\"`"),
        (
            "next",
            "write `link` for the `Link` header's `rel=\"next\"`, or `cursor = \"next\"` for a field of the body",
        ),
        (
            "data",
            "write `items = \"data\"` for the field of the body holding the items",
        ),
    ],
};

/// Parses one trait method: its `#[endpoint(...)]`, if any, and its arguments.
pub(super) fn parse<'a>(cx: &Ctxt, item: &'a TraitItemFn) -> EndpointFn<'a> {
    let mut attrs = item.attrs.iter().filter(|a| a.path().is_ident(ENDPOINT));
    let attr = attrs.next();
    for again in attrs {
        cx.error_spanned_by(again, "duplicate `#[endpoint]`: a method is one endpoint");
    }
    let mut args = EndpointArgs::default();
    if let Some(attr) = attr
        && let Err(e) = attr.parse_nested_meta(ENDPOINT_KEYS.visitor(cx, &mut args))
    {
        cx.syn_error(e);
        args.broken = true;
    }
    let params = item
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(arg) => Some(param(cx, arg)),
            FnArg::Receiver(_) => None,
        })
        .collect();
    EndpointFn {
        item,
        attr,
        args,
        params,
    }
}

/// `method = GET`.
fn method(meta: &ParseNestedMeta<'_>) -> syn::Result<(HttpMethod, proc_macro2::Span)> {
    let ident: syn::Ident = meta.value()?.parse()?;
    match HttpMethod::from_ident(&ident) {
        Some(method) => Ok((method, ident.span())),
        None => Err(syn::Error::new_spanned(
            &ident,
            format!(
                "unknown HTTP method `{ident}`; expected one of: {}",
                one_of(HttpMethod::NAMES)
            ),
        )),
    }
}

/// `base_url = identity`: the name of a base URL in `base_urls(...)`.
fn base_url(meta: &ParseNestedMeta<'_>) -> syn::Result<syn::Ident> {
    let value = meta.value()?;
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        return Err(syn::Error::new_spanned(
            &lit,
            "expected a name declared in the environments' `base_urls(name = \"...\")`, \
             e.g. `base_url = identity`; a URL goes into `base_urls(...)`",
        ));
    }
    value.parse()
}

/// `path = "/vat/{vrn}/obligations"`.
fn path(meta: &ParseNestedMeta<'_>) -> syn::Result<Template> {
    Template::parse(lit_str(meta)?)
}

/// `scope = "a"` or `scope = ["a", "b"]` (`key` is the key's name).
pub(super) fn scopes(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Vec<LitStr>> {
    let value: Expr = meta.value()?.parse()?;
    let lit = |e: &Expr| match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        _ => None,
    };
    let list = match &value {
        Expr::Array(ExprArray { elems, .. }) => elems.iter().map(lit).collect(),
        e => lit(e).map(|s| vec![s]),
    };
    list.ok_or_else(|| {
        syn::Error::new_spanned(
            &value,
            format!("expected `{key} = \"read:vat\"` or `{key} = [\"read:vat\", \"write:vat\"]`"),
        )
    })
}

/// `user = Company`. Only the bare names `Application` and `Anonymous` are the built-in
/// users: a path such as `billing::Application` is the application's own type.
fn user(meta: &ParseNestedMeta<'_>) -> syn::Result<User> {
    let value = meta.value()?;
    if value.peek(syn::LitStr) {
        let lit: syn::LitStr = value.parse()?;
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "the user is a type, not a string: write `user = {}` (a type implementing \
                 `ApiUser`, or `Application`, or `Anonymous`)",
                lit.value()
            ),
        ));
    }
    let ty: Type = value.parse()?;
    Ok(match &ty {
        Type::Path(p) if p.qself.is_none() && p.path.is_ident(APPLICATION) => User::Application,
        Type::Path(p) if p.qself.is_none() && p.path.is_ident(ANONYMOUS) => User::Anonymous,
        _ => User::Type(Box::new(ty)),
    })
}

/// `paginate(link)`, `paginate(page = "page", per_page = "per_page")`, ...: read whole,
/// its rules are `valid`'s.
fn paginate(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<PaginateArgs> {
    let mut args = PaginateArgs {
        at: meta.path.clone(),
        link: None,
        page: Slot::Absent,
        per_page: Slot::Absent,
        offset: Slot::Absent,
        limit: Slot::Absent,
        cursor: Slot::Absent,
        param: Slot::Absent,
        items: Slot::Absent,
    };
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(
            "expected `paginate(link)`, `paginate(page = \"page\")`, \
             `paginate(offset = \"offset\")` or `paginate(cursor = \"next_cursor\", param = \"cursor\")`",
        ));
    }
    meta.parse_nested_meta(PAGINATE_KEYS.visitor(cx, &mut args))?;
    Ok(args)
}

/// `link`, a flag: the next page is the `Link` header's.
fn link(args: &mut PaginateArgs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
        return Err(meta.error("`link` takes no value: write `paginate(link)`"));
    }
    args.link = Some(meta.path.clone());
    Ok(())
}

/// `#[query(rename = "wireName")]`.
#[derive(Default)]
struct QueryArgs {
    rename: Slot<LitStr>,
}

const QUERY_KEYS: Keys<QueryArgs> = Keys {
    list: "`#[query(...)]`",
    keys: &[(RENAME, |_, q, m| q.rename.set(lit_str(m)))],
    repeatable: &[],
    hints: &[("name", "write `#[query(rename = \"wireName\")]`")],
};

/// One argument: what each of our attributes on it says.
fn param<'a>(cx: &Ctxt, arg: &'a PatType) -> ParamArgs<'a> {
    let kinds = arg
        .attrs
        .iter()
        .filter_map(|attr| {
            let kind = if attr.path().is_ident(QUERY) {
                Some(query(cx, attr, arg))
            } else if attr.path().is_ident(HEADER) {
                header(attr).map_err(|e| cx.syn_error(e)).ok()
            } else if attr.path().is_ident(BODY) {
                Some(ParamKind::Body(attr.span()))
            } else {
                return None;
            };
            Some((attr, kind))
        })
        .collect();
    ParamArgs { arg, kinds }
}

/// `#[query]` sends the argument under its own name; `#[query(rename = "...")]` under
/// another.
fn query(cx: &Ctxt, attr: &Attribute, arg: &PatType) -> ParamKind {
    let mut args = QueryArgs::default();
    if !matches!(attr.meta, syn::Meta::Path(_))
        && let Err(e) = attr.parse_nested_meta(QUERY_KEYS.visitor(cx, &mut args))
    {
        cx.syn_error(e);
    }
    let name = match (args.rename.given(), &*arg.pat) {
        (Some(rename), _) => rename.value(),
        // `r#where` is sent as `where`: the `r#` only lets Rust accept a keyword.
        (None, Pat::Ident(pat)) => pat.ident.unraw().to_string(),
        (None, pat) => pat.to_token_stream().to_string(),
    };
    ParamKind::Query(name)
}

/// `#[header("Name")]`.
fn header(attr: &Attribute) -> syn::Result<ParamKind> {
    match attr.parse_args::<LitStr>() {
        Ok(lit) => Ok(ParamKind::Header(lit)),
        Err(_) => Err(syn::Error::new_spanned(
            attr,
            "expected `#[header(\"Header-Name\")]`",
        )),
    }
}
