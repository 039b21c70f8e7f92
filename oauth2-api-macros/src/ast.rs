//! The model of a declaration, in two stages: what the attributes say as parsed (the
//! `*Args` types, every key optional, with the tokens they came from so that the checks
//! can point at them), and the checked declaration that expansion reads (every required
//! key present, every rule kept). Only `valid` turns the first into the second, so
//! expansion cannot see a declaration that was not checked.

use proc_macro2::Span;
use syn::{Attribute, Ident, ItemTrait, LitStr, PatType, TraitItem, TraitItemFn, Type};

use crate::path::Template;

/// A key's value as parsed.
#[derive(Default)]
pub(crate) enum Slot<T> {
    /// Not given.
    #[default]
    Absent,
    Given(T),
    /// Given, but its value was refused: the error is already reported, so the key is
    /// not reported again as missing.
    Refused,
}

impl<T> Slot<T> {
    /// Keeps a parsed value, or remembers the refusal and hands the error back to be
    /// reported.
    pub(crate) fn set(&mut self, value: syn::Result<T>) -> syn::Result<()> {
        match value {
            Ok(value) => {
                *self = Self::Given(value);
                Ok(())
            }
            Err(e) => {
                *self = Self::Refused;
                Err(e)
            }
        }
    }

    pub(crate) fn given(&self) -> Option<&T> {
        match self {
            Self::Given(value) => Some(value),
            Self::Absent | Self::Refused => None,
        }
    }
}

/// A whole declaration as parsed: the trait and what its attributes say.
pub(crate) struct Parsed<'a> {
    pub(crate) item: &'a ItemTrait,
    pub(crate) api: ApiArgs,
    pub(crate) endpoints: Vec<EndpointFn<'a>>,
    /// Trait items that are not methods (an `#[oauth2_api]` trait holds only endpoints).
    pub(crate) others: Vec<&'a TraitItem>,
}

/// `#[oauth2_api(...)]` as parsed.
#[derive(Default)]
pub(crate) struct ApiArgs {
    pub(crate) provider: Slot<LitStr>,
    /// The flat form: URLs given at the top level, one environment.
    pub(crate) flat: Option<EnvironmentArgs>,
    pub(crate) environments: Vec<EnvironmentArgs>,
    pub(crate) scope_separator: Slot<LitStr>,
    pub(crate) client_auth: Slot<ClientAuth>,
    pub(crate) scope_policy: Slot<ScopePolicy>,
    /// `scopes = [...]`: asked for in every authorization of a person.
    pub(crate) scopes: Slot<Vec<LitStr>>,
    /// `scope_implies("broader" = "narrower", ...)`.
    pub(crate) scope_implies: Slot<Vec<(LitStr, LitStr)>>,
    pub(crate) headers: Slot<Vec<(LitStr, LitStr)>>,
    pub(crate) error_body: Slot<Type>,
    /// The list broke off (a missing comma): the keys after the break were not read,
    /// so none is reported missing.
    pub(crate) broken: bool,
}

/// `environment(...)`, or the flat URLs.
pub(crate) struct EnvironmentArgs {
    /// The `environment` key, or the first flat URL key: where its errors point.
    pub(crate) at: syn::Path,
    /// Always absent in the flat form, which is named `default`.
    pub(crate) name: Slot<LitStr>,
    pub(crate) base_url: Slot<LitStr>,
    /// `base_urls(identity = "https://...", ...)`: named extra base URLs.
    pub(crate) base_urls: Slot<Vec<(Ident, LitStr)>>,
    pub(crate) auth_url: Slot<LitStr>,
    pub(crate) token_url: Slot<LitStr>,
    pub(crate) revoke_url: Slot<LitStr>,
    pub(crate) issuer: Slot<LitStr>,
    /// As [`ApiArgs::broken`], for this list (or, in the flat form, the top-level one).
    pub(crate) broken: bool,
}

impl EnvironmentArgs {
    pub(crate) fn new(at: syn::Path) -> Self {
        Self {
            at,
            name: Slot::Absent,
            base_url: Slot::Absent,
            base_urls: Slot::Absent,
            auth_url: Slot::Absent,
            token_url: Slot::Absent,
            revoke_url: Slot::Absent,
            issuer: Slot::Absent,
            broken: false,
        }
    }
}

/// One trait method, its `#[endpoint(...)]` and its arguments, as parsed.
pub(crate) struct EndpointFn<'a> {
    pub(crate) item: &'a TraitItemFn,
    /// `None` when the method has no `#[endpoint]`.
    pub(crate) attr: Option<&'a Attribute>,
    pub(crate) args: EndpointArgs,
    /// The arguments after the receiver.
    pub(crate) params: Vec<ParamArgs<'a>>,
}

/// `#[endpoint(...)]` as parsed.
#[derive(Default)]
pub(crate) struct EndpointArgs {
    pub(crate) method: Slot<(HttpMethod, Span)>,
    pub(crate) path: Slot<Template>,
    pub(crate) scopes: Slot<Vec<LitStr>>,
    pub(crate) user: Slot<User>,
    pub(crate) headers: Slot<Vec<(LitStr, LitStr)>>,
    /// `base_url = identity`: one of the environments' named base URLs.
    pub(crate) base_url: Slot<Ident>,
    pub(crate) paginate: Slot<PaginateArgs>,
    /// As [`ApiArgs::broken`].
    pub(crate) broken: bool,
}

/// `paginate(...)` as parsed: one way to page (`link`, `page`, `offset` or `cursor`),
/// its companions, and where the items are.
pub(crate) struct PaginateArgs {
    /// The `paginate` key: where its errors point.
    pub(crate) at: syn::Path,
    /// The `link` flag.
    pub(crate) link: Option<syn::Path>,
    pub(crate) page: Slot<LitStr>,
    pub(crate) per_page: Slot<LitStr>,
    pub(crate) offset: Slot<LitStr>,
    pub(crate) limit: Slot<LitStr>,
    pub(crate) cursor: Slot<LitStr>,
    pub(crate) param: Slot<LitStr>,
    pub(crate) items: Slot<LitStr>,
}

/// `paginate(...)`, checked.
pub(crate) struct Pagination<'a> {
    pub(crate) style: PageStyle<'a>,
    pub(crate) items: Option<&'a LitStr>,
}

pub(crate) enum PageStyle<'a> {
    Link,
    Page(&'a LitStr, Option<&'a LitStr>),
    Offset(&'a LitStr, Option<&'a LitStr>),
    /// The body's field, the query parameter.
    Cursor(&'a LitStr, &'a LitStr),
}

/// One argument and its `#[query]`, `#[header(..)]` or `#[body]`, as parsed.
pub(crate) struct ParamArgs<'a> {
    pub(crate) arg: &'a PatType,
    /// What each of our attributes on the argument says; `None` for one whose error is
    /// already reported. More than one is a mistake the checks report.
    pub(crate) kinds: Vec<(&'a Attribute, Option<ParamKind>)>,
}

/// A whole declaration, checked: what expansion reads.
pub(crate) struct Declaration<'a> {
    pub(crate) item: &'a ItemTrait,
    pub(crate) api: Api,
    pub(crate) endpoints: Vec<Endpoint<'a>>,
}

/// `#[oauth2_api(...)]`, checked.
pub(crate) struct Api {
    pub(crate) provider: LitStr,
    pub(crate) environments: Vec<EnvironmentDecl>,
    pub(crate) scope_separator: Option<LitStr>,
    pub(crate) client_auth: Option<ClientAuth>,
    pub(crate) scope_policy: Option<ScopePolicy>,
    pub(crate) scopes: Vec<LitStr>,
    pub(crate) scope_implies: Vec<(LitStr, LitStr)>,
    pub(crate) headers: Vec<(LitStr, LitStr)>,
    /// The type of the API's error bodies.
    pub(crate) error_body: Option<Type>,
}

/// One environment, checked; the flat form is one named `default`.
pub(crate) struct EnvironmentDecl {
    pub(crate) name: LitStr,
    pub(crate) base_url: LitStr,
    pub(crate) base_urls: Vec<(Ident, LitStr)>,
    pub(crate) auth_url: LitStr,
    pub(crate) token_url: LitStr,
    pub(crate) revoke_url: Option<LitStr>,
    pub(crate) issuer: Option<LitStr>,
}

/// `scope_policy = "granted"` or `"requested"`.
#[derive(Clone, Copy)]
pub(crate) enum ScopePolicy {
    Granted,
    Requested,
}

#[derive(Clone, Copy)]
pub(crate) enum ClientAuth {
    Basic,
    Body,
}

/// One `#[endpoint(...)]` method, checked.
pub(crate) struct Endpoint<'a> {
    pub(crate) item: &'a TraitItemFn,
    pub(crate) docs: Vec<&'a Attribute>,
    /// Its lint attributes (`#[allow(..)]`, `#[expect(..)]`, ...): they apply to the
    /// methods generated from it too.
    pub(crate) lints: Vec<&'a Attribute>,
    pub(crate) method: HttpMethod,
    pub(crate) method_span: Span,
    pub(crate) path: &'a Template,
    pub(crate) scopes: &'a [LitStr],
    pub(crate) user: &'a User,
    pub(crate) headers: &'a [(LitStr, LitStr)],
    pub(crate) base_url: Option<&'a Ident>,
    pub(crate) params: Vec<Param>,
    /// `T` of the declared `Result<T, E>`.
    pub(crate) ok_type: &'a Type,
    /// `E` of the declared `Result<T, E>`; `None` for an alias that fixes it
    /// (`ApiResult<T>`).
    pub(crate) err_type: Option<&'a Type>,
    pub(crate) paginate: Option<Pagination<'a>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub(crate) const NAMES: &'static [&'static str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

    pub(crate) fn from_ident(ident: &Ident) -> Option<Self> {
        Some(match ident.to_string().as_str() {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Get => "Get",
            Self::Post => "Post",
            Self::Put => "Put",
            Self::Patch => "Patch",
            Self::Delete => "Delete",
        }
    }
}

/// Who an endpoint is called for.
pub(crate) enum User {
    /// The application itself (client credentials): no user argument.
    Application,
    /// Nobody: an open endpoint, called without a token.
    Anonymous,
    /// A person-like user of this type.
    Type(Box<Type>),
}

impl User {
    /// The user type the generated methods take first, if any.
    pub(crate) fn as_type(&self) -> Option<&Type> {
        match self {
            Self::Type(ty) => Some(ty),
            Self::Application | Self::Anonymous => None,
        }
    }
}

/// One argument, checked.
pub(crate) struct Param {
    pub(crate) ident: Ident,
    /// Where an error about the argument's type goes: the type.
    pub(crate) ty_span: Span,
    pub(crate) kind: ParamKind,
}

#[derive(Clone)]
pub(crate) enum ParamKind {
    /// Bound to a `{segment}` of the path.
    Path,
    Query(String),
    Header(LitStr),
    Body(Span),
}
