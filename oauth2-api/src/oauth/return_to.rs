//! The one rule for return targets: where a person is sent back once authorized.
//!
//! A return target ends up in a `Location` header, so anything a browser could read as
//! another site is an open redirect: `//evil.example`, `/\evil.example` (browsers read a
//! backslash as a slash), `/<TAB>/evil.example` (browsers drop tabs and newlines from
//! URLs), a scheme, or a look-alike of `/` outside ASCII. CR and LF would also break the
//! header. Encoded forms (`%2F%2F`, `%5C`, `%09`, and those encoded again) are refused
//! as well, for servers and proxies that decode before redirecting.

/// Longest target accepted.
const MAX_LEN: usize = 2048;

/// How many rounds of percent-decoding are looked through (`%25252F` is three).
const DECODE_ROUNDS: usize = 4;

/// Accepts only a same-origin absolute path (`/vat?year=2017#top`); the reason otherwise.
pub(crate) fn check(target: &str) -> Result<(), &'static str> {
    if target.len() > MAX_LEN {
        return Err("it is longer than 2048 bytes");
    }
    if !target.is_ascii() {
        return Err("it has characters outside ASCII (percent-encode them)");
    }
    if !target.starts_with('/') {
        return Err("it is not a path of this application (it must start with `/`)");
    }
    check_layer(target.as_bytes(), false)?;
    let mut layer = target.as_bytes().to_vec();
    for _ in 0..DECODE_ROUNDS {
        let decoded: Vec<u8> = percent_encoding::percent_decode(&layer).collect();
        if decoded == layer {
            return Ok(());
        }
        check_layer(&decoded, true)?;
        layer = decoded;
    }
    Err("it is percent-encoded too many times over")
}

fn check_layer(bytes: &[u8], decoded: bool) -> Result<(), &'static str> {
    let refuse = |raw, encoded| Err(if decoded { encoded } else { raw });
    if bytes.iter().any(|b| b.is_ascii_control()) {
        return refuse(
            "it has control characters",
            "it has encoded control characters",
        );
    }
    if bytes.contains(&b'\\') {
        return refuse("it has backslashes", "it has encoded backslashes");
    }
    if bytes.starts_with(b"//") {
        return refuse(
            "`//` starts another site's address",
            "an encoded `//` starts another site's address",
        );
    }
    if !decoded && bytes.contains(&b' ') {
        return Err("it has spaces (percent-encode them)");
    }
    if decoded && !bytes.is_ascii() {
        // Encoded text outside ASCII must be real UTF-8 (an overlong `%C0%AF` is a `/` to
        // lax decoders) without look-alikes of `/` and `\` that some normalise to them.
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err("it has encoded bytes that are not UTF-8");
        };
        if text.chars().any(|c| SLASH_LOOKALIKES.contains(&c)) {
            return Err("it has an encoded look-alike of `/` or `\\`");
        }
    }
    Ok(())
}

/// Characters that Unicode normalisation (NFKC) or careless servers turn into `/` or `\`.
const SLASH_LOOKALIKES: [char; 8] = [
    '\u{2044}', // fraction slash
    '\u{2215}', // division slash
    '\u{2216}', // set minus
    '\u{29F5}', // reverse solidus operator
    '\u{29F8}', // big solidus
    '\u{29F9}', // big reverse solidus
    '\u{FF0F}', // fullwidth solidus
    '\u{FF3C}', // fullwidth reverse solidus
];

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn paths_of_this_application_pass() {
        for ok in [
            "/",
            "/vat?year=2017",
            "/vat/form#top",
            "/search?q=a%2Fb&next=%2Fvat",
            "/caf%C3%A9",
            "/a//b",
            "/@evil.example",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn other_sites_and_header_breakers_are_refused() {
        for bad in [
            "/\t/evil.example",
            "/\t\\evil.example",
            "/\r\nSet-Cookie: a=b",
            "/\nevil",
            "/\0",
            "/\\evil.example",
            "\\\\evil.example",
            "//evil.example",
            "/%09/evil.example",
            "/%2F%2Fevil.example",
            "/%2fevil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "/%25252F%25252Fevil.example",
            "/%0d%0aLocation:%20x",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/\u{FF0F}evil.example",
            "/\u{2215}evil.example",
            "/ /evil.example",
            "/%EF%BC%8Fevil.example",
            "/%E2%88%95evil.example",
            "/%EF%BC%BCevil.example",
            "/%C0%AFevil.example",
            "/%25EF%25BC%258Fevil.example",
        ] {
            assert!(check(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(check(&format!("/{}", "a".repeat(3000))).is_err());
    }
}
