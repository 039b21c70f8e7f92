//! Attribute keys, spelled once.

pub(crate) const PROVIDER: &str = "provider";
pub(crate) const BASE_URL: &str = "base_url";
pub(crate) const BASE_URLS: &str = "base_urls";
pub(crate) const AUTH_URL: &str = "auth_url";
pub(crate) const TOKEN_URL: &str = "token_url";
pub(crate) const REVOKE_URL: &str = "revoke_url";
pub(crate) const ISSUER: &str = "issuer";
pub(crate) const ENVIRONMENT: &str = "environment";
pub(crate) const NAME: &str = "name";
pub(crate) const SCOPE_SEPARATOR: &str = "scope_separator";
pub(crate) const CLIENT_AUTH: &str = "client_auth";
pub(crate) const SCOPE_POLICY: &str = "scope_policy";
pub(crate) const SCOPES: &str = "scopes";
pub(crate) const SCOPE_IMPLIES: &str = "scope_implies";
pub(crate) const HEADERS: &str = "headers";
pub(crate) const ERROR_BODY: &str = "error_body";

pub(crate) const METHOD: &str = "method";
pub(crate) const PATH: &str = "path";
pub(crate) const SCOPE: &str = "scope";
pub(crate) const USER: &str = "user";
pub(crate) const PAGINATE: &str = "paginate";

pub(crate) const LINK: &str = "link";
pub(crate) const PAGE: &str = "page";
pub(crate) const PER_PAGE: &str = "per_page";
pub(crate) const OFFSET: &str = "offset";
pub(crate) const LIMIT: &str = "limit";
pub(crate) const CURSOR: &str = "cursor";
pub(crate) const PARAM: &str = "param";
pub(crate) const ITEMS: &str = "items";

pub(crate) const ENDPOINT: &str = "endpoint";
pub(crate) const QUERY: &str = "query";
pub(crate) const HEADER: &str = "header";
pub(crate) const BODY: &str = "body";
pub(crate) const RENAME: &str = "rename";

/// The built-in users, recognised only as these bare names.
pub(crate) const APPLICATION: &str = "Application";
pub(crate) const ANONYMOUS: &str = "Anonymous";

/// `expected one of: `a`, `b``, for "unknown key" messages.
pub(crate) fn one_of(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
