//! A paginated endpoint's methods: `{name}_pages` (a stream of pages with their status
//! and headers), `{name}_items` (a stream of their items), and the declared method,
//! which returns the first page's items. Each builds the first request as a plain
//! endpoint does and hands it to the runtime, which makes the next ones.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::Names;
use super::endpoint::{convert, future_of, output, request_setup, signature_args};
use crate::ast::{Endpoint, PageStyle, User};

pub(super) fn paged_fns(e: &Endpoint<'_>, names: &Names) -> TokenStream {
    let request = super::request_var();
    let vis = &names.vis;
    let docs = &e.docs;
    let ident = &e.item.sig.ident;
    let (pages, items) = (
        format_ident!("{ident}_pages"),
        format_ident!("{ident}_items"),
    );
    let args = signature_args(e);
    let output = output(e);
    let forward: Vec<_> = e.params.iter().map(|p| &p.ident).collect();
    let user = matches!(e.user, User::Type(_)).then(|| quote!(user,));
    let setup = request_setup(e, names);
    let paginate = paginate(e);
    let ok = e.ok_type;
    let who = match &e.user {
        User::Application => quote!(::core::option::Option::Some(
            ::oauth2_api::UserRef::application()
        )),
        User::Anonymous => quote!(::core::option::Option::None),
        User::Type(ty) => {
            let user = quote_spanned!(ty.span()=> ::oauth2_api::ApiUser::user_ref(user));
            quote!(::core::option::Option::Some(#user))
        }
    };
    // Spanned on the declared types: an answer that is not a list of items, or an error
    // type without `From<oauth2_api::Error>`, is reported there. The decoding and the
    // conversion are named as functions (spanned on the list and error types), so that
    // the streams carry no bound that could fail again on the attribute.
    let err = quote_spanned!(e.item.sig.output.span()=>
        <#output as ::oauth2_api::__private::Declared>::Err);
    let pages_type = quote_spanned!(ok.span()=> ::oauth2_api::Pages<#ok, #err>);
    let items_type = quote_spanned!(ok.span()=> ::oauth2_api::Items<#ok, #err>);
    let decode = quote_spanned!(ok.span()=> ::oauth2_api::__private::page_items::<#ok>);
    let convert = convert(e);
    let future = future_of(&output);
    // The whole call on the list type: an answer that is not a list is reported there
    // (where the return type reports it too), not on the attribute.
    let items_call = quote_spanned!(ok.span()=> self.#pages(#user #(#forward),*).items());
    let pages_doc = format!(
        "The pages of [`{ident}`](Self::{ident}), each with its status and headers: a \
         stream, ending after the last page or the first error."
    );
    let items_doc = format!(
        "The items of every page of [`{ident}`](Self::{ident}), one by one: a stream, \
         ending after the last item or the first error."
    );
    let lints = super::endpoint::generated_lints(e);
    quote! {
        #(#docs)*
        #lints
        #vis fn #ident(&self, #(#args),*) -> #future {
            self.#pages(#user #(#forward),*).first()
        }

        #[doc = #pages_doc]
        #lints
        #vis fn #pages(&self, #(#args),*) -> #pages_type {
            #setup
            #paginate
            ::oauth2_api::__private::pages(
                &self.runtime, #who, #request, &__PAGINATE, #decode, #convert)
        }

        #[doc = #items_doc]
        #lints
        #vis fn #items(&self, #(#args),*) -> #items_type {
            #items_call
        }
    }
}

/// The `static` describing how the endpoint pages.
fn paginate(e: &Endpoint<'_>) -> TokenStream {
    let Some(p) = &e.paginate else {
        return TokenStream::new();
    };
    let option = |lit: Option<&syn::LitStr>| match lit {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };
    let style = match &p.style {
        PageStyle::Link => quote!(Link),
        PageStyle::Page(param, size) => {
            let size = option(*size);
            quote!(Page { param: #param, size: #size })
        }
        PageStyle::Offset(param, limit) => {
            let limit = option(*limit);
            quote!(Offset { param: #param, limit: #limit })
        }
        PageStyle::Cursor(field, param) => quote!(Cursor { field: #field, param: #param }),
    };
    let items = option(p.items);
    quote! {
        static __PAGINATE: ::oauth2_api::__private::Paginate = ::oauth2_api::__private::Paginate {
            style: ::oauth2_api::__private::PageStyle::#style,
            items: #items,
        };
    }
}
