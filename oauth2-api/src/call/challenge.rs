//! `WWW-Authenticate` challenges (RFC 7235 §4.1), read as providers really send them:
//! several challenges in one value or in several headers, quoted strings with escapes.

/// One challenge: its scheme and its `name=value` parameters, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (names are case-insensitive).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every challenge of every value, in order.
pub(crate) fn challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut found = Vec::new();
    for value in values {
        Reader {
            text: value.as_bytes(),
            at: 0,
        }
        .read_into(&mut found);
    }
    found
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip(&mut self, what: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&what) {
            self.at += 1;
        }
    }

    fn take(&mut self, what: impl Fn(u8) -> bool) -> String {
        let start = self.at;
        self.skip(what);
        String::from_utf8_lossy(&self.text[start..self.at]).into_owned()
    }

    /// A token is a scheme or a parameter name; one followed by `=` is a parameter of
    /// the challenge before it, any other starts a new challenge.
    fn read_into(&mut self, found: &mut Vec<Challenge>) {
        loop {
            self.skip(|b| b == b',' || b.is_ascii_whitespace());
            let Some(next) = self.peek() else { return };
            let token = self.take(is_tchar);
            if token.is_empty() {
                // Not a token: skip the byte rather than stop reading.
                self.at += usize::from(next != 0).max(1);
                continue;
            }
            self.skip(|b| b == b' ' || b == b'\t');
            if self.peek() != Some(b'=') {
                found.push(Challenge {
                    scheme: token,
                    params: Vec::new(),
                });
                continue;
            }
            self.at += 1;
            self.skip(|b| b == b' ' || b == b'\t');
            let value = match self.peek() {
                Some(b'"') => self.quoted(),
                _ => self.take(|b| b != b',' && !b.is_ascii_whitespace()),
            };
            if let Some(challenge) = found.last_mut() {
                challenge.params.push((token, value));
            }
        }
    }

    /// A quoted string from its opening quote, with `\x` escapes resolved.
    fn quoted(&mut self) -> String {
        self.at += 1;
        let mut value = Vec::new();
        while let Some(b) = self.peek() {
            self.at += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        value.push(escaped);
                        self.at += 1;
                    }
                }
                _ => value.push(b),
            }
        }
        String::from_utf8_lossy(&value).into_owned()
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer_error(values: &[&str]) -> Option<String> {
        challenges(values.iter().copied())
            .into_iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
            .and_then(|c| c.param("error").map(str::to_owned))
    }

    #[test]
    fn reads_real_challenge_shapes() {
        let insufficient = Some("insufficient_scope".to_owned());
        for shape in [
            r#"Bearer error="insufficient_scope""#,
            r#"bearer error=insufficient_scope"#,
            r#"Basic realm="api", Bearer error="insufficient_scope""#,
            r#"DPoP algs="ES256", Bearer error="insufficient_scope""#,
            r#"Bearer realm="a \"quoted\" realm", error="insufficient_scope""#,
            r#"Bearer error_description="say \"no\", twice", error="insufficient_scope""#,
            r#"Negotiate dXNlcjpwYXNz==, Bearer error="insufficient_scope""#,
        ] {
            assert_eq!(bearer_error(&[shape]), insufficient, "{shape}");
        }
        assert_eq!(
            bearer_error(&[r#"Basic realm="x""#, r#"Bearer error="insufficient_scope""#]),
            insufficient
        );
        assert_eq!(
            bearer_error(&[r#"Bearer error="invalid_token""#]).as_deref(),
            Some("invalid_token")
        );
        assert_eq!(
            bearer_error(&[r#"Basic realm="error=insufficient_scope""#]),
            None
        );
        assert_eq!(bearer_error(&["\"unterminated", "=,=", ""]), None);
    }
}
