//! The generated code names everything by absolute path: it compiles without the
//! prelude and with a shadowed `Result`, `Option` and `Send`; its own local is hygienic
//! (an argument named `__request`), and its method calls clash with no `pick` of the
//! application's.
#![no_implicit_prelude]

extern crate oauth2_api;
extern crate serde;

#[allow(dead_code)]
type Result<T> = ::core::result::Result<T, ()>;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
trait Send {}
#[allow(dead_code)]
mod core {}

pub struct Company;
impl ::oauth2_api::ApiUser for Company {
    fn user_ref(&self) -> ::oauth2_api::UserRef {
        ::oauth2_api::UserRef::new("company", "1")
    }
}

/// An extension trait of the application's, with a method named as a common word.
#[allow(dead_code)]
pub trait Pick {
    fn pick(&self) -> u8 {
        0
    }
}
impl<T: ?::core::marker::Sized> Pick for T {}

#[derive(serde::Deserialize)]
pub struct Message {
    pub message: ::std::string::String,
}

#[derive(Debug, serde::Deserialize)]
pub struct Problem {
    pub title: ::std::string::String,
}

#[::oauth2_api::oauth2_api(provider = "HMRC",
    environment(name = "sandbox", base_url = "https://test-api.service.hmrc.gov.uk",
                auth_url = "https://test-www.tax.service.gov.uk/oauth/authorize",
                token_url = "https://test-api.service.hmrc.gov.uk/oauth/token"),
    headers("Accept" = "application/vnd.hmrc.1.0+json"),
    error_body = Problem)]
pub trait Hello {
    #[endpoint(method = GET, path = "/hello/{name}", scope = "hello", user = Company)]
    async fn hello(&self, name: &str, #[query] loud: ::std::option::Option<bool>)
        -> ::std::result::Result<Message, ::oauth2_api::Error>;

    #[endpoint(method = POST, path = "/hello/application", scope = ["hello", "openid"], user = Application)]
    async fn hello_application(&self, #[body] m: &::std::string::String, #[header("X-Trace")] trace: u64)
        -> ::std::result::Result<(), ::oauth2_api::Error>;

    #[endpoint(method = GET, path = "/messages", scope = "hello", user = Company,
               paginate(cursor = "next", param = "after", items = "data"))]
    async fn messages(&self, #[query] limit: u32)
        -> ::std::result::Result<::std::vec::Vec<Message>, ::oauth2_api::Error>;

    #[endpoint(method = GET, path = "/hello/world", user = Anonymous, paginate(link))]
    async fn world(&self)
        -> ::std::result::Result<::std::vec::Vec<Message>, ::oauth2_api::Error>;

    /// Eight arguments with `self`: `too_many_arguments` is the declaration's to allow
    /// (or expect), and the methods generated from it follow.
    #[expect(clippy::too_many_arguments, reason = "the API takes them")]
    #[endpoint(method = GET, path = "/many", user = Anonymous, paginate(link))]
    async fn many(&self, #[query] a: u8, #[query] b: u8, #[query] c: u8, #[query] d: u8,
        #[query] e: u8, #[query] f: u8, #[query] g: u8)
        -> ::std::result::Result<::std::vec::Vec<Message>, ::oauth2_api::Error>;

    #[endpoint(method = GET, path = "/hello/{__request}/again", user = Anonymous)]
    async fn again(&self, __request: &str, #[query] pick: u32)
        -> ::std::result::Result<Message, ::oauth2_api::Error>;
}

fn main() {}
