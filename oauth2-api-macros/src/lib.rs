//! Procedural macros of [`oauth2-api`](https://docs.rs/oauth2-api): `#[oauth2_api]` and
//! `#[endpoint]`. Use them through the `oauth2_api` crate, which re-exports them.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod names;
mod path;
mod symbol;
mod valid;

use proc_macro::TokenStream;
use syn::ItemTrait;

/// Declares an OAuth2-protected API as a trait and generates its typed client.
///
/// ```text
/// #[oauth2_api(provider = "HMRC",
///              environment(name = "sandbox", base_url = "https://test-api.service.hmrc.gov.uk",
///                          auth_url = "https://test-www.tax.service.gov.uk/oauth/authorize",
///                          token_url = "https://test-api.service.hmrc.gov.uk/oauth/token"),
///              client_auth = "body",
///              headers("Accept" = "application/vnd.hmrc.1.0+json"))]
/// pub trait HmrcVat {
///     #[endpoint(method = GET, path = "/organisations/vat/{vrn}/obligations", scope = "read:vat", user = Company)]
///     async fn obligations(&self, vrn: &str, #[query] from: NaiveDate, #[query] to: NaiveDate)
///         -> Result<Obligations, oauth2_api::Error>;
/// }
/// ```
///
/// Keys of `#[oauth2_api(...)]`:
///
/// | key | value |
/// |---|---|
/// | `provider` | the provider's name; sessions are stored under it |
/// | `base_url`, `auth_url`, `token_url`, `revoke_url`, `issuer` | the flat form: one environment, named `default` |
/// | `environment(name = "...", base_url = ..., auth_url = ..., token_url = ..., revoke_url = ..., issuer = ...)` | repeated, one per environment; the first is the default |
/// | `base_urls(identity = "https://...", ...)`, in each `environment(...)` (or flat) | named extra base URLs, for parts of the API on another host or prefix |
/// | `scope_separator = " "` | how scopes are joined in requests (answers are split on it, spaces and commas) |
/// | `scopes = ["offline_access", "openid"]` | asked for in every authorization of a person, required by no endpoint |
/// | `scope_policy = "granted"` or `"requested"` | which scopes a token covers: those the token answer lists (the default) or those asked for |
/// | `scope_implies("user" = "read:user", ...)` | a granted scope that covers another (GitHub's `user` covers `read:user`) |
/// | `client_auth = "basic"` or `"body"` | how the client authenticates at the token endpoint |
/// | `headers("Name" = "value", ...)` | headers sent with every call |
/// | `error_body = Type` | the shape of the API's error bodies (`serde::Deserialize + Debug`): each `ApiError` whose body decodes as it hands it out with `body_as::<Type>()` |
///
/// Keys of `#[endpoint(...)]` on each method: `method` (`GET` `POST` `PUT` `PATCH`
/// `DELETE`), `path` (with `{name}` segments bound to same-named arguments, percent-encoded),
/// `scope` (`"a"` or `["a", "b"]`), `user` (a type implementing `ApiUser`; the bare name
/// `Application` for the client-credentials grant, or `Anonymous` for an open endpoint
/// called without a token: a path such as `billing::Application` is a type of yours),
/// `headers("Name" = "value")`, `base_url = name` (one of the environments'
/// `base_urls`, instead of their `base_url`), `paginate(...)`. Each key is given once.
///
/// `paginate(...)` declares a list endpoint returning the items of one page, and one
/// way to reach the next page: `link` (the `Link` header's `rel="next"`), `page = "page"`
/// (with `per_page = "per_page"`, the query parameter of the page size, when sent),
/// `offset = "offset"` (with `limit = "limit"`), or `cursor = "next_cursor", param =
/// "cursor"` (a field of the body, sent back in a query parameter); `items = "data"`
/// names the body's field holding the items. Besides the method (the first page's
/// items), the client gets `{name}_pages` and `{name}_items`, streams of the pages (as
/// `Response<T>`) and of their items.
///
/// Arguments: path segments by name; `#[query]` (or `#[query(rename = "wireName")]`, an
/// `Option` that is `None` is left out, a sequence repeats the parameter, a struct is
/// flattened into one parameter per field under its serde name; a raw identifier such
/// as `r#where` is sent as `where`), `#[header("Name")]`, `#[body]` (JSON).
///
/// Return types: `Result<T, E>` (or an alias whose name ends in `Result`, such as
/// `ApiResult<T>`), where `T` is the decoded JSON body (`()` for none) or
/// `oauth2_api::Response<T>` (status, headers and decoded body), and `E` is
/// `oauth2_api::Error` or a type implementing `From<oauth2_api::Error>`.
///
/// For a trait `Name` it generates: the trait, with a `user: &U` argument first on every
/// endpoint whose user is a type; `NameClient`, implementing the trait, with the same
/// methods inherent (no import needed), the session operations (`begin_authorization`,
/// `is_authorized`, `disconnect`, `last_error`, `select_environment`) and `with_context`
/// for request hooks; `NameEnv`, one variant per environment; and `NameUser`, the user
/// types of the API with the scopes they need. An endpoint method builds its request
/// from its arguments when it is called, and finds the user's session and token when the
/// future it returns is first polled. They take the trait's visibility (a `pub(crate)`
/// trait makes `pub(crate)` items). An endpoint cannot take the name of one
/// of the client's own methods: `provider`, `builder`, `new`, `with_context`, `runtime`
/// and the session operations above.
///
/// A mistake in the declaration is a compile error at the offending token. The trait,
/// the client, the enum and the user trait are still emitted, as stand-ins, so that the
/// code using them reports nothing more.
#[proc_macro_attribute]
pub fn oauth2_api(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = match syn::parse::<ItemTrait>(input) {
        Ok(item) => item,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "`#[oauth2_api]` goes on a trait declaring the API's endpoints",
            )
            .to_compile_error()
            .into();
        }
    };
    expand(args.into(), &item).into()
}

/// The pipeline: parse the declaration as written, check it, and expand it; or, when a
/// rule fails, emit its errors beside the fallback, which keeps the rest of the crate
/// free of errors that would only follow from them.
fn expand(args: proc_macro2::TokenStream, item: &ItemTrait) -> proc_macro2::TokenStream {
    let cx = ctxt::Ctxt::default();
    let parsed = attr::parse(&cx, args, item);
    let checked = valid::check(&cx, &parsed);
    match (cx.check(), checked) {
        (Ok(()), Some(decl)) => expand::expand(&decl),
        (result, _) => {
            let mut out = fallback::fallback(&parsed);
            if let Err(e) = result {
                out.extend(e.to_compile_error());
            }
            out
        }
    }
}

/// Marks a method of an `#[oauth2_api]` trait as an endpoint; see [`macro@oauth2_api`]
/// for its keys. It does nothing on its own: `#[oauth2_api]` reads it.
#[proc_macro_attribute]
pub fn endpoint(_args: TokenStream, input: TokenStream) -> TokenStream {
    let mut out: proc_macro2::TokenStream = syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[endpoint]` works only on a method of a trait marked `#[oauth2_api(...)]`",
    )
    .to_compile_error();
    out.extend(proc_macro2::TokenStream::from(input));
    out.into()
}

#[cfg(test)]
mod tests;
