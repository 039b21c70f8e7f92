//! Scopes: what an endpoint needs, what a person is asked for, what a token was granted.
//!
//! [`Scopes`] is the one set type the runtime passes around (a declaration's `static`
//! list, borrowed, or a list given at run time); the functions below are the one place
//! where scope lists are compared, merged, joined and split. Order is kept (the order in
//! which scopes were first named, as providers show them) and duplicates are dropped.

/// A set of scopes: a declaration's (borrowed from the generated `static`), or one given
/// at run time.
#[derive(Clone, Debug)]
pub(crate) enum Scopes {
    Declared(&'static [&'static str]),
    Given(Vec<String>),
}

impl Scopes {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let (declared, given) = match self {
            Scopes::Declared(d) => (*d, &[][..]),
            Scopes::Given(g) => (&[][..], g.as_slice()),
        };
        declared
            .iter()
            .copied()
            .chain(given.iter().map(String::as_str))
    }

    pub(crate) fn to_vec(&self) -> Vec<String> {
        union(&[], &self.iter().map(str::to_owned).collect::<Vec<_>>())
    }

    /// Whether `granted` holds every one of these scopes.
    pub(crate) fn covered_by(&self, granted: &[String]) -> bool {
        self.iter().all(|r| holds(granted, r))
    }
}

/// `a`, then the scopes of `b` it lacks, without duplicates, in order.
pub(crate) fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut all: Vec<String> = Vec::with_capacity(a.len() + b.len());
    for s in a.iter().chain(b) {
        if !all.contains(s) {
            all.push(s.clone());
        }
    }
    all
}

/// Whether `granted` holds `scope`.
fn holds(granted: &[String], scope: &str) -> bool {
    granted.iter().any(|s| s == scope)
}

/// Whether `granted` holds every scope of `required`.
pub(crate) fn covers<S: AsRef<str>>(granted: &[String], required: &[S]) -> bool {
    required.iter().all(|r| holds(granted, r.as_ref()))
}

/// The scopes of `wanted` that `granted` lacks, in order.
pub(crate) fn missing<'a>(wanted: &'a [String], granted: &[String]) -> Vec<&'a str> {
    wanted
        .iter()
        .map(String::as_str)
        .filter(|s| !holds(granted, s))
        .collect()
}

/// Whether `a` and `b` name the same scopes, in any order.
pub(crate) fn same_set(a: &[String], b: &[String]) -> bool {
    covers(a, b) && covers(b, a)
}

/// The scopes as one `scope` parameter, joined with the provider's separator.
pub(crate) fn join(scopes: &[String], separator: &str) -> String {
    scopes.join(separator)
}

/// The scopes of a provider's `scope` value: split on whitespace and on any character
/// of the provider's separator (GitHub answers `"read:user,repo"`).
pub(crate) fn split<'a>(text: &'a str, separator: &'a str) -> impl Iterator<Item = String> + 'a {
    text.split(move |c: char| c.is_whitespace() || separator.contains(c))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn sets_keep_order_and_drop_duplicates() {
        let all = union(&owned(&["a", "b", "a"]), &owned(&["c", "b"]));
        assert_eq!(all, owned(&["a", "b", "c"]));
        assert!(same_set(&owned(&["a", "b"]), &owned(&["b", "a", "a"])));
        assert!(!same_set(&owned(&["a"]), &owned(&["a", "b"])));
        assert!(Scopes::Declared(&["a"]).covered_by(&owned(&["b", "a"])));
        assert_eq!(Scopes::Given(owned(&["x", "x"])).to_vec(), owned(&["x"]));
    }

    #[test]
    fn splits_on_spaces_and_the_separator() {
        let got: Vec<_> = split("read:vat,write:vat hello", ",").collect();
        assert_eq!(got, ["read:vat", "write:vat", "hello"]);
    }
}
