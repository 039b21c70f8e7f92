//! The small HTML pages the callback routes answer with. What is about the callback or
//! the provider's answer is said; what is internal (the store's, the HTTP client's) is
//! logged instead, never shown.

use http::{HeaderValue, StatusCode, header};

use crate::error::{CallbackError, Error};

/// A page as both callback routes send it: plain `http`, so the loopback listener needs
/// no web framework (the `axum` routes turn it into their response type).
pub(crate) type Page = http::Response<String>;

/// `status` with `html` as its body.
pub(crate) fn respond(status: StatusCode, html: String) -> Page {
    let mut response = http::Response::new(html);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// `s` safe to place in HTML text or a quoted attribute.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small HTML page; `message` is escaped.
pub(crate) fn page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><meta charset=\"utf-8\"><title>{t}</title>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{m}</p></body>",
        t = escape(title),
        m = escape(message)
    )
}

/// The page for `e`: a status and a sentence a person can read.
pub(crate) fn error_page(e: &Error) -> Page {
    let (status, title, message) = match e {
        Error::Callback(CallbackError::BrowserMismatch | CallbackError::StateMismatch("user")) => (
            StatusCode::FORBIDDEN,
            "Authorization refused",
            e.to_string(),
        ),
        Error::Callback(_) | Error::UnsafeReturnTo { .. } => {
            (StatusCode::BAD_REQUEST, "Bad request", e.to_string())
        }
        Error::AuthorizationDenied { .. } => (
            StatusCode::BAD_REQUEST,
            "Authorization failed",
            e.to_string(),
        ),
        Error::Token(_) | Error::Api(_) | Error::Decode { .. } | Error::Transport { .. } => {
            tracing::warn!(error = %e, "the provider failed");
            (
                StatusCode::BAD_GATEWAY,
                "The provider failed",
                "The provider did not answer as expected; try again later.".to_owned(),
            )
        }
        _ => {
            tracing::error!(error = %e, "a request failed inside the application");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The application could not complete this request; it has been logged.".to_owned(),
            )
        }
    };
    respond(status, page(title, &message))
}
