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

/// The scopes of a provider's `scope` value: split on whitespace, commas, and any
/// character of the provider's separator. RFC 6749 says spaces, but GitHub answers
/// `"read:user,repo"` whatever separator it was asked with; no provider puts a comma
/// inside a scope, so splitting on it always costs nothing and fixes those answers.
pub(crate) fn split<'a>(text: &'a str, separator: &'a str) -> impl Iterator<Item = String> + 'a {
    text.split(move |c: char| c.is_whitespace() || c == ',' || separator.contains(c))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Which scopes a token is taken to cover, from what the token answer says.
///
/// Set with [`Provider::scope_policy`](crate::Provider::scope_policy) or
/// `#[oauth2_api(scope_policy = "...")]`; implications (`user` covering `read:user`) with
/// [`Provider::scope_implies`](crate::Provider::scope_implies) apply under both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopePolicy {
    /// The scopes the answer lists (all of those asked for when it lists none): an
    /// endpoint whose scope was not granted asks the person again. The default.
    #[default]
    Granted,
    /// The scopes asked for, and any the answer lists besides: for a provider whose
    /// `scope` answer does not name what it granted in the terms it was asked in.
    Requested,
}

/// How a provider's answers are read: the policy and the declared implications, each
/// `(broader, narrower)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ScopeRules {
    pub(crate) policy: ScopePolicy,
    pub(crate) implies: Vec<(String, String)>,
}

impl ScopeRules {
    /// The scopes a token covers: the answer's (`answered`, already split), or those
    /// `asked` when it names none or the policy trusts the request, with what each
    /// implies added. Computed once per token answer, so calls compare plain lists.
    pub(crate) fn covered(&self, answered: Vec<String>, asked: &[String]) -> Vec<String> {
        let mut covered = match self.policy {
            _ if answered.is_empty() => asked.to_vec(),
            ScopePolicy::Granted => union(&[], &answered),
            ScopePolicy::Requested => union(asked, &answered),
        };
        let mut i = 0;
        // Implications may chain (`admin` → `user` → `read:user`): each added scope is
        // looked at in turn; the list only grows by declared scopes, so this ends.
        while i < covered.len() {
            for (broader, narrower) in &self.implies {
                if *broader == covered[i] && !covered.contains(narrower) {
                    covered.push(narrower.clone());
                }
            }
            i += 1;
        }
        covered
    }
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
    fn splits_on_spaces_commas_and_the_separator() {
        let got: Vec<_> = split("read:vat,write:vat hello", ",").collect();
        assert_eq!(got, ["read:vat", "write:vat", "hello"]);
        let got: Vec<_> = split("read:user,repo  gist, x+y", "+").collect();
        assert_eq!(got, ["read:user", "repo", "gist", "x", "y"]);
    }

    #[test]
    fn the_policy_and_implications_decide_what_a_token_covers() {
        let asked = owned(&["read:user", "repo"]);
        let granted = ScopeRules::default();
        assert_eq!(granted.covered(owned(&["repo"]), &asked), owned(&["repo"]));
        assert_eq!(granted.covered(Vec::new(), &asked), asked);
        let trusting = ScopeRules {
            policy: ScopePolicy::Requested,
            implies: Vec::new(),
        };
        assert_eq!(
            trusting.covered(owned(&["user", "repo"]), &asked),
            owned(&["read:user", "repo", "user"])
        );
        let implying = ScopeRules {
            policy: ScopePolicy::Granted,
            implies: vec![
                ("admin".into(), "user".into()),
                ("user".into(), "read:user".into()),
            ],
        };
        assert_eq!(
            implying.covered(owned(&["admin", "repo"]), &asked),
            owned(&["admin", "repo", "user", "read:user"])
        );
    }
}
