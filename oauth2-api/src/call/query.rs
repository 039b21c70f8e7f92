//! A request's query, kept as the text it is sent as: `application/x-www-form-urlencoded`,
//! encoded as the `url` crate encodes query pairs. A call's arguments append to one
//! string (no pair of strings per parameter), a repeated call finds its URL by comparing
//! that string, and a new URL takes it as it is.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};

use url::form_urlencoded::{self, byte_serialize};

/// The encoded query (`a=1&b=x+y`); empty when there is none.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Query(String);

/// Parameter names only: a value may be a secret (a `code`, a cursor, a key).
impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.pairs().map(|(name, _)| name))
            .finish()
    }
}

impl Query {
    /// Appends the parameter `name=value`.
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.start(name);
        encode(&mut self.0, value);
    }

    /// Appends the parameter `name` with `value`'s `Display` text, encoded as it is
    /// written (a date's, without a string of its own first).
    pub(crate) fn push_shown(&mut self, name: &str, value: &dyn Display) -> fmt::Result {
        self.start(name);
        write!(Encoder(&mut self.0), "{value}")
    }

    /// Appends the parameter `name` with the value `write` appends to the text, already
    /// encoded; none when `write` says it had no value.
    pub(crate) fn push_with(&mut self, name: &str, write: impl FnOnce(&mut String) -> bool) {
        let mark = self.mark();
        self.start(name);
        if !write(&mut self.0) {
            self.truncate(mark);
        }
    }

    fn start(&mut self, name: &str) {
        if self.0.is_empty() {
            // Room for a few parameters at once, rather than growing a few bytes at a time.
            self.0.reserve(64);
        } else {
            self.0.push('&');
        }
        encode(&mut self.0, name);
        self.0.push('=');
    }

    /// The text sent after the `?`.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where the query ends now, for [`truncate`](Self::truncate) to go back to.
    pub(crate) fn mark(&self) -> usize {
        self.0.len()
    }

    /// Drops what was appended since `mark`.
    pub(crate) fn truncate(&mut self, mark: usize) {
        self.0.truncate(mark);
    }

    /// The query `text`, already a query's text (`a=1&b=2`), as it is.
    pub(crate) fn given(text: &str) -> Self {
        Self(text.to_owned())
    }

    /// An empty query written into `buffer` (emptied first).
    pub(crate) fn in_buffer(mut buffer: String) -> Self {
        buffer.clear();
        Self(buffer)
    }

    /// Its text's buffer, leaving it empty.
    pub(crate) fn take_buffer(&mut self) -> String {
        std::mem::take(&mut self.0)
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The parameters, decoded, in order.
    pub(crate) fn pairs(&self) -> form_urlencoded::Parse<'_> {
        form_urlencoded::parse(self.0.as_bytes())
    }

    /// The value of the first parameter named `name`.
    pub(crate) fn first(&self, name: &str) -> Option<Cow<'_, str>> {
        self.pairs().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Sets `name` to `value`, in place of every value it had.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        let kept: Vec<(String, String)> = (self.pairs())
            .filter(|(n, _)| n != name)
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        self.0.clear();
        for (n, v) in &kept {
            self.push(n, v);
        }
        self.push(name, value);
    }
}

/// Whether [`byte_serialize`] leaves the byte as it is.
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'*')
}

/// Appends `text` encoded: names and most values need no encoding, and are copied whole
/// rather than scanned in chunks.
pub(crate) fn encode(query: &mut String, text: &str) {
    if text.bytes().all(is_plain) {
        query.push_str(text);
    } else {
        query.extend(byte_serialize(text.as_bytes()));
    }
}

/// Writes text into a query encoded as [`byte_serialize`] encodes it.
struct Encoder<'a>(&'a mut String);

impl fmt::Write for Encoder<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        encode(self.0, text);
        Ok(())
    }

    /// What needs no encoding is pushed as it is: dates and numbers are written a
    /// character at a time.
    fn write_char(&mut self, c: char) -> fmt::Result {
        if c.is_ascii() && is_plain(c as u8) {
            self.0.push(c);
            Ok(())
        } else {
            self.encoded_char(c)
        }
    }
}

impl Encoder<'_> {
    /// Out of line, so that the common case above saves no registers.
    #[cold]
    #[inline(never)]
    fn encoded_char(&mut self, c: char) -> fmt::Result {
        self.write_str(c.encode_utf8(&mut [0; 4]))
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    fn pairs(query: &Query) -> Vec<(String, String)> {
        (query.pairs())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    }

    /// The text is the one `url` writes for the same pairs, so a URL is the same whether
    /// it was built from this or pair by pair.
    #[test]
    fn encodes_as_the_url_crate_does() {
        let awkward = [
            ("from", "2017-01-01"),
            ("q", "a b&c=d+e%f/?#"),
            ("ünï", "çødé ✓"),
            ("", ""),
            ("tab", "\t\r\n"),
        ];
        let mut query = Query::default();
        let mut url = url::Url::parse("https://api.example.com/x").unwrap();
        for (name, value) in awkward {
            query.push(name, value);
            url.query_pairs_mut().append_pair(name, value);
        }
        assert_eq!(Some(query.as_str()), url.query());
        let decoded: Vec<(String, String)> = awkward
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs(&query), decoded);
    }

    /// A `Display` text is encoded as the same text given whole: written in pieces and a
    /// character at a time, with every kind of character.
    #[test]
    fn a_shown_value_is_encoded_as_its_text() {
        /// Half in one piece, half a character at a time (as `chrono` writes a date).
        struct Halves<'a>(&'a str);
        impl std::fmt::Display for Halves<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let half = self.0.chars().count() / 2;
                let at = self
                    .0
                    .char_indices()
                    .nth(half)
                    .map_or(self.0.len(), |(i, _)| i);
                f.write_str(&self.0[..at])?;
                self.0[at..].chars().try_for_each(|c| f.write_char(c))
            }
        }
        use std::fmt::Write as _;
        let all: String = (0u8..128).map(char::from).chain("é✓ 𝄞".chars()).collect();
        for text in [all.as_str(), "2017-01-31", "", "a b+c"] {
            let (mut shown, mut given) = (Query::default(), Query::default());
            shown.push("q", "1");
            given.push("q", "1");
            shown.push_shown("d", &Halves(text)).unwrap();
            given.push("d", text);
            assert_eq!(shown, given, "{text:?}");
        }
    }

    #[test]
    fn set_replaces_every_value_and_truncate_goes_back() {
        let mut query = Query::default();
        query.push("page", "1");
        query.push("id", "a b");
        query.push("page", "7");
        assert_eq!(query.first("page").as_deref(), Some("1"));
        query.set("page", "2");
        assert_eq!(query.as_str(), "id=a+b&page=2");
        let mark = query.mark();
        query.push("x", "1");
        query.push("y", "2");
        query.truncate(mark);
        assert_eq!(query.as_str(), "id=a+b&page=2");
        let mut empty = Query::default();
        let start = empty.mark();
        empty.push("x", "1");
        empty.truncate(start);
        assert!(empty.is_empty());
        assert_eq!(empty.first("x"), None);
    }
}
