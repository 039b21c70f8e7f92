//! The grants, through the `oauth2` crate: code exchange, refresh, client credentials,
//! revocation. Each returns a [`TokenSet`] or a typed [`TokenError`].

use std::time::{Duration, SystemTime};

use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    ErrorResponseType, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardErrorResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use crate::config::ResolvedEnvironment;
use crate::error::{Error, TokenError, TokenRequest};
use crate::oauth::keep::Basis;
use crate::oauth::token_http::{HttpFailure, Revocation};
use crate::provider::ClientAuth;
use crate::runtime::Runtime;
use crate::scope::ScopeSet;
use crate::session::{SessionKey, TokenSet};

/// How long to wait, and how often, when the provider says a refresh is in progress.
const REFRESH_IN_PROGRESS_WAIT: Duration = Duration::from_millis(500);
const REFRESH_IN_PROGRESS_WAITS: u32 = 3;

/// How a grant's request fails below the token set: the `oauth2` crate's error over our
/// HTTP seam.
type GrantFailure = RequestTokenError<HttpFailure, oauth2::basic::BasicErrorResponse>;

pub(crate) type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

impl Runtime {
    /// The `oauth2` client of `user`'s kind in `env`: the application's own client for
    /// the application, when it has one.
    pub(crate) fn oauth_client(
        &self,
        env: &ResolvedEnvironment,
        user: &crate::user::UserRef,
    ) -> Result<OAuthClient, Error> {
        let credentials = env.credentials_of(user)?;
        let mut client = BasicClient::new(ClientId::new(credentials.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(env.auth_url.clone()))
            .set_token_uri(TokenUrl::from_url(env.token_url.clone()))
            .set_auth_type(match self.inner.config.client_auth() {
                ClientAuth::RequestBody => AuthType::RequestBody,
                _ => AuthType::BasicAuth,
            });
        if let Some(secret) = &credentials.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
        }
        if let Some(url) = &env.redirect_url {
            client = client.set_redirect_uri(RedirectUrl::from_url(url.clone()));
        }
        Ok(client)
    }

    /// The scopes as one `scope` value: `oauth2` joins with spaces, so a provider with
    /// another separator gets a single pre-joined scope.
    pub(crate) fn scope_param(&self, scopes: &ScopeSet) -> Option<Scope> {
        (!scopes.is_empty()).then(|| Scope::new(scopes.join(self.inner.config.scope_separator())))
    }

    /// The token set of an answer, or [`TokenError::Malformed`] when a value could not be
    /// stored and sent back as is (a control character would break every later request).
    fn token_set(
        &self,
        key: &SessionKey,
        request: TokenRequest,
        response: &BasicTokenResponse,
        asked: &ScopeSet,
        previous_refresh: Option<&SecretString>,
        sent_at: SystemTime,
    ) -> Result<TokenSet, TokenError> {
        let separator = self.inner.config.scope_separator();
        let granted: ScopeSet = (response.scopes().into_iter().flatten())
            .flat_map(|s| ScopeSet::split(s, separator).to_vec())
            .collect();
        let malformed = |what: &str| TokenError::Malformed {
            request,
            detail: format!("the {what} is empty or holds a control character"),
        };
        let refresh = response.refresh_token().map(|r| r.secret());
        if refresh.is_some_and(|r| !is_token_text(r)) {
            return Err(malformed("refresh token"));
        }
        let mut access = response.access_token().secret().as_str();
        let mut expires_in = response.expires_in();
        if !is_token_text(access) {
            if refresh.is_none() {
                return Err(malformed("access token"));
            }
            // The refresh token that came with it may be the grant's only live one (a
            // rotation): keep it, with an access token that is due at once.
            tracing::warn!(
                session = %key,
                "the token answer's access token is unusable: keeping its refresh token"
            );
            access = UNUSABLE_ACCESS_TOKEN;
            expires_in = None;
        }
        if granted.iter().any(|s| !is_token_text(s)) {
            return Err(malformed("scope"));
        }
        let token_type = response.token_type().as_ref().to_ascii_lowercase();
        if !is_token_text(&token_type) {
            return Err(malformed("token type"));
        }
        let unusable = access == UNUSABLE_ACCESS_TOKEN;
        Ok(TokenSet {
            access_token: SecretString::from(access.to_owned()),
            // RFC 6749 §6: a refresh answer without a refresh token keeps the old one.
            refresh_token: refresh
                .map(|r| SecretString::from(r.to_owned()))
                .or_else(|| previous_refresh.cloned()),
            // Counted from when the request was sent, so the lifetime is never overstated;
            // `http` caps the lifetime, so this cannot overflow, but an overflow would
            // only mean "no known expiry".
            expires_at: match unusable {
                true => Some(SystemTime::UNIX_EPOCH),
                false => expires_in.and_then(|d| sent_at.checked_add(d)),
            },
            scopes: self
                .inner
                .config
                .scope_rules()
                .covered(granted, asked)
                .to_vec(),
            token_type,
        })
    }

    pub(crate) async fn exchange_code(
        &self,
        env: &ResolvedEnvironment,
        key: &SessionKey,
        code: String,
        verifier: &SecretString,
        asked: &ScopeSet,
    ) -> Result<TokenSet, Error> {
        let client = self.oauth_client(env, &key.user)?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()))
            .request_async(self.inner.tokens.token_http());
        self.tokens_of(key, TokenRequest::AuthorizationCode, answer, asked, None)
            .await
    }

    pub(crate) async fn refresh_grant(
        &self,
        env: &ResolvedEnvironment,
        key: &SessionKey,
        current: &TokenSet,
    ) -> Result<TokenSet, Error> {
        let Some(refresh) = &current.refresh_token else {
            return Err(Error::Internal("a refresh without a refresh token"));
        };
        let client = self.oauth_client(env, &key.user)?;
        let token = RefreshToken::new(refresh.expose_secret().to_owned());
        let answer = client
            .exchange_refresh_token(&token)
            .request_async(self.inner.tokens.token_http());
        let asked: ScopeSet = current.scopes.iter().collect();
        self.tokens_of(
            key,
            TokenRequest::RefreshToken,
            answer,
            &asked,
            Some(refresh),
        )
        .await
    }

    /// Refreshes; when the provider answers that a refresh of this grant is already in
    /// progress (HMRC, when another holder of the token got there first), waits and reads
    /// the store, where that other refresh's result lands.
    pub(crate) async fn refresh_patiently(
        &self,
        env: &crate::config::ResolvedEnvironment,
        key: &SessionKey,
        current: &TokenSet,
    ) -> Result<TokenSet, Error> {
        let sent = Basis::of(Some(current));
        let mut waits = 0;
        loop {
            let outcome = self.refresh_grant(env, key, current).await;
            let in_progress = matches!(&outcome, Err(Error::Token(TokenError::Rejected { code, description, .. }))
                if code == "invalid_request"
                    && description.as_deref().is_some_and(|d| d.to_ascii_lowercase().contains("in progress")));
            if !in_progress || waits == REFRESH_IN_PROGRESS_WAITS {
                return outcome;
            }
            waits += 1;
            tracing::info!(session = %key, "the provider is already refreshing this grant: waiting for the result");
            tokio::time::sleep(REFRESH_IN_PROGRESS_WAIT).await;
            let stored = self
                .inner
                .tokens
                .store()
                .load(key)
                .await?
                .and_then(|s| s.state.tokens);
            if let Some(tokens) = stored
                && !sent.matches(Some(&tokens))
            {
                return Ok(tokens);
            }
        }
    }

    pub(crate) async fn client_credentials_grant(
        &self,
        env: &ResolvedEnvironment,
        key: &SessionKey,
        scopes: &ScopeSet,
    ) -> Result<TokenSet, Error> {
        let client = self.oauth_client(env, &key.user)?;
        let mut request = client.exchange_client_credentials();
        if let Some(scope) = self.scope_param(scopes) {
            request = request.add_scope(scope);
        }
        let answer = request.request_async(self.inner.tokens.token_http());
        self.tokens_of(key, TokenRequest::ClientCredentials, answer, scopes, None)
            .await
    }

    /// Sends a grant's request (`answer`, not yet polled) and reads its answer as a token
    /// set: the one path every grant takes, traced, its errors typed.
    async fn tokens_of(
        &self,
        key: &SessionKey,
        request: TokenRequest,
        answer: impl Future<Output = Result<BasicTokenResponse, GrantFailure>>,
        asked: &ScopeSet,
        previous_refresh: Option<&SecretString>,
    ) -> Result<TokenSet, Error> {
        // Counted from before the request, so a lifetime is never overstated.
        let sent_at = SystemTime::now();
        let response = answer
            .instrument(token_span(key, request))
            .await
            .map_err(|e| token_error(request, e))?;
        Ok(self.token_set(key, request, &response, asked, previous_refresh, sent_at)?)
    }

    /// Revokes the refresh token (which revokes the grant at most providers), else the
    /// access token. Without a revocation URL there is nothing to do.
    pub(crate) async fn revoke(
        &self,
        env: &ResolvedEnvironment,
        key: &SessionKey,
        tokens: &TokenSet,
    ) -> Result<(), Error> {
        let Some(url) = &env.revoke_url else {
            return Ok(());
        };
        let credentials = env.credentials_of(&key.user)?;
        let (token, hint) = match &tokens.refresh_token {
            Some(r) => (r.expose_secret(), "refresh_token"),
            None => (tokens.access_token.expose_secret(), "access_token"),
        };
        let revocation = Revocation {
            url,
            token,
            hint,
            client_id: &credentials.client_id,
            client_secret: credentials
                .client_secret
                .as_ref()
                .map(|s| s.expose_secret()),
            auth: self.inner.config.client_auth(),
        };
        self.inner
            .tokens
            .token_http
            .revoke(revocation)
            .instrument(token_span(key, TokenRequest::Revocation))
            .await
            .map_err(Error::Token)
    }
}

fn token_span(key: &SessionKey, request: TokenRequest) -> tracing::Span {
    tracing::debug_span!(
        "oauth2_api.token",
        provider = %key.provider,
        environment = %key.environment,
        user = %key.user,
        request = %request,
    )
}

/// Stands for an access token the provider sent unusable (a control character in it),
/// kept beside the refresh token that came with it; expired, so it is never sent.
pub(crate) const UNUSABLE_ACCESS_TOKEN: &str = "unusable-access-token";

/// Whether `tokens` hold the stand-in for an unusable access token.
pub(crate) fn is_unusable(tokens: &TokenSet) -> bool {
    tokens.same_access_token(UNUSABLE_ACCESS_TOKEN)
}

/// Text that can be stored in any backend and sent back in a header or a form: not empty,
/// no control character (CR, LF and NUL above all).
fn is_token_text(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(char::is_control)
}

fn token_error<T>(
    request: TokenRequest,
    e: RequestTokenError<HttpFailure, StandardErrorResponse<T>>,
) -> TokenError
where
    T: ErrorResponseType + AsRef<str> + std::fmt::Display + 'static,
{
    match e {
        RequestTokenError::ServerResponse(r) => TokenError::Rejected {
            request,
            code: r.error().as_ref().to_owned(),
            description: r.error_description().cloned(),
        },
        RequestTokenError::Request(HttpFailure::Status {
            status,
            retry_after,
            body,
        }) => TokenError::Status {
            request,
            status,
            retry_after,
            body,
        },
        RequestTokenError::Request(HttpFailure::NotJson { content_type }) => {
            TokenError::Malformed {
                request,
                detail: format!("expected JSON, got `{content_type}`"),
            }
        }
        RequestTokenError::Request(HttpFailure::TooLarge { limit }) => {
            TokenError::TooLarge { request, limit }
        }
        RequestTokenError::Request(HttpFailure::Send { message, source }) => {
            TokenError::Transport {
                request,
                message,
                source: Box::new(source),
            }
        }
        // The body is not kept: a half-valid answer may hold a token. serde's message
        // may quote a value too, so only the path and the kind of failure are kept.
        RequestTokenError::Parse(err, _body) => TokenError::Malformed {
            request,
            detail: format!(
                "{} at `{}`",
                match err.inner().classify() {
                    serde_json::error::Category::Data => "a missing or mistyped field",
                    serde_json::error::Category::Syntax => "invalid JSON",
                    serde_json::error::Category::Eof => "truncated JSON",
                    serde_json::error::Category::Io => "unreadable body",
                },
                err.path()
            ),
        },
        RequestTokenError::Other(message) => TokenError::Malformed {
            request,
            detail: message,
        },
    }
}
