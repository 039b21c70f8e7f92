//! What error values and `Debug` may show of an answer or a URL: an excerpt, with every
//! secret the request carried replaced by `[redacted]`; a URL's origin and path.

/// A URL as logs and `Debug` may show it: its origin and path, without user info, query
/// or fragment, any of which may carry a key.
pub(crate) fn url_shown(url: &url::Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

/// [`url_shown`] of a URL's text; one that does not parse, up to its query or fragment
/// and after its user info.
pub(crate) fn url_text_shown(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(url) => url_shown(&url),
        Err(_) => {
            let before = raw.split(['?', '#']).next().unwrap_or_default();
            let (scheme, rest) = before.split_once("://").unwrap_or(("", before));
            let end = rest.find('/').unwrap_or(rest.len());
            let host = rest[..end].rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}{}", &rest[end..])
        }
    }
}

/// At most `max` bytes of `body`, cut on a character boundary, for error values.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= max {
        return text.into_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// `text` with every occurrence of each secret (as sent: raw, form- or JSON-encoded)
/// replaced by `[redacted]`: what an error page that echoes its request would show.
pub(crate) fn redact<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        let secret = secret.as_ref();
        // Shorter values are not secrets worth hiding and would garble the text.
        if secret.len() < 4 {
            continue;
        }
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        // Percent-encodings may use lower-case hex (`%2f`).
        let form_lower = lower_hex(&form);
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"').to_owned();
        // JSON may also escape `/` (PHP's json_encode does).
        let json_slashes = json.replace('/', "\\/");
        for shape in [secret, &form, &form_lower, &json, &json_slashes] {
            if !shape.is_empty() && text.contains(shape) {
                text = text.replace(shape, "[redacted]");
            }
        }
    }
    text
}

/// `text` with the hex digits of its `%XX` escapes in lower case.
fn lower_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut escape = 0;
    for c in text.chars() {
        if c == '%' {
            escape = 2;
            out.push(c);
        } else if escape > 0 {
            escape -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_google_style_tokens_in_every_encoding() {
        let token = "1//0gAb-c/A+c=";
        for page in [
            "raw 1//0gAb-c/A+c= end",
            "form 1%2F%2F0gAb-c%2FA%2Bc%3D end",
            "lower 1%2f%2f0gAb-c%2fA%2bc%3d end",
            r#"json "1\/\/0gAb-c\/A+c=" end"#,
        ] {
            let got = redact(page, &[token]);
            assert!(
                got.contains("[redacted]") && !got.contains("0gAb"),
                "{page} -> {got}"
            );
        }
    }

    #[test]
    fn redacts_every_shape_of_a_secret() {
        let page = "echo: refresh_token=a%2Fb%2Bc&x=1 raw a/b+c json \"a\\/b+c\"";
        let got = redact(page, &["a/b+c", "ab"]);
        assert!(
            !got.contains("a/b+c") && !got.contains("a%2Fb%2Bc"),
            "{got}"
        );
        assert_eq!(got.matches("[redacted]").count(), 3, "{got}");
    }
}
