//! OAuth 2.0 scopes (RFC 6749 §3.3): a set of scope tokens, written space-delimited.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest scope string accepted, in bytes.
pub const MAX_SCOPE_BYTES: usize = 4096;

/// The OpenID Connect scopes (Core 1.0 §3.1.2.1, §5.4). They ask who the user is, not for
/// access to an API, so any user may grant them without having them among their own scopes; a
/// client still needs them registered (and a third-party client the user's consent).
pub const IDENTITY_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// The scope that lets a third-party client manage the account of the user it acts for: log
/// the user out everywhere, change the password, read the account's own scopes (the rule is
/// `oauth2::AccountAccess`). Granted like an API scope: the user must hold it, the
/// client must be registered for it and the user must consent. Tokens from no client or from a
/// first-party client need no scope for this.
pub const ACCOUNT_SCOPE: &str = "account";

/// A set of scopes. Always valid: every way to build one checks the RFC 6749 grammar
/// (`scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<String>);

/// A scope string or name that breaks the RFC 6749 grammar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// A scope contains a character outside `%x21 / %x23-5B / %x5D-7E` (no space, `"`, `\`,
    /// control or non-ASCII characters).
    #[error("scope contains a character that RFC 6749 does not allow")]
    IllegalCharacter,
    /// An individual scope name is empty.
    #[error("scope name is empty")]
    Empty,
    /// The scope string is longer than [`MAX_SCOPE_BYTES`].
    #[error("scope string is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
}

/// A token lacks scopes an operation needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("insufficient scope: missing {missing}")]
pub struct InsufficientScope {
    /// The scopes that were needed and not granted.
    pub missing: Scopes,
}

fn check_name(name: &str) -> Result<(), ScopeError> {
    if name.is_empty() {
        return Err(ScopeError::Empty);
    }
    let legal = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    if name.bytes().all(legal) {
        Ok(())
    } else {
        Err(ScopeError::IllegalCharacter)
    }
}

impl Scopes {
    /// No scopes.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a space-delimited scope string. Runs of spaces are tolerated; an empty string is
    /// the empty set.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        if text.len() > MAX_SCOPE_BYTES {
            return Err(ScopeError::TooLong {
                max: MAX_SCOPE_BYTES,
            });
        }
        text.split(' ')
            .filter(|part| !part.is_empty())
            .map(|part| check_name(part).map(|()| part.to_owned()))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Builds a set from individual scope names, checking each.
    pub fn from_names<I, S>(names: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut set = BTreeSet::new();
        for name in names {
            let name = name.into();
            check_name(&name)?;
            set.insert(name);
        }
        Ok(Self(set))
    }

    /// [`IDENTITY_SCOPES`] as a set.
    pub fn identity() -> Self {
        Self(IDENTITY_SCOPES.iter().map(|s| (*s).to_owned()).collect())
    }

    /// Whether `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    /// Whether there are no scopes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many scopes there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The scope names, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Scopes in both sets.
    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// Scopes in either set.
    pub fn union(&self, other: &Scopes) -> Scopes {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// Scopes in `self` but not in `other`.
    pub fn difference(&self, other: &Scopes) -> Scopes {
        Self(self.0.difference(&other.0).cloned().collect())
    }

    /// `Ok` when `self` grants everything in `needed`; otherwise the error names what is missing.
    pub fn require(&self, needed: &Scopes) -> Result<(), InsufficientScope> {
        let missing = needed.difference(self);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(InsufficientScope { missing })
        }
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

impl std::str::FromStr for Scopes {
    type Err = ScopeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip_sorted() {
        let s = Scopes::parse("items:write  items:read openid").unwrap();
        assert_eq!(s.to_string(), "items:read items:write openid");
        assert_eq!(Scopes::parse(&s.to_string()).unwrap(), s);
        assert!(Scopes::parse("").unwrap().is_empty());
    }

    #[test]
    fn illegal_characters_are_rejected() {
        for bad in [
            "a\"b",
            "a\\b",
            "tab\there",
            "caf\u{e9}",
            "nul\0",
            "line\nbreak",
        ] {
            assert_eq!(
                Scopes::parse(bad),
                Err(ScopeError::IllegalCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(Scopes::from_names(["ok", ""]), Err(ScopeError::Empty));
        assert!(matches!(
            Scopes::parse(&"a ".repeat(3000)),
            Err(ScopeError::TooLong { .. })
        ));
    }

    #[test]
    fn set_operations_and_require() {
        let granted = Scopes::parse("a b c").unwrap();
        let needed = Scopes::parse("b d e").unwrap();
        assert_eq!(granted.intersection(&needed).to_string(), "b");
        assert_eq!(granted.union(&needed).to_string(), "a b c d e");
        assert_eq!(granted.difference(&needed).to_string(), "a c");
        assert!(Scopes::parse("a c").unwrap().is_subset(&granted));
        assert_eq!(
            granted.require(&needed).unwrap_err().missing.to_string(),
            "d e"
        );
        assert!(granted.require(&Scopes::parse("a b").unwrap()).is_ok());
        assert!(granted.require(&Scopes::empty()).is_ok());
    }
}
