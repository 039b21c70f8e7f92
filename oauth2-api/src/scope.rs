//! Scopes: what an endpoint needs, what a person is asked for, what a token was granted.
//!
//! [`ScopeSet`] is the one set type the runtime and the generated code pass around, and
//! the one place where scopes are compared, merged, joined and split. Order is kept (the
//! order in which scopes were first named, as providers show them) and duplicates are
//! dropped. The public records ([`TokenSet::scopes`](crate::TokenSet::scopes) and the
//! like) hold plain `Vec<String>`s made from one.

use std::fmt;

/// A set of scopes: each named once, in the order first named. A declaration's is
/// borrowed from its generated `static`, so a call copies none; one built at run time
/// (from a token answer, a caller's list, a union) owns its names.
///
/// Equality is set equality: the same scopes in any order.
#[derive(Clone)]
pub struct ScopeSet(Names);

#[derive(Clone)]
enum Names {
    /// The macro names each scope of a declaration once (it refuses a repeat).
    Declared(&'static [&'static str]),
    Owned(Vec<String>),
}

impl ScopeSet {
    /// No scope.
    pub const EMPTY: ScopeSet = ScopeSet(Names::Declared(&[]));

    /// A declaration's scopes, each named once.
    pub const fn declared(scopes: &'static [&'static str]) -> Self {
        Self(Names::Declared(scopes))
    }

    /// The scopes, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let (declared, owned) = match &self.0 {
            Names::Declared(d) => (*d, &[][..]),
            Names::Owned(o) => (&[][..], o.as_slice()),
        };
        declared
            .iter()
            .copied()
            .chain(owned.iter().map(String::as_str))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    pub(crate) fn contains(&self, scope: &str) -> bool {
        self.iter().any(|s| s == scope)
    }

    /// Whether every scope of this set is among `granted` (a token's list).
    /// Asked on every call: each kind of set walked as it is, not chained.
    pub(crate) fn is_subset_of<S: AsRef<str>>(&self, granted: &[S]) -> bool {
        match &self.0 {
            Names::Declared(declared) => all_granted(declared.iter().copied(), granted),
            Names::Owned(owned) => all_granted(owned.iter().map(String::as_str), granted),
        }
    }

    /// Whether this set holds every scope of `other`.
    pub(crate) fn covers(&self, other: &ScopeSet) -> bool {
        other.iter().all(|s| self.contains(s))
    }

    /// These scopes, then those of `other` this set lacks. No copy when it lacks none.
    pub(crate) fn union(&self, other: &ScopeSet) -> ScopeSet {
        if self.covers(other) {
            return self.clone();
        }
        self.iter().chain(other.iter()).collect()
    }

    /// The scopes of this set that are not among `granted`, in order.
    pub(crate) fn missing_from<S: AsRef<str>>(&self, granted: &[S]) -> ScopeSet {
        self.iter()
            .filter(|s| !granted.iter().any(|g| g.as_ref() == *s))
            .collect()
    }

    /// The scopes as one `scope` parameter, joined with the provider's separator.
    pub(crate) fn join(&self, separator: &str) -> String {
        let mut joined = String::new();
        for (i, s) in self.iter().enumerate() {
            if i > 0 {
                joined.push_str(separator);
            }
            joined.push_str(s);
        }
        joined
    }

    /// The scopes of a provider's `scope` value: split on whitespace, commas, and any
    /// character of the provider's separator. RFC 6749 says spaces, but GitHub answers
    /// `"read:user,repo"` whatever separator it was asked with; no provider puts a comma
    /// inside a scope, so splitting on it always costs nothing and fixes those answers.
    pub(crate) fn split(text: &str, separator: &str) -> ScopeSet {
        text.split(|c: char| c.is_whitespace() || c == ',' || separator.contains(c))
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The scopes as the public types hold them.
    pub(crate) fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// Adds `scope` unless it is already there.
    fn insert(&mut self, scope: &str) {
        if self.contains(scope) {
            return;
        }
        if let Names::Declared(d) = self.0 {
            self.0 = Names::Owned(d.iter().map(|s| (*s).to_owned()).collect());
        }
        if let Names::Owned(owned) = &mut self.0 {
            owned.push(scope.to_owned());
        }
    }
}

/// Whether every scope of `required` is among `granted`.
pub(crate) fn all_granted<'a, S: AsRef<str>>(
    mut required: impl Iterator<Item = &'a str>,
    granted: &[S],
) -> bool {
    required.all(|r| granted.iter().any(|g| g.as_ref() == r))
}

impl Default for ScopeSet {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<S: AsRef<str>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(scopes: I) -> Self {
        let mut set = ScopeSet(Names::Owned(Vec::new()));
        for s in scopes {
            set.insert(s.as_ref());
        }
        set
    }
}

impl PartialEq for ScopeSet {
    fn eq(&self, other: &Self) -> bool {
        self.covers(other) && other.covers(self)
    }
}

impl Eq for ScopeSet {}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
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
    pub(crate) fn covered(&self, answered: ScopeSet, asked: &ScopeSet) -> ScopeSet {
        let mut covered = match self.policy {
            _ if answered.is_empty() => asked.clone(),
            ScopePolicy::Granted => answered,
            ScopePolicy::Requested => asked.union(&answered),
        };
        // Implications may chain (`admin` → `user` → `read:user`): added until none adds
        // anything; the set only grows by declared scopes, so this ends.
        loop {
            let implied: ScopeSet = (self.implies.iter())
                .filter(|(broader, narrower)| {
                    covered.contains(broader) && !covered.contains(narrower)
                })
                .map(|(_, narrower)| narrower)
                .collect();
            if implied.is_empty() {
                return covered;
            }
            covered = covered.union(&implied);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(scopes: &[&str]) -> ScopeSet {
        scopes.iter().collect()
    }

    #[test]
    fn sets_keep_order_and_drop_duplicates() {
        let all = set(&["a", "b", "a"]).union(&set(&["c", "b"]));
        assert_eq!(all.to_vec(), ["a", "b", "c"]);
        assert_eq!(set(&["a", "b"]), set(&["b", "a", "a"]));
        assert_ne!(set(&["a"]), set(&["a", "b"]));
        assert!(ScopeSet::declared(&["a"]).is_subset_of(&["b", "a"]));
        assert!(!ScopeSet::declared(&["a", "c"]).is_subset_of(&["b", "a"]));
        assert_eq!(set(&["x", "x"]).to_vec(), ["x"]);
        assert_eq!(
            set(&["a", "b", "c"]).missing_from(&["b"]).to_vec(),
            ["a", "c"]
        );
        assert_eq!(set(&["a", "b"]).join("+"), "a+b");
        assert!(ScopeSet::EMPTY.is_empty() && ScopeSet::EMPTY.join(" ").is_empty());
    }

    #[test]
    fn a_union_with_nothing_new_is_the_declaration_itself() {
        let declared = ScopeSet::declared(&["a", "b"]);
        let same = declared.union(&set(&["b"]));
        assert!(matches!(same.0, Names::Declared(_)));
        let wider = declared.union(&set(&["c"]));
        assert_eq!(wider.to_vec(), ["a", "b", "c"]);
    }

    #[test]
    fn splits_on_spaces_commas_and_the_separator() {
        let got = ScopeSet::split("read:vat,write:vat hello", ",");
        assert_eq!(got.to_vec(), ["read:vat", "write:vat", "hello"]);
        let got = ScopeSet::split("read:user,repo  gist, x+y gist", "+");
        assert_eq!(got.to_vec(), ["read:user", "repo", "gist", "x", "y"]);
    }

    #[test]
    fn the_policy_and_implications_decide_what_a_token_covers() {
        let asked = set(&["read:user", "repo"]);
        let granted = ScopeRules::default();
        let covered = granted.covered(set(&["repo"]), &asked);
        assert_eq!(covered.to_vec(), ["repo"]);
        assert_eq!(
            granted.covered(ScopeSet::EMPTY, &asked).to_vec(),
            asked.to_vec()
        );
        let trusting = ScopeRules {
            policy: ScopePolicy::Requested,
            implies: Vec::new(),
        };
        let covered = trusting.covered(set(&["user", "repo"]), &asked);
        assert_eq!(covered.to_vec(), ["read:user", "repo", "user"]);
        let implying = ScopeRules {
            policy: ScopePolicy::Granted,
            implies: vec![
                ("admin".into(), "user".into()),
                ("user".into(), "read:user".into()),
            ],
        };
        let covered = implying.covered(set(&["admin", "repo"]), &asked);
        assert_eq!(covered.to_vec(), ["admin", "repo", "user", "read:user"]);
    }
}
