//! Path templates: `"/organisations/vat/{vrn}/obligations"` parsed once into static
//! parts and captures. Only the braces are read here; what a path may hold (a leading
//! `/`, no query, captures that name arguments) is checked in `valid`.

use syn::LitStr;

pub(crate) struct Template {
    pub(crate) lit: LitStr,
    pub(crate) segments: Vec<Segment>,
}

pub(crate) enum Segment {
    Static(String),
    Capture(String),
}

impl Template {
    /// Parses `lit` into parts; the error says which brace does not pair.
    pub(crate) fn parse(lit: LitStr) -> Result<Self, syn::Error> {
        let value = lit.value();
        let mut segments = Vec::new();
        let mut rest = value.as_str();
        while let Some(open) = rest.find('{') {
            if rest[..open].contains('}') {
                return Err(syn::Error::new_spanned(&lit, "unbalanced `}` in the path"));
            }
            if open > 0 {
                segments.push(Segment::Static(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(syn::Error::new_spanned(&lit, "unclosed `{` in the path"));
            };
            let name = &rest[open + 1..open + close];
            segments.push(Segment::Capture(name.to_owned()));
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(syn::Error::new_spanned(&lit, "unbalanced `}` in the path"));
        }
        if !rest.is_empty() {
            segments.push(Segment::Static(rest.to_owned()));
        }
        Ok(Self { lit, segments })
    }

    pub(crate) fn statics(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Static(part) => Some(part.as_str()),
            Segment::Capture(_) => None,
        })
    }

    pub(crate) fn captures(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Capture(name) => Some(name.as_str()),
            Segment::Static(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<String>, String> {
        let lit = LitStr::new(s, proc_macro2::Span::call_site());
        Template::parse(lit)
            .map(|t| {
                t.segments
                    .iter()
                    .map(|s| match s {
                        Segment::Static(s) => s.clone(),
                        Segment::Capture(c) => format!("<{c}>"),
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn templates() {
        assert_eq!(
            parse("/organisations/vat/{vrn}/returns/{period_key}").unwrap(),
            ["/organisations/vat/", "<vrn>", "/returns/", "<period_key>"]
        );
        assert_eq!(parse("/hello/world").unwrap(), ["/hello/world"]);
        assert!(parse("/a/{b").unwrap_err().contains("unclosed"));
        assert!(parse("/a/b}").unwrap_err().contains("unbalanced"));
        assert!(parse("/a}/{b}").unwrap_err().contains("unbalanced"));
    }
}
