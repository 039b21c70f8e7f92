//! The HTTP seam under the `oauth2` crate: reqwest, with real providers' token answers
//! normalised before the strict `oauth2` decoder sees them.
//!
//! Providers differ from RFC 6749 in small ways (`expires_in` as a string, `token_type`
//! missing or `Bearer`, `null` fields, `201 Created`). Rewriting the JSON here keeps the
//! protocol logic in `oauth2` and the tolerance in one place.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use crate::error::{TokenError, TokenRequest, excerpt, redact};
use crate::http::{BodyError, describe_reqwest, read_capped, retry_after};
use crate::provider::ClientAuth;

/// Why a token-endpoint exchange failed below the protocol level.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpFailure {
    #[error("{message}")]
    Send {
        message: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("HTTP {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    #[error("expected a JSON answer, got `{content_type}`")]
    NotJson { content_type: String },
    #[error("the answer is longer than {limit} bytes")]
    TooLarge { limit: usize },
}

/// The most a token or revocation answer is read: real ones are well under 8 KiB (a JWT
/// access token, an ID token and a refresh token).
pub(crate) const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// The longest lifetime believed: a larger `expires_in` (even `1e308`) is taken as this,
/// so no instant computed from it overflows.
pub(crate) const MAX_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;

/// The form parameters and Basic credentials of a token request that are secrets: what
/// an error page echoing the request must not carry into an error value.
fn sent_secrets(headers: &http::HeaderMap, body: &[u8]) -> Vec<String> {
    const SECRET_PARAMS: [&str; 7] = [
        "token",
        "refresh_token",
        "code",
        "code_verifier",
        "client_secret",
        "client_assertion",
        "password",
    ];
    let mut secrets: Vec<String> = url::form_urlencoded::parse(body)
        .filter(|(name, _)| SECRET_PARAMS.contains(&name.as_ref()))
        .map(|(_, value)| value.into_owned())
        .collect();
    let basic = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    if let Some(encoded) = basic
        && let Ok(decoded) = base64_decode(encoded.trim())
        && let Some((_, secret)) = decoded.split_once(':')
    {
        secrets.push(encoded.trim().to_owned());
        secrets.push(secret.to_owned());
        secrets.extend(
            url::form_urlencoded::parse(format!("s={secret}").as_bytes())
                .map(|(_, v)| v.into_owned()),
        );
    }
    secrets
}

fn base64_decode(text: &str) -> Result<String, ()> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ())?;
    String::from_utf8(bytes).map_err(|_| ())
}

/// The client for token, revocation and other authorization-server requests.
#[derive(Clone, Debug)]
pub(crate) struct TokenHttp {
    client: reqwest::Client,
}

impl TokenHttp {
    pub(crate) fn new(timeout: Duration, user_agent: &str) -> Result<Self, reqwest::Error> {
        let builder = reqwest::Client::builder()
            // A redirect on a token request could carry the code or the client's
            // credentials to another host (RFC 9700 §4.11): never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(user_agent);
        let client = crate::http::direct_unless_proxied(builder).build()?;
        Ok(Self { client })
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpFailure> {
        let secrets = sent_secrets(request.headers(), request.body());
        let request = reqwest::Request::try_from(request).map_err(|e| HttpFailure::Send {
            message: "the request could not be built".to_owned(),
            source: e,
        })?;
        let send_failure = |e: reqwest::Error| HttpFailure::Send {
            message: describe_reqwest(&e),
            source: e.without_url(),
        };
        let mut response = self.client.execute(request).await.map_err(send_failure)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = match read_capped(&mut response, MAX_TOKEN_ANSWER).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Err(HttpFailure::TooLarge {
                    limit: MAX_TOKEN_ANSWER,
                });
            }
            Err(BodyError::Read(e)) => return Err(send_failure(e)),
        };
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        // Some providers answer a refusal with 200 (GitHub's `bad_verification_code`): an
        // RFC 6749 error object is the provider's error whatever the status.
        let refusal = matches!(&json, Some(Value::Object(map))
            if map.get("error").is_some_and(Value::is_string) && !map.contains_key("access_token"));

        if status.is_success() && !refusal {
            let Some(json) = json else {
                return Err(HttpFailure::NotJson {
                    content_type: if content_type.is_empty() {
                        "no content type".to_owned()
                    } else {
                        content_type
                    },
                });
            };
            return Ok(json_response(
                http::StatusCode::OK,
                normalise_token_answer(json),
            ));
        }
        // Only an RFC 6749 error object goes to the `oauth2` decoder; anything else
        // (an HTML 500 page, a gateway's 503) keeps its status.
        match json {
            Some(Value::Object(mut map)) if refusal => {
                // Kept in the error and the session's last error: not what we sent.
                for field in ["error", "error_description", "error_uri"] {
                    if let Some(Value::String(text)) = map.get_mut(field) {
                        *text = redact(text, &secrets);
                    }
                }
                // The `oauth2` decoder reads an error object only from a non-200 answer.
                let status = if status.is_success() {
                    http::StatusCode::BAD_REQUEST
                } else {
                    status
                };
                Ok(json_response(status, Value::Object(map)))
            }
            _ => Err(HttpFailure::Status {
                status: status.as_u16(),
                retry_after,
                body: excerpt(
                    redact(&String::from_utf8_lossy(&body), &secrets).as_bytes(),
                    512,
                ),
            }),
        }
    }
}

impl TokenHttp {
    /// Revokes `token` (RFC 7009). Done here rather than through `oauth2`, which refuses
    /// plain-http revocation URLs even on loopback, where RFC 8252 allows them; our own
    /// URL policy already refuses plain http elsewhere.
    pub(crate) async fn revoke(&self, revocation: Revocation<'_>) -> Result<(), TokenError> {
        let asked = TokenRequest::Revocation;
        let mut form = vec![
            ("token", revocation.token),
            ("token_type_hint", revocation.hint),
        ];
        let mut request = self.client.post(revocation.url.clone());
        match (revocation.auth, revocation.client_secret) {
            (ClientAuth::Basic, Some(secret)) => {
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                let id: String =
                    url::form_urlencoded::byte_serialize(revocation.client_id.as_bytes()).collect();
                let secret: String =
                    url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
                request = request.basic_auth(id, Some(secret));
            }
            (_, secret) => {
                form.push(("client_id", revocation.client_id));
                if let Some(secret) = secret {
                    form.push(("client_secret", secret));
                }
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let transport = |e: reqwest::Error| TokenError::Transport {
            request: asked,
            message: describe_reqwest(&e),
            source: Box::new(e.without_url()),
        };
        let request = request
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body.clone())
            .build()
            .map_err(transport)?;
        let secrets = sent_secrets(request.headers(), body.as_bytes());
        let mut response = self.client.execute(request).await.map_err(transport)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = match read_capped(&mut response, MAX_TOKEN_ANSWER).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Err(TokenError::TooLarge {
                    request: asked,
                    limit: MAX_TOKEN_ANSWER,
                });
            }
            // The revocation was answered; an unreadable body only matters for an error.
            Err(BodyError::Read(_)) => Default::default(),
        };
        if status.is_success() {
            return Ok(());
        }
        #[derive(serde::Deserialize)]
        struct OAuthError {
            error: String,
            error_description: Option<String>,
        }
        match serde_json::from_slice::<OAuthError>(&body) {
            Ok(e) => Err(TokenError::Rejected {
                request: asked,
                code: redact(&e.error, &secrets),
                description: e.error_description.map(|d| redact(&d, &secrets)),
            }),
            Err(_) => {
                let body = redact(&String::from_utf8_lossy(&body), &secrets);
                Err(TokenError::Status {
                    request: asked,
                    status: status.as_u16(),
                    retry_after,
                    body: excerpt(body.as_bytes(), 512),
                })
            }
        }
    }
}

/// What [`TokenHttp::revoke`] sends.
pub(crate) struct Revocation<'a> {
    pub(crate) url: &'a url::Url,
    pub(crate) token: &'a str,
    pub(crate) hint: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) client_secret: Option<&'a str>,
    pub(crate) auth: ClientAuth,
}

impl<'c> AsyncHttpClient<'c> for TokenHttp {
    type Error = HttpFailure;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

fn json_response(status: http::StatusCode, json: Value) -> HttpResponse {
    let mut response = HttpResponse::new(serde_json::to_vec(&json).unwrap_or_default());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Rewrites a successful token answer into the shape RFC 6749 §5.1 describes.
pub(crate) fn normalise_token_answer(json: Value) -> Value {
    let Value::Object(mut map) = json else {
        return json;
    };
    map.retain(|_, v| !v.is_null());
    normalise_token_type(&mut map);
    normalise_expires_in(&mut map);
    if let Some(Value::Array(scopes)) = map.get("scope") {
        let joined: Vec<&str> = scopes.iter().filter_map(Value::as_str).collect();
        let joined = joined.join(" ");
        map.insert("scope".to_owned(), Value::String(joined));
    }
    Value::Object(map)
}

fn normalise_token_type(map: &mut Map<String, Value>) {
    let token_type = match map.get("token_type") {
        Some(Value::String(t)) => t.to_ascii_lowercase(),
        None => "bearer".to_owned(),
        // Not a string at all: a broken answer, left for the decoder to refuse.
        Some(_) => return,
    };
    map.insert("token_type".to_owned(), Value::String(token_type));
}

fn normalise_expires_in(map: &mut Map<String, Value>) {
    let seconds = match map.get("expires_in") {
        None => return,
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(whole_seconds)),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().map(whole_seconds),
        Some(_) => None,
    };
    // Saturated, never wrapped: `1e308` or `"1e400"` (infinity) is a very long lifetime.
    // A lifetime of zero or less says nothing usable about a token just issued: unknown,
    // like a missing one, rather than expired on arrival (renewed again by every caller).
    let seconds = seconds.filter(|s| *s > 0).map(|s| s.min(MAX_LIFETIME_SECS));
    match seconds {
        Some(s) => map.insert("expires_in".to_owned(), Value::from(s)),
        // An unreadable lifetime is treated as unknown: the API's 401 will say when it ends.
        None => map.remove("expires_in"),
    };
}

/// Whole seconds of a lifetime in any float: negative and NaN are 0, huge saturates.
fn whole_seconds(f: f64) -> u64 {
    if f.is_nan() { 0 } else { f.max(0.0) as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerates_real_providers() {
        let cases = [
            (
                json!({"access_token":"a","expires_in":"3600","token_type":"Bearer"}),
                json!({"access_token":"a","expires_in":3600,"token_type":"bearer"}),
            ),
            (
                json!({"access_token":"a"}),
                json!({"access_token":"a","token_type":"bearer"}),
            ),
            (
                json!({"access_token":"a","expires_in":null,"refresh_token":null,"token_type":"bearer"}),
                json!({"access_token":"a","token_type":"bearer"}),
            ),
            (
                json!({"access_token":"a","expires_in":"soon","token_type":"bearer"}),
                json!({"access_token":"a","token_type":"bearer"}),
            ),
            (
                json!({"access_token":"a","expires_in":59.9,"scope":["x","y"]}),
                json!({"access_token":"a","expires_in":59,"scope":"x y","token_type":"bearer"}),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(normalise_token_answer(input), expected);
        }
        for (huge, expected) in [
            (json!(u64::MAX), json!(MAX_LIFETIME_SECS)),
            (json!(1e308), json!(MAX_LIFETIME_SECS)),
            (json!("1e400"), json!(MAX_LIFETIME_SECS)),
            (json!(-5), Value::Null),
            (json!(0), Value::Null),
            (json!("NaN"), Value::Null),
        ] {
            let got = normalise_token_answer(json!({"access_token":"a","expires_in":huge}));
            assert_eq!(
                got.get("expires_in").cloned().unwrap_or(Value::Null),
                expected,
                "{huge}"
            );
        }
        let broken = json!({"access_token":"a","token_type":7});
        assert_eq!(
            normalise_token_answer(broken.clone()),
            broken,
            "garbage is left for the decoder to refuse"
        );
    }
}
