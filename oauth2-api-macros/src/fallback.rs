//! What is emitted beside the errors of a declaration that cannot be expanded: the trait,
//! and stand-ins for everything the expansion generates (the client with its methods,
//! the environment enum, the user trait and its implementations), built from whatever
//! parsed. Code that uses them compiles on, so the declaration's own errors are the only
//! ones reported, not followed by "cannot find type `VatClient`" at every use. None of
//! it ever runs: the crate does not compile while the errors stand.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{FnArg, LitStr, Pat, Signature, TraitItem, parse_quote};

use crate::ast::{EndpointFn, Parsed};
use crate::expand;
use crate::names::{self, CLIENT_METHODS, DERIVED_METHODS, Names};
use crate::symbol::{BODY, HEADER, QUERY};

/// The stand-ins for `parsed`.
pub(crate) fn fallback(parsed: &Parsed<'_>) -> TokenStream {
    let names = Names::of(parsed.item);
    let Names { name, client, .. } = &names;
    let endpoints = distinct(&parsed.endpoints);
    let signatures: Vec<(&EndpointFn<'_>, Signature)> =
        endpoints.iter().map(|e| (*e, signature(e))).collect();

    let mut item = parsed.item.clone();
    item.items = signatures.iter().map(|(e, sig)| trait_fn(e, sig)).collect();
    let env_enum = environment_enum(parsed, &names);
    let user_trait = match endpoints.iter().any(|e| e.args.user.given().is_none()) {
        // A user type that did not parse: any type is taken as one, so calls made with
        // the intended user report nothing more.
        true => any_user_trait(&names),
        false => {
            let users = expand::user_scopes(endpoints.iter().filter_map(|e| {
                let ty = e.args.user.given()?.as_type()?;
                Some((ty, e.args.scopes.given().map_or(&[][..], Vec::as_slice)))
            }));
            expand::user_trait(&names, &users)
        }
    };
    let methods = signatures
        .iter()
        .filter(|(_, sig)| {
            // `r#new` is `new` once expanded.
            let ident = syn::ext::IdentExt::unraw(&sig.ident);
            !CLIENT_METHODS
                .iter()
                .chain(DERIVED_METHODS)
                .any(|m| ident == m)
        })
        .map(|(e, sig)| inherent_fn(e, sig, &names))
        .collect();
    let client_items = expand::client_items(
        &names,
        quote!(::core::panic!(
            "a stand-in beside the errors of a declaration: it never runs"
        )),
        methods,
    );
    // A generic trait (a mistake of its own) cannot be implemented without knowing what
    // it was meant to be generic over.
    let trait_impl = parsed.item.generics.params.is_empty().then(|| {
        let fns = signatures.iter().map(|(_, sig)| impl_fn(sig));
        quote! {
            #[automatically_derived]
            impl #name for #client {
                #(#fns)*
            }
        }
    });
    quote! {
        #item
        #env_enum
        #user_trait
        #client_items
        #trait_impl
    }
}

/// The methods whose names (with `{name}_pages` and `{name}_items` of a paginated one)
/// no method before took: a second one is reported by `valid`, and would be a duplicate
/// definition here.
fn distinct<'p, 'a>(endpoints: &'p [EndpointFn<'a>]) -> Vec<&'p EndpointFn<'a>> {
    let mut kept: Vec<&EndpointFn<'_>> = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    for e in endpoints {
        let names = crate::valid::generated_names(e);
        if names.iter().all(|n| !taken.contains(n)) {
            taken.extend(names);
            kept.push(e);
        }
    }
    kept
}

/// The method's signature as the expansion would make it, as far as it parsed: our
/// attributes removed, the user argument added when its type is known, patterns reduced
/// to names (a trait method without a body takes no patterns).
fn signature(e: &EndpointFn<'_>) -> Signature {
    let mut sig = e.item.sig.clone();
    for arg in &mut sig.inputs {
        let FnArg::Typed(arg) = arg else { continue };
        arg.attrs
            .retain(|a| ![QUERY, HEADER, BODY].iter().any(|k| a.path().is_ident(k)));
        match &mut *arg.pat {
            Pat::Ident(pat) => {
                pat.by_ref = None;
                pat.mutability = None;
                pat.subpat = None;
            }
            pat => *pat = parse_quote!(_),
        }
    }
    let at = usize::from(matches!(sig.inputs.first(), Some(FnArg::Receiver(_))));
    // Not `user`: an argument of that name is a mistake `valid` reports, and must not
    // become a second one here.
    match e.args.user.given() {
        Some(user) => {
            if let Some(ty) = user.as_type() {
                sig.inputs.insert(at, parse_quote!(__user: &#ty));
            }
        }
        // Unknown: most endpoints take a user, so any one is accepted.
        None => sig
            .inputs
            .insert(at, parse_quote!(__user: &impl ::core::any::Any)),
    }
    sig
}

/// The user trait, implemented for every type: for a declaration whose user types did
/// not all parse.
fn any_user_trait(names: &Names) -> TokenStream {
    let Names { vis, user, .. } = names;
    quote! {
        #vis trait #user: ::core::marker::Sync {
            /// Every scope the endpoints of this user type need.
            const SCOPES: &'static [&'static str];
        }
        #[automatically_derived]
        impl<T: ?::core::marker::Sized + ::core::marker::Sync> #user for T {
            const SCOPES: &'static [&'static str] = &[];
        }
    }
}

/// The trait's form of an endpoint: an `async fn` becomes a method returning a `Send`
/// future, as in the expansion, so implementations written for it still fit.
fn trait_signature(sig: &Signature) -> Signature {
    let mut sig = sig.clone();
    if sig.asyncness.take().is_some() {
        let output = match &sig.output {
            syn::ReturnType::Type(_, ty) => quote!(#ty),
            syn::ReturnType::Default => quote!(()),
        };
        sig.output = parse_quote! {
            -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
        };
    }
    sig
}

fn trait_fn(e: &EndpointFn<'_>, sig: &Signature) -> TraitItem {
    let docs = e.item.attrs.iter().filter(|a| a.path().is_ident("doc"));
    let sig = trait_signature(sig);
    parse_quote! {
        #(#docs)*
        #sig;
    }
}

fn impl_fn(sig: &Signature) -> TokenStream {
    let body = match sig.asyncness {
        Some(_) => quote!(async {
            ::core::panic!("a stand-in beside the errors of a declaration: it never runs")
        }),
        None => quote!(::core::panic!(
            "a stand-in beside the errors of a declaration: it never runs"
        )),
    };
    let sig = trait_signature(sig);
    quote! {
        #[allow(unused_variables)]
        #sig {
            #body
        }
    }
}

fn inherent_fn(e: &EndpointFn<'_>, sig: &Signature, names: &Names) -> TokenStream {
    let docs = e.item.attrs.iter().filter(|a| a.path().is_ident("doc"));
    let vis = &names.vis;
    let paged = paged_fns(e, sig, names);
    quote! {
        #(#docs)*
        #[allow(unused_variables)]
        #vis #sig {
            ::core::panic!("a stand-in beside the errors of a declaration: it never runs")
        }
        #paged
    }
}

/// A paginated endpoint's `{name}_pages` and `{name}_items`, when its answer type can be
/// read from `Result<T, ...>` and is a list.
fn paged_fns(e: &EndpointFn<'_>, sig: &Signature, names: &Names) -> Option<TokenStream> {
    if matches!(e.args.paginate, crate::ast::Slot::Absent) {
        return None;
    }
    let syn::ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    let syn::Type::Path(p) = &**ty else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    let ok = args.args.first()?;
    // A `Response<T>` there is a mistake `valid` reports; `Items<Response<T>>` would be
    // a second error.
    if let syn::GenericArgument::Type(syn::Type::Path(ok)) = ok
        && ok.path.segments.last()?.ident == "Response"
    {
        return None;
    }
    let vis = &names.vis;
    let inputs = &sig.inputs;
    let (pages, items) = (
        quote::format_ident!("{}_pages", sig.ident),
        quote::format_ident!("{}_items", sig.ident),
    );
    Some(quote! {
        #[allow(unused_variables)]
        #vis fn #pages(#inputs) -> ::oauth2_api::Pages<#ok> {
            ::core::panic!("a stand-in beside the errors of a declaration: it never runs")
        }
        #[allow(unused_variables)]
        #vis fn #items(#inputs) -> ::oauth2_api::Items<#ok> {
            ::core::panic!("a stand-in beside the errors of a declaration: it never runs")
        }
    })
}

/// The environments that were named (the flat form's is `default`), each once.
fn environment_enum(parsed: &Parsed<'_>, names: &Names) -> TokenStream {
    let api = &parsed.api;
    let flat = api
        .flat
        .as_ref()
        .map(|flat| LitStr::new("default", flat.at.span()));
    let mut env_names: Vec<&LitStr> = Vec::new();
    for env_name in flat
        .iter()
        .chain(api.environments.iter().filter_map(|e| e.name.given()))
    {
        if !env_names
            .iter()
            .any(|n| names::variant(n) == names::variant(env_name))
        {
            env_names.push(env_name);
        }
    }
    let doc = match api.provider.given() {
        Some(provider) => format!("The environments of the `{}` provider.", provider.value()),
        None => format!("The environments of [`{}`].", names.name),
    };
    expand::environment_enum(names, &doc, &env_names)
}
