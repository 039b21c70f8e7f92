//! Tokens at rest: AEAD encryption of access tokens, refresh tokens and PKCE verifiers
//! (features `sqlite` and `postgres`), with XChaCha20-Poly1305 from RustCrypto.
//!
//! A stored value reads `enc:v1:<key id>:<base64url(nonce ‖ ciphertext)>`. The key id
//! lets keys rotate: new writes use the current key, reads find the key by its id. The
//! associated data names the row and column, so a ciphertext copied to another session
//! does not decrypt there. A wrong key is an error, never garbage.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::StoreError;

const PREFIX: &str = "enc:v1:";

/// The keys tokens are encrypted with: one current key, and older ones still read.
/// `Debug` shows key ids only.
#[derive(Clone)]
pub struct TokenCipher {
    current: (String, XChaCha20Poly1305),
    previous: Vec<(String, XChaCha20Poly1305)>,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCipher")
            .field("current", &self.current.0)
            .field(
                "previous",
                &self.previous.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn check_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(StoreError::message(
            "encryption",
            format!("key id `{id}` must be non-empty letters, digits, `-`, `_` or `.`"),
        ));
    }
    Ok(())
}

impl TokenCipher {
    /// Encrypts with the 256-bit `key`, stored under `key_id` (e.g. `"2026-11"`).
    pub fn new(key_id: &str, key: [u8; 32]) -> Result<Self, StoreError> {
        check_id(key_id)?;
        Ok(Self {
            current: (key_id.to_owned(), XChaCha20Poly1305::new(&key.into())),
            previous: Vec::new(),
        })
    }

    /// Also reads values written with an older key (after a rotation).
    pub fn with_previous_key(mut self, key_id: &str, key: [u8; 32]) -> Result<Self, StoreError> {
        check_id(key_id)?;
        self.previous
            .push((key_id.to_owned(), XChaCha20Poly1305::new(&key.into())));
        Ok(self)
    }

    pub(crate) fn seal(&self, plaintext: &str, aad: &str) -> String {
        let nonce: [u8; 24] = rand::random();
        let (id, cipher) = &self.current;
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut raw = nonce.to_vec();
        raw.extend(sealed);
        format!("{PREFIX}{id}:{}", URL_SAFE_NO_PAD.encode(raw))
    }

    pub(crate) fn open(&self, stored: &str, aad: &str) -> Result<String, StoreError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            // Written before encryption was turned on: readable, and encrypted at the
            // next write.
            return Ok(stored.to_owned());
        };
        let (id, data) = rest
            .split_once(':')
            .ok_or_else(|| StoreError::message("decrypt", "a malformed encrypted value"))?;
        let cipher = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|(k, _)| k == id)
            .map(|(_, c)| c)
            .ok_or_else(|| {
                StoreError::message(
                    "decrypt",
                    format!("a token was encrypted with key `{id}`, which is not configured"),
                )
            })?;
        let raw = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| StoreError::message("decrypt", "a malformed encrypted value"))?;
        if raw.len() < 24 {
            return Err(StoreError::message(
                "decrypt",
                "a truncated encrypted value",
            ));
        }
        let (nonce, sealed) = raw.split_at(24);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| {
                StoreError::message(
                    "decrypt",
                    format!("a token does not decrypt with key `{id}`: wrong key, or the value was altered or moved"),
                )
            })?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::message("decrypt", "a decrypted token is not UTF-8"))
    }
}

/// Seals and opens optional values, or passes them through without a cipher.
pub(crate) fn seal(cipher: Option<&TokenCipher>, value: &str, aad: &str) -> String {
    match cipher {
        Some(c) => c.seal(value, aad),
        None => value.to_owned(),
    }
}

pub(crate) fn open(
    cipher: Option<&TokenCipher>,
    value: String,
    aad: &str,
) -> Result<String, StoreError> {
    match cipher {
        Some(c) => c.open(&value, aad),
        None if value.starts_with(PREFIX) => Err(StoreError::message(
            "decrypt",
            "the store holds encrypted tokens: configure the key with `.with_encryption(...)`",
        )),
        None => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_rotation_and_wrong_keys() {
        let old = TokenCipher::new("k1", [1; 32]).unwrap();
        let sealed = old.seal("secret-token", "s1/access");
        assert!(sealed.starts_with("enc:v1:k1:"));
        assert!(!sealed.contains("secret-token"));
        assert_eq!(old.open(&sealed, "s1/access").unwrap(), "secret-token");
        assert_ne!(
            old.seal("secret-token", "s1/access"),
            sealed,
            "a fresh nonce each time"
        );

        let err = old.open(&sealed, "s2/access").unwrap_err();
        assert!(err.to_string().contains("moved"), "{err}");

        let rotated = TokenCipher::new("k2", [2; 32])
            .unwrap()
            .with_previous_key("k1", [1; 32])
            .unwrap();
        assert_eq!(rotated.open(&sealed, "s1/access").unwrap(), "secret-token");

        let wrong = TokenCipher::new("k1", [9; 32]).unwrap();
        assert!(
            wrong
                .open(&sealed, "s1/access")
                .unwrap_err()
                .to_string()
                .contains("wrong key")
        );
        let unknown = TokenCipher::new("k3", [3; 32]).unwrap();
        assert!(
            unknown
                .open(&sealed, "s1/access")
                .unwrap_err()
                .to_string()
                .contains("`k1`, which is not configured")
        );
        assert!(
            open(None, sealed, "s1/access").is_err(),
            "no key, encrypted data: an error"
        );
        assert!(
            !format!("{rotated:?}").contains("[2"),
            "Debug shows ids only"
        );
        assert!(TokenCipher::new("bad id", [0; 32]).is_err());
    }
}
