//! Rules for choosing a new password (NIST SP 800-63B §3.1.1.2): length, a blocklist of common
//! passwords and the username, and nothing else. Composition rules ("one digit, one symbol") are
//! deliberately absent: NIST recommends against them.

use std::collections::HashSet;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// The most bytes a password may have, for new passwords and for verification alike.
///
/// Longer input is refused before any hashing work, so a megabyte "password" costs nothing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Passwords that appear at the top of every breach corpus; [`PasswordPolicy`] refuses them
/// (compared case-insensitively). Callers can add their own with
/// [`PasswordPolicy::with_blocked_passwords`].
pub const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "87654321",
    "11111111",
    "00000000",
    "88888888",
    "12341234",
    "11223344",
    "123123123",
    "147258369",
    "987654321",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "qwertyui",
    "asdfghjkl",
    "asdfasdf",
    "zxcvbnm1",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "basketball",
    "superman",
    "batman123",
    "starwars",
    "trustno1",
    "whatever",
    "welcome1",
    "welcome123",
    "letmein1",
    "letmein123",
    "changeme",
    "changeme123",
    "abc12345",
    "abcd1234",
    "abcdefgh",
    "aa123456",
    "admin123",
    "administrator",
    "computer",
    "internet",
    "michelle",
    "jennifer",
    "jordan23",
    "liverpool",
    "chelsea1",
    "arsenal1",
    "pokemon1",
    "dragon12",
    "master12",
    "monkey12",
    "shadow12",
    "samsung1",
    "q1w2e3r4",
    "q1w2e3r4t5",
    "zaq12wsx",
    "secret123",
    "default1",
    "test1234",
    "testtest",
    "guest123",
    "root1234",
    "login123",
    "mustang1",
    "access14",
    "passpass",
    "qazwsxedc",
    "1234qwer",
    "qwer1234",
    "!qaz2wsx",
    "1234abcd",
    "a1b2c3d4",
    "secret",
    "123456",
    "1234567",
    "qwerty",
    "letmein",
    "monkey",
    "dragon",
    "111111",
    "abc123",
];

/// Why a new password was refused. Never contains the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer characters (Unicode scalar values) than the minimum.
    #[error("password is too short: at least {min} characters are required")]
    TooShort {
        /// The configured minimum.
        min: usize,
    },
    /// More bytes than [`MAX_PASSWORD_BYTES`].
    #[error("password is too long: at most {max} bytes are allowed")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The password is on the common-password blocklist.
    #[error("password is too common; choose one that is not on lists of breached passwords")]
    Common,
    /// The password equals the username.
    #[error("password must not be the username")]
    SameAsUsername,
    /// The password contains a NUL character, which C-based verifiers silently truncate at.
    #[error("password must not contain a NUL character")]
    ContainsNul,
}

/// The rules a new password must satisfy. Existing passwords are never re-checked at login.
#[derive(Clone)]
pub struct PasswordPolicy {
    min_chars: usize,
    blocked: HashSet<String>,
}

impl fmt::Debug for PasswordPolicy {
    // The blocklist may hold an organisation's own leaked passwords: show only its size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordPolicy")
            .field("min_chars", &self.min_chars)
            .field("blocked_passwords", &self.blocked.len())
            .finish()
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: Self::DEFAULT_MIN_CHARS,
            blocked: COMMON_PASSWORDS.iter().map(|p| p.to_lowercase()).collect(),
        }
    }
}

impl PasswordPolicy {
    /// Default minimum length in characters (NIST's floor for user-chosen passwords).
    pub const DEFAULT_MIN_CHARS: usize = 8;

    /// Sets the minimum length in characters; values below 1 are raised to 1, and values that
    /// could never fit in [`MAX_PASSWORD_BYTES`] are lowered to it.
    pub fn with_min_chars(mut self, min_chars: usize) -> Self {
        self.min_chars = min_chars.clamp(1, MAX_PASSWORD_BYTES);
        self
    }

    /// Adds passwords to the blocklist (compared case-insensitively), for example a breach corpus
    /// or the service's own name.
    pub fn with_blocked_passwords<I, S>(mut self, passwords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.blocked
            .extend(passwords.into_iter().map(|p| p.as_ref().to_lowercase()));
        self
    }

    /// The minimum length in characters.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Checks a new password for `username`; the error names the first rule it breaks.
    pub fn check(&self, username: &str, password: &SecretString) -> Result<(), PolicyViolation> {
        let password = password.expose_secret();
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PolicyViolation::TooLong {
                max: MAX_PASSWORD_BYTES,
            });
        }
        if password.contains('\0') {
            return Err(PolicyViolation::ContainsNul);
        }
        if password.chars().count() < self.min_chars {
            return Err(PolicyViolation::TooShort {
                min: self.min_chars,
            });
        }
        if !username.is_empty() && password.to_lowercase() == username.to_lowercase() {
            return Err(PolicyViolation::SameAsUsername);
        }
        if self.blocked.contains(&password.to_lowercase()) {
            return Err(PolicyViolation::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &PasswordPolicy, user: &str, pw: &str) -> Result<(), PolicyViolation> {
        policy.check(user, &SecretString::from(pw.to_owned()))
    }

    #[test]
    fn each_rule_is_named() {
        let p = PasswordPolicy::default();
        assert_eq!(
            check(&p, "alice", "short"),
            Err(PolicyViolation::TooShort { min: 8 })
        );
        assert_eq!(
            check(&p, "alice", &"x".repeat(1025)),
            Err(PolicyViolation::TooLong { max: 1024 })
        );
        assert_eq!(
            check(&p, "alice", "PassWord123"),
            Err(PolicyViolation::Common)
        );
        assert_eq!(
            check(&p, "alexander99", "Alexander99"),
            Err(PolicyViolation::SameAsUsername)
        );
        assert_eq!(
            check(&p, "alice", "abc\0defghij"),
            Err(PolicyViolation::ContainsNul)
        );
        assert_eq!(check(&p, "alice", "correct horse battery"), Ok(()));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let p = PasswordPolicy::default();
        // 8 characters, 24 bytes.
        assert_eq!(check(&p, "bob", "日本語の秘密です"), Ok(()));
        assert_eq!(
            check(&p, "bob", "日本語の秘密"),
            Err(PolicyViolation::TooShort { min: 8 })
        );
    }

    #[test]
    fn no_composition_rules() {
        assert_eq!(
            check(&PasswordPolicy::default(), "bob", "alllowercaseletters"),
            Ok(())
        );
    }

    #[test]
    fn blocklist_is_extensible() {
        let p = PasswordPolicy::default().with_blocked_passwords(["TokenWard2026"]);
        assert_eq!(
            check(&p, "bob", "tokenward2026"),
            Err(PolicyViolation::Common)
        );
        let debug = format!("{p:?}");
        assert!(!debug.contains("tokenward2026"), "{debug}");
    }
}
