//! Code generation: the trait (with the user argument added), the client, the
//! environment enum, the user trait, and one thin method per endpoint.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemTrait, TraitItem};

use crate::ast::{Api, ClientAuth, Endpoint, ParamKind, User};
use crate::path::Segment;

pub(crate) fn expand(api: &Api, item: &ItemTrait, endpoints: &[Endpoint<'_>]) -> TokenStream {
    let vis = &item.vis;
    let name = &item.ident;
    let client = format_ident!("{}Client", name);
    let env_enum = format_ident!("{}Env", name);
    let user_trait = format_ident!("{}User", name);

    let trait_attrs = &item.attrs;
    let trait_fns = endpoints.iter().map(|e| trait_fn(e));
    let inherent_fns = endpoints.iter().map(|e| inherent_fn(e, &user_trait));
    let impl_fns = endpoints.iter().map(|e| impl_fn(e, &client));
    let provider = provider_expr(api);
    let (env_items, env_doc) = environments(api, &env_enum);
    let user_impls = user_impls(endpoints, &user_trait);
    let client_doc = format!(
        "The client of [`{name}`]: one method per endpoint, and the session operations of its users.\n\n\
         Build it from a runtime configured with [`{client}::builder`]."
    );
    let user_doc = format!(
        "A user type of [`{name}`], with the scopes its endpoints need. Implemented for each `user = ...` \
         of the declaration (which must also implement `ApiUser`)."
    );

    quote! {
        #(#trait_attrs)*
        #vis trait #name {
            #(#trait_fns)*
        }

        #[doc = #env_doc]
        #env_items

        #[doc = #user_doc]
        #vis trait #user_trait: ::core::marker::Sync {
            /// Every scope the endpoints of this user type need.
            const SCOPES: &'static [&'static str];
        }
        #user_impls

        #[doc = #client_doc]
        #[derive(Clone, Debug)]
        #vis struct #client {
            runtime: ::oauth2_api::Runtime,
        }

        impl #client {
            /// The provider as declared: its name, environments and conventions.
            #vis fn provider() -> ::oauth2_api::Provider {
                #provider
            }

            /// Starts configuring a runtime for this provider (credentials, store, URL overrides).
            #vis fn builder() -> ::oauth2_api::RuntimeBuilder {
                ::oauth2_api::Runtime::builder(Self::provider())
            }

            /// A client on `runtime`, which must be configured for this provider.
            #vis fn new(runtime: ::oauth2_api::Runtime) -> Self {
                Self { runtime }
            }

            /// This client with `context` for its calls' request hooks (an end user's IP
            /// address for fraud-prevention headers, a test scenario).
            #vis fn with_context(&self, context: ::oauth2_api::CallContext) -> Self {
                Self { runtime: self.runtime.with_context(context) }
            }

            /// The runtime: sessions, the escape hatch, authorization completion.
            #vis fn runtime(&self) -> &::oauth2_api::Runtime {
                &self.runtime
            }

            /// Chooses the environment `user` works in.
            #vis async fn select_environment(
                &self,
                user: &(impl #user_trait + ::oauth2_api::ApiUser),
                environment: #env_enum,
            ) -> ::core::result::Result<(), ::oauth2_api::Error> {
                self.runtime.select_environment(user, environment.name()).await
            }

            /// Begins authorizing `user` for every scope its endpoints need; send the person
            /// to the returned URL.
            #vis async fn begin_authorization<U: #user_trait + ::oauth2_api::ApiUser>(
                &self,
                user: &U,
                return_to: ::core::option::Option<&str>,
            ) -> ::core::result::Result<::oauth2_api::AuthorizationRequest, ::oauth2_api::Error> {
                self.runtime.begin_authorization(user, U::SCOPES, return_to).await
            }

            /// Whether `user` holds a grant covering every scope its endpoints need.
            #vis async fn is_authorized<U: #user_trait + ::oauth2_api::ApiUser>(
                &self,
                user: &U,
            ) -> ::core::result::Result<bool, ::oauth2_api::Error> {
                self.runtime.is_authorized(user, U::SCOPES).await
            }

            /// Revokes `user`'s grant at the provider and forgets its session.
            #vis async fn disconnect(
                &self,
                user: &(impl #user_trait + ::oauth2_api::ApiUser),
            ) -> ::core::result::Result<(), ::oauth2_api::Error> {
                self.runtime.disconnect(user).await
            }

            /// Why `user`'s session last failed, if it did.
            #vis async fn last_error(
                &self,
                user: &(impl #user_trait + ::oauth2_api::ApiUser),
            ) -> ::core::result::Result<::core::option::Option<::oauth2_api::LastError>, ::oauth2_api::Error> {
                self.runtime.last_error(user).await
            }

            #(#inherent_fns)*
        }

        impl #name for #client {
            #(#impl_fns)*
        }
    }
}

fn provider_expr(api: &Api) -> TokenStream {
    let name = &api.provider;
    let envs = api.environments.iter().map(|e| {
        let (n, b, a, t) = (&e.name, &e.base_url, &e.auth_url, &e.token_url);
        let revoke = e.revoke_url.as_ref().map(|r| quote!(.revoke_url(#r)));
        let issuer = e.issuer.as_ref().map(|i| quote!(.issuer(#i)));
        quote!(.environment(::oauth2_api::Environment::new(#n, #b, #a, #t) #revoke #issuer))
    });
    let separator = api
        .scope_separator
        .as_ref()
        .map(|s| quote!(.scope_separator(#s)));
    let auth = api.client_auth.map(|a| match a {
        ClientAuth::Basic => quote!(.client_auth(::oauth2_api::ClientAuth::Basic)),
        ClientAuth::Body => quote!(.client_auth(::oauth2_api::ClientAuth::RequestBody)),
    });
    let headers = api.headers.iter().map(|(n, v)| quote!(.header(#n, #v)));
    quote! {
        ::oauth2_api::Provider::new(#name) #(#envs)* #separator #auth #(#headers)*
    }
}

fn environments(api: &Api, env_enum: &Ident) -> (TokenStream, String) {
    let variants: Vec<Ident> = api
        .environments
        .iter()
        .map(|e| Ident::new(&camel(&e.name.value()), e.name.span()))
        .collect();
    let names: Vec<_> = api.environments.iter().map(|e| &e.name).collect();
    let docs = names
        .iter()
        .map(|n| format!("The `{}` environment.", n.value()));
    let tokens = quote! {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum #env_enum {
            #( #[doc = #docs] #variants, )*
        }

        impl #env_enum {
            /// Every environment, the default first.
            pub const ALL: &'static [Self] = &[#(Self::#variants),*];

            /// The environment's name, as the runtime and the store know it.
            pub const fn name(self) -> &'static str {
                match self {
                    #(Self::#variants => #names,)*
                }
            }
        }
    };
    let doc = format!(
        "The environments of the `{}` provider.",
        api.provider.value()
    );
    (tokens, doc)
}

/// `sandbox` → `Sandbox`, `pre-production` → `PreProduction`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if upper {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'E');
    }
    out
}

fn user_impls(endpoints: &[Endpoint<'_>], user_trait: &Ident) -> TokenStream {
    let mut types: Vec<(String, &syn::Type, Vec<String>)> = Vec::new();
    for e in endpoints {
        let User::Type(ty) = &e.user else { continue };
        let key = quote!(#ty).to_string();
        let entry = match types.iter_mut().find(|(k, _, _)| *k == key) {
            Some(entry) => entry,
            None => {
                types.push((key, ty, Vec::new()));
                types.last_mut().expect("just pushed")
            }
        };
        for s in &e.scopes {
            if !entry.2.contains(&s.value()) {
                entry.2.push(s.value());
            }
        }
    }
    types
        .iter()
        .map(|(_, ty, scopes)| {
            // Spanned on the user's type, so "not an ApiUser" points at it.
            quote_spanned! {ty.span()=>
                impl #user_trait for #ty {
                    const SCOPES: &'static [&'static str] = &[#(#scopes),*];
                }
            }
        })
        .collect()
}

/// The endpoint's arguments as declared, without our attributes, user argument first.
fn signature_args(e: &Endpoint<'_>) -> Vec<TokenStream> {
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

fn output(e: &Endpoint<'_>) -> TokenStream {
    match &e.item.sig.output {
        syn::ReturnType::Type(_, ty) => quote!(#ty),
        syn::ReturnType::Default => quote!(()),
    }
}

fn trait_fn(e: &Endpoint<'_>) -> TokenStream {
    let docs = &e.docs;
    let ident = &e.item.sig.ident;
    let args = signature_args(e);
    let output = output(e);
    quote! {
        #(#docs)*
        fn #ident(&self, #(#args),*)
            -> impl ::core::future::Future<Output = #output> + ::core::marker::Send;
    }
}

fn impl_fn(e: &Endpoint<'_>, client: &Ident) -> TokenStream {
    let ident = &e.item.sig.ident;
    let args = signature_args(e);
    let output = output(e);
    let user = matches!(e.user, User::Type(_)).then(|| quote!(user,));
    let names = e.params.iter().map(|p| &p.ident);
    quote! {
        fn #ident(&self, #(#args),*)
            -> impl ::core::future::Future<Output = #output> + ::core::marker::Send {
            #client::#ident(self, #user #(#names),*)
        }
    }
}

fn inherent_fn(e: &Endpoint<'_>, user_trait: &Ident) -> TokenStream {
    let docs = &e.docs;
    let ident = &e.item.sig.ident;
    let args = signature_args(e);
    let output = output(e);
    let name = ident.to_string();
    let method = Ident::new(e.method.variant(), e.method_span);
    let scopes = &e.scopes;
    let headers = e.headers.iter().map(|(n, v)| quote!((#n, #v)));
    let parts = request_parts(e);
    // A person is asked at once for every scope of the API for their kind of user.
    let authorize_scopes = match &e.user {
        User::Type(ty) => quote!(<#ty as #user_trait>::SCOPES),
        _ => quote!(&[#(#scopes),*]),
    };
    let ok = &e.ok_type;
    let call = match &e.user {
        User::Application => {
            let call = quote_spanned!(ok.span()=> ::oauth2_api::__private::call::<#ok>);
            quote!(#call(&self.runtime, ::oauth2_api::UserRef::application(), __request))
        }
        User::Anonymous => {
            let call = quote_spanned!(ok.span()=> ::oauth2_api::__private::call_open::<#ok>);
            quote!(#call(&self.runtime, __request))
        }
        User::Type(ty) => {
            let call = quote_spanned!(ok.span()=> ::oauth2_api::__private::call::<#ok>);
            let user = quote_spanned!(ty.span()=> ::oauth2_api::ApiUser::user_ref(user));
            quote!(#call(&self.runtime, #user, __request))
        }
    };
    quote! {
        #(#docs)*
        pub async fn #ident(&self, #(#args),*) -> #output {
            static __ENDPOINT: ::oauth2_api::__private::Endpoint = ::oauth2_api::__private::Endpoint {
                name: #name,
                method: ::oauth2_api::Method::#method,
                scopes: &[#(#scopes),*],
                authorize_scopes: #authorize_scopes,
                headers: &[#(#headers),*],
            };
            let mut __request = ::oauth2_api::__private::Request::new(&__ENDPOINT);
            #(#parts)*
            ::core::result::Result::map_err(
                #call.await,
                ::core::convert::Into::into,
            )
        }
    }
}

fn request_parts(e: &Endpoint<'_>) -> Vec<TokenStream> {
    let mut parts = Vec::new();
    for segment in &e.path.segments {
        parts.push(match segment {
            Segment::Static(s) => quote!(__request.path(#s);),
            Segment::Capture(c) => {
                let ident = Ident::new(c, Span::call_site());
                let param = e
                    .params
                    .iter()
                    .find(|p| p.ident == c)
                    .map(|p| &p.ident)
                    .unwrap_or(&ident);
                quote!(__request.path_param(#c, &#param);)
            }
        });
    }
    for p in &e.params {
        let ident = &p.ident;
        let arg = ident.to_string();
        parts.push(match &p.kind {
            ParamKind::Path => continue,
            ParamKind::Query(wire) => quote!(__request.query(#arg, #wire, &#ident);),
            ParamKind::Header(header) => quote!(__request.header(#arg, #header, &#ident);),
            ParamKind::Body(_) => quote!(__request.body(#arg, &#ident);),
        });
    }
    parts
}

/// The declaration as written minus our attributes: emitted beside the errors, so one
/// mistake does not turn every use of the trait into another error.
pub(crate) fn fallback(item: &ItemTrait) -> TokenStream {
    let mut item = item.clone();
    for it in &mut item.items {
        if let TraitItem::Fn(f) = it {
            f.attrs
                .retain(|a| !a.path().is_ident(crate::symbol::ENDPOINT));
            for arg in &mut f.sig.inputs {
                if let FnArg::Typed(arg) = arg {
                    arg.attrs.retain(|a| {
                        ![
                            crate::symbol::QUERY,
                            crate::symbol::HEADER,
                            crate::symbol::BODY,
                        ]
                        .iter()
                        .any(|k| a.path().is_ident(k))
                    });
                }
            }
        }
    }
    quote! {
        #[allow(async_fn_in_trait)]
        #item
    }
}
