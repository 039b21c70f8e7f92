//! The pipeline as a whole: the expansion snapshot, and how many errors a broken
//! declaration reports (one per mistake, none that only follows from another).

use proc_macro2::TokenStream;
use quote::quote;

/// Expands `trait Vat` with `args` and `endpoints`.
fn expand(args: TokenStream, endpoints: TokenStream) -> syn::File {
    let item = syn::parse2(quote!(pub trait Vat { #endpoints })).expect("a trait");
    syn::parse2(super::expand(args, &item)).expect("the output parses as a file")
}

/// The messages of the `compile_error!`s in `file`.
fn errors(file: &syn::File) -> Vec<String> {
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Macro(m) if m.mac.path.segments.last()?.ident == "compile_error" => Some(
                syn::parse2::<syn::LitStr>(m.mac.tokens.clone())
                    .ok()?
                    .value(),
            ),
            _ => None,
        })
        .collect()
}

fn flat() -> TokenStream {
    quote!(
        provider = "X",
        base_url = "https://api.example.com",
        auth_url = "https://www.example.com/auth",
        token_url = "https://api.example.com/token"
    )
}

/// The whole expansion of a small declaration, pretty-printed: what a reader sees
/// with `cargo expand`. Review changes with `UPDATE_EXPECT=1 cargo test`.
#[test]
fn expansion_is_thin() {
    let args = quote!(
        provider = "HMRC",
        base_url = "https://api.example.com",
        auth_url = "https://www.example.com/oauth/authorize",
        token_url = "https://api.example.com/oauth/token",
        headers("Accept" = "application/vnd.hmrc.1.0+json")
    );
    let item = syn::parse2(quote! {
        pub trait HmrcVat {
            /// The VAT obligations.
            #[endpoint(method = GET, path = "/organisations/vat/{vrn}/obligations", scope = "read:vat", user = Company)]
            async fn obligations(&self, vrn: &str, #[query] from: NaiveDate, #[query(rename = "status")] only: Option<Status>)
                -> Result<Obligations, Error>;

            #[endpoint(method = POST, path = "/hello/application", scope = "hello", user = Application)]
            async fn hello(&self, #[header("Gov-Test-Scenario")] scenario: &str, #[body] body: &Message) -> Result<(), Error>;
        }
    })
    .unwrap();
    let tokens = super::expand(args, &item);
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a file");
    expect_test::expect_file!["../tests/expand/hmrc_vat.expanded.rs"]
        .assert_eq(&prettyplease::unparse(&file));
}

/// A missing comma breaks the list off: the keys after it are not reported missing.
#[test]
fn a_broken_list_is_one_error() {
    let file = expand(
        flat(),
        quote! {
            #[endpoint(method = GET path = "/a", user = Company)]
            async fn a(&self) -> Result<(), Error>;
        },
    );
    assert_eq!(errors(&file), ["expected `,`"]);

    let file = expand(
        quote!(provider = "X" base_url = "https://api.example.com"),
        quote! {
            #[endpoint(method = GET, path = "/a", user = Company)]
            async fn a(&self) -> Result<(), Error>;
        },
    );
    assert_eq!(errors(&file), ["expected `,`"]);
}

/// A refused value is reported once, not again as missing, and the keys after it are
/// still read and checked.
#[test]
fn keys_after_a_refused_value_are_read() {
    let file = expand(
        flat(),
        quote! {
            #[endpoint(method = GET, path = 42, user = Company)]
            async fn a(&self) -> Result<(), Error>;

            #[endpoint(method = FETCH, path = "/b/{id}", user = Company)]
            async fn b(&self) -> Result<(), Error>;
        },
    );
    let errors = errors(&file);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(errors[0], "expected string literal");
    assert!(errors[1].starts_with("unknown HTTP method `FETCH`"));
    assert!(errors[2].starts_with("`{id}` has no argument"));
}

/// Beside the errors, the fallback declares everything the expansion would.
#[test]
fn the_fallback_declares_every_generated_item() {
    let file = expand(
        quote!(
            provider = "X",
            environment(name = "sandbox", base_url = "https://api.example.com")
        ),
        quote! {
            #[endpoint(method = GET, path = "/a", scope = "a", user = Company)]
            async fn a(&self) -> Result<(), Error>;
        },
    );
    assert_eq!(errors(&file).len(), 1);
    let declared: Vec<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Trait(t) => Some(format!("trait {}", t.ident)),
            syn::Item::Struct(s) => Some(format!("struct {}", s.ident)),
            syn::Item::Enum(e) => Some(format!("enum {}", e.ident)),
            syn::Item::Impl(i) => {
                let ty = &i.self_ty;
                Some(match &i.trait_ {
                    Some((_, t, _)) => quote!(impl #t for #ty).to_string(),
                    None => quote!(impl #ty).to_string(),
                })
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        declared,
        [
            "trait Vat",
            "enum VatEnv",
            "impl VatEnv",
            "impl :: core :: convert :: AsRef < str > for VatEnv",
            "trait VatUser",
            "impl VatUser for Company",
            "struct VatClient",
            "impl VatClient",
            "impl Vat for VatClient",
        ]
    );
}

/// A raw identifier is a Rust spelling only: `r#where` is sent as `where=`.
#[test]
fn raw_query_names_are_unrawed() {
    let file = expand(
        flat(),
        quote! {
            #[endpoint(method = GET, path = "/invoices", user = Application)]
            async fn invoices(&self, #[query] r#where: Option<&str>) -> Result<(), Error>;
        },
    );
    let text = quote!(#file).to_string();
    assert!(
        text.contains(r#". query (& mut __request , "where" , "where" , & r#where)"#),
        "{text}"
    );
}
