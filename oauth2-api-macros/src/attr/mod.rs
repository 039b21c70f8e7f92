//! Parsing: `#[oauth2_api(...)]`, each method's `#[endpoint(...)]` and the argument
//! attributes, read into the model as written. Only the syntax of each value is judged
//! here; what a declaration must say, and what its parts must agree on, is `valid`'s.
//! Mistakes go to the error sink and parsing goes on, so one compile reports them all.

mod api;
mod endpoint;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{ItemTrait, LitStr, Token, TraitItem};

use crate::ast::Parsed;
use crate::ctxt::Ctxt;
use crate::symbol::one_of;

/// Parses a whole declaration: the attribute's arguments and every item of the trait.
pub(crate) fn parse<'a>(cx: &Ctxt, args: TokenStream, item: &'a ItemTrait) -> Parsed<'a> {
    let api = api::parse(cx, args);
    let mut endpoints = Vec::new();
    let mut others = Vec::new();
    for it in &item.items {
        match it {
            TraitItem::Fn(f) => endpoints.push(endpoint::parse(cx, f)),
            other => others.push(other),
        }
    }
    Parsed {
        item,
        api,
        endpoints,
        others,
    }
}

/// Reads the value that follows one key into the arguments of its list. An error is
/// about this key's value only: it is reported, and the list goes on.
type KeyFn<A> = fn(&Ctxt, &mut A, &ParseNestedMeta<'_>) -> syn::Result<()>;

/// The keys of one attribute list, each with its parsing function: the one place that
/// reports unknown and duplicate keys, for every list of a declaration.
struct Keys<A: 'static> {
    /// The list as messages name it: "`#[endpoint(...)]`".
    list: &'static str,
    keys: &'static [(&'static str, KeyFn<A>)],
    /// Keys that may be given more than once (`environment`).
    repeatable: &'static [&'static str],
    /// What to write instead of a key that is not one of this list but says what was
    /// meant (`scopes`, `pagination`, a key of another list).
    hints: &'static [(&'static str, &'static str)],
}

impl<A> Keys<A> {
    /// A visitor for `syn`'s `parse_nested_meta` family that reads a `key = value,
    /// key(...)` list into `args`. The error of one key is reported and the rest of its
    /// value skipped, so the keys after it are still read; the visitor itself fails only
    /// when the list cannot be followed.
    fn visitor<'v>(
        &'static self,
        cx: &'v Ctxt,
        args: &'v mut A,
    ) -> impl FnMut(ParseNestedMeta<'_>) -> syn::Result<()> + 'v {
        let mut seen: Vec<&'static str> = Vec::new();
        move |meta| {
            let Some(&(key, parse)) = self.keys.iter().find(|(k, _)| meta.path.is_ident(k)) else {
                cx.error_spanned_by(&meta.path, self.unknown(&meta.path));
                return skip_rest(meta.input);
            };
            if seen.contains(&key) && !self.repeatable.contains(&key) {
                cx.error_spanned_by(&meta.path, format!("duplicate `{key}`: give it once"));
                return skip_rest(meta.input);
            }
            seen.push(key);
            if let Err(e) = parse(cx, args, &meta) {
                cx.syn_error(e);
                return skip_rest(meta.input);
            }
            Ok(())
        }
    }

    fn unknown(&self, path: &syn::Path) -> String {
        let key = match path.get_ident() {
            Some(ident) => ident.to_string(),
            None => path.to_token_stream().to_string().replace(' ', ""),
        };
        let known: Vec<&str> = self.keys.iter().map(|(k, _)| *k).collect();
        let hint = self
            .hints
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, hint)| format!(": {hint}"))
            .unwrap_or_default();
        format!(
            "unknown key `{key}` in {}{hint}; expected one of: {}",
            self.list,
            one_of(&known)
        )
    }
}

/// Skips what is left of a key's value, up to the comma before the next key.
fn skip_rest(input: ParseStream<'_>) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            match tt {
                TokenTree::Punct(p) if p.as_char() == ',' => break,
                _ => rest = next,
            }
        }
        Ok(((), rest))
    })
}

/// `key = "..."`.
fn lit_str(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    meta.value()?.parse()
}

/// `headers("Accept" = "application/json", "X-Other" = "v")`.
fn headers(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<(LitStr, LitStr)>> {
    pairs(meta, "a header as `\"Name\" = \"value\"`")
}

/// `key("a" = "b", "c" = "d")`; `expected` names one pair in the error message.
fn pairs(meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Result<Vec<(LitStr, LitStr)>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let mut pairs = Vec::new();
    while !content.is_empty() {
        let name: LitStr = content
            .parse()
            .map_err(|e| syn::Error::new(e.span(), format!("expected {expected}")))?;
        content.parse::<Token![=]>()?;
        pairs.push((name, content.parse()?));
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(pairs)
}
