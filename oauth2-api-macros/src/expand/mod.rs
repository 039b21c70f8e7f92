//! Code generation from a checked declaration: the trait (with the user argument
//! added), the client, the environment enum, the user trait, and one thin method per
//! endpoint. The parts that do not depend on the endpoints being valid (the client's own
//! methods, the enum, the user trait) are also what `fallback` emits.

mod endpoint;
mod pages;

use crate::names::{Names, variant};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Type};

use crate::ast::{Api, ClientAuth, Declaration, ScopePolicy};
use endpoint::{impl_fn, inherent_fn, trait_fn};

/// Expands a checked declaration.
pub(crate) fn expand(decl: &Declaration<'_>) -> TokenStream {
    let names = Names::of(decl.item);
    let Names {
        vis, name, client, ..
    } = &names;
    let attrs = &decl.item.attrs;
    let trait_fns = decl.endpoints.iter().map(trait_fn);
    let impl_fns = decl.endpoints.iter().map(|e| impl_fn(e, client));
    let inherent_fns = decl
        .endpoints
        .iter()
        .map(|e| inherent_fn(e, &names))
        .collect();
    let env_names: Vec<&LitStr> = decl.api.environments.iter().map(|e| &e.name).collect();
    let env_doc = format!(
        "The environments of the `{}` provider.",
        decl.api.provider.value()
    );
    let env_enum = environment_enum(&names, &env_doc, &env_names);
    let users = user_scopes(
        decl.endpoints
            .iter()
            .filter_map(|e| Some((e.user.as_type()?, e.scopes))),
    );
    let user_trait = user_trait(&names, &users);
    let client_items = client_items(&names, provider_expr(&decl.api), inherent_fns);
    quote! {
        #(#attrs)*
        #vis trait #name {
            #(#trait_fns)*
        }

        #env_enum
        #user_trait
        #client_items

        #[automatically_derived]
        impl #name for #client {
            #(#impl_fns)*
        }
    }
}

/// The client struct and its inherent methods: the constructors, the session operations
/// and `methods` (one per endpoint).
pub(crate) fn client_items(
    names: &Names,
    provider: TokenStream,
    methods: Vec<TokenStream>,
) -> TokenStream {
    let Names {
        vis, name, client, ..
    } = names;
    let doc = format!(
        "The client of [`{name}`]: one method per endpoint, and the session operations of its users.\n\n\
         Build it from a runtime configured with [`{client}::builder`]."
    );
    let constructors = constructors(names, provider);
    let sessions = session_operations(names);
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #client {
            runtime: ::oauth2_api::Runtime,
        }

        #[automatically_derived]
        impl #client {
            #constructors
            #sessions
            #(#methods)*
        }
    }
}

fn constructors(names: &Names, provider: TokenStream) -> TokenStream {
    let vis = &names.vis;
    quote! {
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
    }
}

fn session_operations(names: &Names) -> TokenStream {
    let Names { vis, env, user, .. } = names;
    quote! {
        /// Chooses the environment `user` works in.
        #vis async fn select_environment(
            &self,
            user: &(impl #user + ::oauth2_api::ApiUser),
            environment: #env,
        ) -> ::core::result::Result<(), ::oauth2_api::Error> {
            self.runtime.select_environment(user, environment.name()).await
        }

        /// Begins authorizing `user` for every scope its endpoints need; send the person
        /// to the returned URL.
        #vis async fn begin_authorization<U: #user + ::oauth2_api::ApiUser>(
            &self,
            user: &U,
            return_to: ::core::option::Option<&str>,
        ) -> ::core::result::Result<::oauth2_api::AuthorizationRequest, ::oauth2_api::Error> {
            self.runtime.begin_authorization(user, U::SCOPES, return_to).await
        }

        /// Whether `user` holds a grant covering every scope its endpoints need.
        #vis async fn is_authorized<U: #user + ::oauth2_api::ApiUser>(
            &self,
            user: &U,
        ) -> ::core::result::Result<bool, ::oauth2_api::Error> {
            self.runtime.is_authorized(user, U::SCOPES).await
        }

        /// Revokes `user`'s grant at the provider and forgets its session.
        #vis async fn disconnect(
            &self,
            user: &(impl #user + ::oauth2_api::ApiUser),
        ) -> ::core::result::Result<(), ::oauth2_api::Error> {
            self.runtime.disconnect(user).await
        }

        /// Why `user`'s session last failed, if it did.
        #vis async fn last_error(
            &self,
            user: &(impl #user + ::oauth2_api::ApiUser),
        ) -> ::core::result::Result<::core::option::Option<::oauth2_api::LastError>, ::oauth2_api::Error> {
            self.runtime.last_error(user).await
        }
    }
}

fn provider_expr(api: &Api) -> TokenStream {
    let name = &api.provider;
    let envs = api.environments.iter().map(|e| {
        let (n, b, a, t) = (&e.name, &e.base_url, &e.auth_url, &e.token_url);
        let revoke = e.revoke_url.as_ref().map(|r| quote!(.revoke_url(#r)));
        let issuer = e.issuer.as_ref().map(|i| quote!(.issuer(#i)));
        let named = e.base_urls.iter().map(|(name, url)| {
            let name = name.to_string();
            quote!(.named_base_url(#name, #url))
        });
        quote!(.environment(::oauth2_api::Environment::new(#n, #b, #a, #t) #(#named)* #revoke #issuer))
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
    let policy = api.scope_policy.map(|p| match p {
        ScopePolicy::Granted => quote!(.scope_policy(::oauth2_api::ScopePolicy::Granted)),
        ScopePolicy::Requested => quote!(.scope_policy(::oauth2_api::ScopePolicy::Requested)),
    });
    let always = api.scopes.iter().map(|s| quote!(.authorization_scope(#s)));
    let implies = api
        .scope_implies
        .iter()
        .map(|(b, n)| quote!(.scope_implies(#b, #n)));
    // Spanned on the type: one that is not `Deserialize + Debug + Send + Sync` is
    // reported there.
    let error_body = api.error_body.as_ref().map(|ty| {
        let method = quote_spanned!(ty.span()=> error_body::<#ty>);
        quote!(.#method())
    });
    quote! {
        ::oauth2_api::Provider::new(#name) #(#envs)* #separator #auth #(#headers)* #(#always)* #policy #(#implies)* #error_body
    }
}

/// The environment enum: one variant per name, the default first.
pub(crate) fn environment_enum(names: &Names, doc: &str, env_names: &[&LitStr]) -> TokenStream {
    let Names { vis, env, .. } = names;
    let variants: Vec<Ident> = env_names.iter().map(|n| variant(n)).collect();
    let docs = env_names
        .iter()
        .map(|n| format!("The `{}` environment.", n.value()));
    quote! {
        #[doc = #doc]
        // Each variant is an environment a user may choose, named or not in the code.
        #[allow(dead_code)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #vis enum #env {
            #( #[doc = #docs] #variants, )*
        }

        #[automatically_derived]
        impl #env {
            /// Every environment, the default first.
            #vis const ALL: &'static [Self] = &[#(Self::#variants),*];

            /// The environment's name, as the runtime and the store know it.
            #vis const fn name(self) -> &'static str {
                match self {
                    #(Self::#variants => #env_names,)*
                }
            }
        }

        /// The name, so that the runtime builder takes the variant where it takes a name.
        #[automatically_derived]
        impl ::core::convert::AsRef<str> for #env {
            fn as_ref(&self) -> &str {
                self.name()
            }
        }
    }
}

/// Each user type with the scopes of its endpoints, in the order of the declaration.
pub(crate) fn user_scopes<'t>(
    endpoints: impl Iterator<Item = (&'t Type, &'t [LitStr])>,
) -> Vec<(&'t Type, Vec<String>)> {
    let mut users: Vec<(String, &Type, Vec<String>)> = Vec::new();
    for (ty, scopes) in endpoints {
        let key = ty.to_token_stream().to_string();
        let index = match users.iter().position(|(k, _, _)| *k == key) {
            Some(index) => index,
            None => {
                users.push((key, ty, Vec::new()));
                users.len() - 1
            }
        };
        for s in scopes {
            if !users[index].2.contains(&s.value()) {
                users[index].2.push(s.value());
            }
        }
    }
    users
        .into_iter()
        .map(|(_, ty, scopes)| (ty, scopes))
        .collect()
}

/// The user trait, implemented for each user type with the scopes it needs.
pub(crate) fn user_trait(names: &Names, users: &[(&Type, Vec<String>)]) -> TokenStream {
    let Names {
        vis, name, user, ..
    } = names;
    let doc = format!(
        "A user type of [`{name}`], with the scopes its endpoints need. Implemented for each `user = ...` \
         of the declaration (which must also implement `ApiUser`)."
    );
    let impls = users.iter().map(|(ty, scopes)| {
        // Spanned on the user's type, so an error about the type points at it.
        quote_spanned! {ty.span()=>
            #[automatically_derived]
            impl #user for #ty {
                const SCOPES: &'static [&'static str] = &[#(#scopes),*];
            }
        }
    });
    quote! {
        #[doc = #doc]
        #vis trait #user: ::core::marker::Sync {
            /// Every scope the endpoints of this user type need.
            const SCOPES: &'static [&'static str];
        }
        #(#impls)*
    }
}

/// The generated request's local variable: hygienic, so that an argument of the same
/// name (`__request`) is neither shadowed by it nor mistaken for it.
pub(super) fn request_var() -> Ident {
    Ident::new("__request", Span::mixed_site())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::CLIENT_METHODS;
    use syn::ItemTrait;

    /// The names `valid` keeps endpoints from are exactly the methods the client gets
    /// besides its endpoints.
    #[test]
    fn client_methods_are_the_generated_ones() {
        let item: ItemTrait = syn::parse_quote!(
            pub trait Vat {}
        );
        let tokens = client_items(&Names::of(&item), quote!(::core::panic!()), Vec::new());
        let file: syn::File = syn::parse2(tokens).expect("the client parses as a file");
        let generated: Vec<String> = file
            .items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Impl(block) => Some(&block.items),
                _ => None,
            })
            .flatten()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(generated, CLIENT_METHODS);
    }
}
