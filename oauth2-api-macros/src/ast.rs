//! The model of a declaration: what the attributes say, with the tokens they came from
//! so that later checks can point at them.

use proc_macro2::Span;
use syn::{Attribute, Ident, LitStr, TraitItemFn, Type};

/// `#[oauth2_api(...)]`.
pub(crate) struct Api {
    pub(crate) provider: LitStr,
    pub(crate) environments: Vec<EnvironmentDecl>,
    pub(crate) scope_separator: Option<LitStr>,
    pub(crate) client_auth: Option<ClientAuth>,
    pub(crate) headers: Vec<(LitStr, LitStr)>,
}

/// One environment; the flat form is one named `default`.
pub(crate) struct EnvironmentDecl {
    pub(crate) name: LitStr,
    pub(crate) base_url: LitStr,
    pub(crate) auth_url: LitStr,
    pub(crate) token_url: LitStr,
    pub(crate) revoke_url: Option<LitStr>,
    pub(crate) issuer: Option<LitStr>,
}

#[derive(Clone, Copy)]
pub(crate) enum ClientAuth {
    Basic,
    Body,
}

/// One `#[endpoint(...)]` method.
pub(crate) struct Endpoint<'a> {
    pub(crate) item: &'a TraitItemFn,
    pub(crate) docs: Vec<&'a Attribute>,
    pub(crate) method: HttpMethod,
    pub(crate) method_span: Span,
    pub(crate) path: crate::path::Template,
    pub(crate) scopes: Vec<LitStr>,
    pub(crate) user: User,
    pub(crate) headers: Vec<(LitStr, LitStr)>,
    pub(crate) params: Vec<Param>,
    /// `T` of the declared `Result<T, E>`.
    pub(crate) ok_type: Type,
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

pub(crate) struct Param {
    pub(crate) ident: Ident,
    pub(crate) kind: ParamKind,
}

pub(crate) enum ParamKind {
    /// Bound to a `{segment}` of the path; resolved by the validation.
    Path,
    Query(String),
    Header(String),
    Body(Span),
}
