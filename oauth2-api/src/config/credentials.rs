//! The application's registration at the provider.

use std::fmt;

use secrecy::SecretString;

/// The application's registration at the provider: client id, secret, redirect URL.
///
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<SecretString>,
    pub(crate) redirect_url: Option<String>,
}

impl Credentials {
    /// Credentials of a client registered under `client_id`.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            redirect_url: None,
        }
    }

    /// The client secret (confidential clients).
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(SecretString::from(secret.into()));
        self
    }

    /// Where the provider sends the person back with the code, exactly as registered.
    pub fn redirect_url(mut self, url: impl Into<String>) -> Self {
        self.redirect_url = Some(url.into());
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_url", &self.redirect_url)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_redacts_the_secret() {
        let c = Credentials::new("id")
            .secret("s3cr3t-value")
            .redirect_url("http://127.0.0.1/cb");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
