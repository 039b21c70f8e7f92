//! One endpoint's methods: its declaration in the trait, its implementation for the
//! client (forwarding to the inherent method), and the inherent method that describes the
//! request and makes one call into the runtime.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, Ident};

use super::Names;
use crate::ast::{Endpoint, Param, ParamKind, User};
use crate::path::Segment;

/// The endpoint's arguments as declared, without our attributes, user argument first.
pub(super) fn signature_args(e: &Endpoint<'_>) -> Vec<TokenStream> {
    let mut args = Vec::new();
    if let User::Type(ty) = &e.user {
        args.push(quote!(user: &#ty));
    }
    for arg in e.item.sig.inputs.iter().skip(1) {
        if let FnArg::Typed(arg) = arg {
            let (pat, ty) = (&arg.pat, &arg.ty);
            args.push(quote!(#pat: #ty));
        }
    }
    args
}

pub(super) fn output(e: &Endpoint<'_>) -> TokenStream {
    match &e.item.sig.output {
        syn::ReturnType::Type(_, ty) => quote!(#ty),
        syn::ReturnType::Default => quote!(()),
    }
}

/// Where an error about the declared return type as a whole goes: its type (the first
/// token of it, on stable), not the `->` before it.
pub(super) fn output_span(e: &Endpoint<'_>) -> Span {
    match &e.item.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => e.item.sig.span(),
    }
}

pub(super) fn trait_fn(e: &Endpoint<'_>) -> TokenStream {
    let docs = &e.docs;
    let lints = &e.lints;
    let ident = &e.item.sig.ident;
    let args = signature_args(e);
    let output = output(e);
    quote! {
        #(#docs)*
        #(#lints)*
        fn #ident(&self, #(#args),*)
            -> impl ::core::future::Future<Output = #output> + ::core::marker::Send;
    }
}

pub(super) fn impl_fn(e: &Endpoint<'_>, client: &Ident) -> TokenStream {
    let ident = &e.item.sig.ident;
    let args = signature_args(e);
    let output = output(e);
    let user = matches!(e.user, User::Type(_)).then(|| quote!(user,));
    let names = e.params.iter().map(|p| &p.ident);
    let lints = generated_lints(e);
    quote! {
        #lints
        fn #ident(&self, #(#args),*)
            -> impl ::core::future::Future<Output = #output> + ::core::marker::Send {
            #client::#ident(self, #user #(#names),*)
        }
    }
}

/// The lint attributes of a method generated from `e`'s declaration: the declaration's
/// own (an `expect` as an `allow`, as a lint need not fire in every copy), and an `allow`
/// of `too_many_arguments`, which the declaration itself reports.
pub(super) fn generated_lints(e: &Endpoint<'_>) -> TokenStream {
    let lints = e.lints.iter().map(|attr| {
        let mut attr = (*attr).clone();
        if let syn::Meta::List(list) = &mut attr.meta
            && list.path.is_ident("expect")
        {
            list.path = syn::parse_quote!(allow);
        }
        attr
    });
    quote! {
        #(#lints)*
        #[allow(clippy::too_many_arguments, reason = "as declared")]
    }
}

pub(super) fn inherent_fn(e: &Endpoint<'_>, names: &Names) -> TokenStream {
    if e.paginate.is_some() {
        return super::pages::paged_fns(e, names);
    }
    let vis = &names.vis;
    let docs = &e.docs;
    let ident = &e.item.sig.ident;
    let args = signature_args(e);
    let output = output(e);
    let setup = request_setup(e, names);
    let ok = &e.ok_type;
    // The answer's decoding and the error's conversion are named spanned on the declared
    // answer and error types: a type that cannot be an answer, or an error type without
    // `From<oauth2_api::Error>`, is reported there, and only there.
    let decode = quote_spanned!(ok.span()=> <#ok as ::oauth2_api::FromAnswer>::from_answer);
    let convert = convert(e);
    let request = super::request_var();
    let call = match &e.user {
        User::Application => quote!(::oauth2_api::__private::call(
            &self.runtime, ::oauth2_api::UserRef::application(), #request, #decode, #convert)),
        User::Anonymous => quote!(::oauth2_api::__private::call_open(
            &self.runtime, #request, #decode, #convert)),
        User::Type(ty) => {
            let user = quote_spanned!(ty.span()=> ::oauth2_api::ApiUser::user_ref(user));
            quote!(::oauth2_api::__private::call(
                &self.runtime, #user, #request, #decode, #convert))
        }
    };
    // Not an `async fn`: the request is built from the arguments when the method is
    // called, and the runtime's future is the method's own (one level of future less to
    // build and move on every call); the session is still found when it is first polled.
    let future = future_of(&output);
    let lints = generated_lints(e);
    quote! {
        #(#docs)*
        #lints
        #vis fn #ident(&self, #(#args),*) -> #future {
            #setup
            #call
        }
    }
}

/// The function converting an `oauth2_api::Error` into the endpoint's declared error
/// type, spanned on that type: one without `From<oauth2_api::Error>` is reported there.
pub(super) fn convert(e: &Endpoint<'_>) -> TokenStream {
    match e.err_type {
        Some(err) => quote_spanned!(err.span()=>
            <#err as ::core::convert::From<::oauth2_api::Error>>::from),
        None => quote_spanned!(output_span(e)=> ::core::convert::Into::into),
    }
}

/// What a declared method returns: a future of its declared output that borrows the
/// client only as long as `&self`.
pub(super) fn future_of(output: &TokenStream) -> TokenStream {
    quote!(impl ::core::future::Future<Output = #output> + ::core::marker::Send + '_)
}

/// The endpoint's `static` description and the request, built from the arguments.
pub(super) fn request_setup(e: &Endpoint<'_>, names: &Names) -> TokenStream {
    let request = super::request_var();
    let user_trait = &names.user;
    let name = e.item.sig.ident.to_string();
    let method = Ident::new(e.method.variant(), e.method_span);
    let scopes = &e.scopes;
    let headers = e.headers.iter().map(|(n, v)| quote!((#n, #v)));
    let base_url = match e.base_url {
        Some(name) => {
            let name = name.to_string();
            quote!(::core::option::Option::Some(#name))
        }
        None => quote!(::core::option::Option::None),
    };
    let parts = request_parts(e);
    // A person is asked at once for every scope of the API for their kind of user.
    let authorize_scopes = match &e.user {
        User::Type(ty) => quote!(<#ty as #user_trait>::SCOPES),
        _ => quote!(&[#(#scopes),*]),
    };
    let scope_set = quote!(::oauth2_api::__private::ScopeSet::declared);
    quote! {
        static __ENDPOINT: ::oauth2_api::__private::Endpoint = ::oauth2_api::__private::Endpoint {
            name: #name,
            method: ::oauth2_api::Method::#method,
            scopes: #scope_set(&[#(#scopes),*]),
            authorize_scopes: #scope_set(#authorize_scopes),
            headers: &[#(#headers),*],
            base_url: #base_url,
        };
        let mut #request = ::oauth2_api::__private::Request::new(&__ENDPOINT);
        #[allow(unused_imports)]
        use ::oauth2_api::__private::{PickSerde as _, PickText as _};
        #(#parts)*
    }
}

fn request_parts(e: &Endpoint<'_>) -> Vec<TokenStream> {
    let request = super::request_var();
    let mut parts = Vec::new();
    for segment in &e.path.segments {
        parts.push(match segment {
            Segment::Static(s) => quote!(#request.path(#s);),
            Segment::Capture(c) => match e.params.iter().find(|p| p.ident == c) {
                Some(p) => by_text_or_serde(p, "path_param", quote!(#c)),
                // Reported by the checks; the name alone keeps the expansion readable.
                None => {
                    let ident = Ident::new(c, Span::call_site());
                    quote!(#request.path_param(#c, &#ident);)
                }
            },
        });
    }
    for p in &e.params {
        let ident = &p.ident;
        let arg = ident.unraw().to_string();
        parts.push(match &p.kind {
            ParamKind::Path => continue,
            ParamKind::Query(wire) => by_text_or_serde(p, "query", quote!(#arg, #wire)),
            // Spanned on the type, as above: a type that is not `Serialize` is refused there.
            ParamKind::Header(header) => {
                quote_spanned!(p.ty_span=> #request.header(#arg, #header, &#ident);)
            }
            ParamKind::Body(_) => quote_spanned!(p.ty_span=> #request.body(#arg, &#ident);),
        });
    }
    parts
}

/// `p` added to the request by the runtime's `method`, with `args` before the value: as
/// its own text for a scalar, else through serde, whichever the argument's type has (see
/// `oauth2_api::__private::Arg`). Spanned on the type: one that is neither is refused
/// there, as not `Serialize`.
fn by_text_or_serde(p: &Param, method: &str, args: TokenStream) -> TokenStream {
    let request = super::request_var();
    let ident = &p.ident;
    let method = Ident::new(method, p.ty_span);
    quote_spanned! {p.ty_span=>
        (&::oauth2_api::__private::Arg(&#ident)).__oauth2_api_pick().#method(&mut #request, #args, &#ident);
    }
}
