//! The parameters of a callback to the redirect URL, read strictly: what does not look
//! like a provider's answer is refused before anything is looked up.

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::CallbackError;

/// The parameters of a callback to the redirect URL. `Debug` hides the code.
#[derive(Clone, Default)]
pub struct CallbackParams {
    pub(crate) code: Option<SecretString>,
    pub(crate) state: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) error_description: Option<String>,
    pub(crate) iss: Option<String>,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("iss", &self.iss)
            .finish()
    }
}

/// Longest query accepted; real callbacks are a few hundred bytes.
const MAX_QUERY: usize = 8 * 1024;

/// Longest `state` accepted: ours are 43 characters.
const MAX_STATE: usize = 512;

/// Longest `code`, `iss` or `error` accepted.
const MAX_VALUE: usize = 4096;

impl CallbackParams {
    /// Reads a callback's query string (without the `?`). Repeated known parameters,
    /// bad percent-encoding and oversized queries are refused.
    pub fn from_query(query: &str) -> Result<Self, CallbackError> {
        if query.len() > MAX_QUERY {
            return Err(CallbackError::Malformed(format!(
                "the query is {} bytes long, more than {MAX_QUERY}",
                query.len()
            )));
        }
        let mut params = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            let slot = match name.as_str() {
                "state" => &mut params.state,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                "iss" => &mut params.iss,
                "code" => {
                    if params.code.is_some() {
                        return Err(CallbackError::DuplicateParameter(name));
                    }
                    params.code = Some(SecretString::from(value));
                    continue;
                }
                _ => continue,
            };
            if slot.is_some() {
                return Err(CallbackError::DuplicateParameter(name));
            }
            *slot = Some(value);
        }
        params.check_bytes()?;
        Ok(params)
    }

    /// RFC 6749 values (`state`, `code`, `error`) are printable ASCII (VSCHAR) and `iss`
    /// is a URL; `error_description` may be any text but control characters. Anything
    /// else (a NUL byte, which PostgreSQL refuses to compare) is malformed, said without
    /// repeating the value.
    fn check_bytes(&self) -> Result<(), CallbackError> {
        let printable =
            |v: &str, max: usize| v.len() <= max && v.bytes().all(|b| (0x20..0x7f).contains(&b));
        let fields = [
            ("state", self.state.as_deref(), MAX_STATE),
            (
                "code",
                self.code.as_ref().map(|c| c.expose_secret()),
                MAX_VALUE,
            ),
            ("iss", self.iss.as_deref(), MAX_VALUE),
            ("error", self.error.as_deref(), MAX_VALUE),
        ];
        for (name, value, max) in fields {
            if value.is_some_and(|v| !printable(v, max)) {
                return Err(CallbackError::Malformed(format!(
                    "the `{name}` parameter is not printable ASCII of at most {max} bytes"
                )));
            }
        }
        if self
            .error_description
            .as_deref()
            .is_some_and(|d| d.chars().any(char::is_control))
        {
            return Err(CallbackError::Malformed(
                "the `error_description` parameter has control characters".to_owned(),
            ));
        }
        Ok(())
    }

    /// Reads the query of a full callback URL.
    pub fn from_url(url: &str) -> Result<Self, CallbackError> {
        let url = Url::parse(url).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        Self::from_query(url.query().unwrap_or(""))
    }

    /// The `state` parameter.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The `error` parameter, when the provider refused.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

fn decode(raw: &str) -> Result<String, CallbackError> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| CallbackError::Malformed("a parameter is not UTF-8 once decoded".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_callback_query() {
        let p = CallbackParams::from_query(
            "code=abc&state=a%20b%2Bc%2F%3D%3F%26&iss=http%3A%2F%2F127.0.0.1%3A4010",
        )
        .unwrap();
        assert_eq!(p.state(), Some("a b+c/=?&"));
        assert_eq!(p.iss.as_deref(), Some("http://127.0.0.1:4010"));
        assert_eq!(p.code.as_ref().unwrap().expose_secret(), "abc");
        assert!(!format!("{p:?}").contains("abc"));
    }

    #[test]
    fn refuses_bad_queries() {
        assert_eq!(
            CallbackParams::from_query("state=a&state=b").unwrap_err(),
            CallbackError::DuplicateParameter("state".into())
        );
        assert_eq!(
            CallbackParams::from_query("code=a&code=b&state=x").unwrap_err(),
            CallbackError::DuplicateParameter("code".into())
        );
        assert!(matches!(
            CallbackParams::from_query("state=%FF%FE").unwrap_err(),
            CallbackError::Malformed(_)
        ));
        assert!(matches!(
            CallbackParams::from_query(&"a".repeat(MAX_QUERY + 1)).unwrap_err(),
            CallbackError::Malformed(_)
        ));
    }
}
