//! Sessions and pending authorizations to and from rows: instants as milliseconds since
//! the Unix epoch, scopes as a JSON array, tokens and PKCE verifiers sealed by the
//! optional [`TokenCipher`] with associated data naming their row and column (so a value
//! copied to another row does not open there).

use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use super::backend::{Backend, Columns, Params};
use crate::session::{
    LastError, PendingAuthorization, Session, SessionKey, SessionState, TokenSet,
};
use crate::store::cipher::{self, TokenCipher};
use crate::store::{StoreError, from_millis, to_millis};
use crate::user::UserRef;

/// The associated data of a sealed session column: the row and the column it belongs to.
fn session_aad(key: &SessionKey, column: &str) -> String {
    format!(
        "{}/{}/{}/{}/{column}",
        key.provider,
        key.environment,
        key.user.kind(),
        key.user.id()
    )
}

/// The associated data of a sealed PKCE verifier.
fn pending_aad(state: &str) -> String {
    format!("pending/{state}")
}

fn scopes_to_text(scopes: &[String]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".to_owned())
}

fn scopes_from_text(operation: &'static str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::new(operation, e))
}

/// The session under `key` stored in `row` (a row of `oauth2_api_session`).
pub(crate) fn session_from_row<DB: Backend>(
    cipher: Option<&TokenCipher>,
    key: &SessionKey,
    row: &DB::Row,
) -> Result<Session, StoreError> {
    let row = Columns::<DB>::new(row, "load");
    let tokens = match row.opt_text("access_token")? {
        None => None,
        Some(access) => Some(tokens_from_row(cipher, key, &row, access)?),
    };
    let last_error = match row.opt_int("error_at")? {
        None => None,
        Some(at) => Some(LastError {
            at: from_millis(at),
            kind: row.opt_text("error_kind")?.unwrap_or_default(),
            message: row.opt_text("error_message")?.unwrap_or_default(),
        }),
    };
    Ok(Session {
        key: key.clone(),
        state: SessionState { tokens, last_error },
        version: u64::try_from(row.int("version")?).unwrap_or(0),
        updated_at: from_millis(row.int("updated_at")?),
    })
}

/// The token set of a session row whose (sealed) access token is `access`.
fn tokens_from_row<DB: Backend>(
    cipher: Option<&TokenCipher>,
    key: &SessionKey,
    row: &Columns<'_, DB>,
    access: String,
) -> Result<TokenSet, StoreError> {
    let open = |sealed, column| {
        cipher::open(cipher, sealed, &session_aad(key, column)).map(SecretString::from)
    };
    let scopes = row.opt_text("scopes")?;
    Ok(TokenSet {
        access_token: open(access, "access_token")?,
        refresh_token: match row.opt_text("refresh_token")? {
            Some(refresh) => Some(open(refresh, "refresh_token")?),
            None => None,
        },
        expires_at: row.opt_int("expires_at")?.map(from_millis),
        scopes: scopes_from_text(row.operation(), scopes.as_deref().unwrap_or("[]"))?,
        token_type: row
            .opt_text("token_type")?
            .unwrap_or_else(|| "bearer".to_owned()),
    })
}

/// `$1`..`$14` of the session upserts and update: the key, then every column, sealed,
/// with `version` and the current time as `updated_at`.
pub(crate) fn session_params<'a>(
    cipher: Option<&TokenCipher>,
    key: &'a SessionKey,
    state: &'a SessionState,
    version: i64,
) -> Params<'a> {
    let tokens = state.tokens.as_ref();
    let error = state.last_error.as_ref();
    let seal = |secret: &SecretString, column| {
        cipher::seal(cipher, secret.expose_secret(), &session_aad(key, column))
    };
    Params::key(key)
        .opt_text(tokens.map(|t| seal(&t.access_token, "access_token")))
        .opt_text(
            tokens
                .and_then(|t| t.refresh_token.as_ref())
                .map(|r| seal(r, "refresh_token")),
        )
        .opt_int(tokens.and_then(|t| t.expires_at).map(to_millis))
        .opt_text(tokens.map(|t| scopes_to_text(&t.scopes)))
        .opt_text(tokens.map(|t| t.token_type.as_str()))
        .opt_int(error.map(|e| to_millis(e.at)))
        .opt_text(error.map(|e| e.kind.as_str()))
        .opt_text(error.map(|e| e.message.as_str()))
        .int(version)
        .int(to_millis(SystemTime::now()))
}

/// The pending authorization stored in `row` (a row of `oauth2_api_pending`).
pub(crate) fn pending_from_row<DB: Backend>(
    cipher: Option<&TokenCipher>,
    row: &DB::Row,
) -> Result<PendingAuthorization, StoreError> {
    let row = Columns::<DB>::new(row, "load pending");
    let state = row.text("state")?;
    let verifier = cipher::open(cipher, row.text("pkce_verifier")?, &pending_aad(&state))?;
    Ok(PendingAuthorization {
        key: SessionKey::new(
            row.text("api")?,
            row.text("environment")?,
            UserRef::new(row.text("user_kind")?, row.text("user_id")?),
        ),
        scopes: scopes_from_text(row.operation(), &row.text("scopes")?)?,
        state,
        pkce_verifier: SecretString::from(verifier),
        return_to: row.opt_text("return_to")?,
        browser_binding: row.opt_text("browser_binding")?,
        created_at: from_millis(row.int("created_at")?),
        expires_at: from_millis(row.int("expires_at")?),
    })
}

/// `$1`..`$11` of the pending insert: every column but `used_at`, the verifier sealed.
pub(crate) fn pending_params<'a>(
    cipher: Option<&TokenCipher>,
    pending: &'a PendingAuthorization,
) -> Params<'a> {
    let verifier = cipher::seal(
        cipher,
        pending.pkce_verifier.expose_secret(),
        &pending_aad(&pending.state),
    );
    Params::default()
        .text(&*pending.state)
        .text(&*pending.key.provider)
        .text(&*pending.key.environment)
        .text(pending.key.user.kind())
        .text(pending.key.user.id())
        .text(verifier)
        .text(scopes_to_text(&pending.scopes))
        .opt_text(pending.return_to.as_deref())
        .int(to_millis(pending.created_at))
        .int(to_millis(pending.expires_at))
        .opt_text(pending.browser_binding.as_deref())
}
