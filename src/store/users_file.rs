//! The users-file format operators seed a store from: a JSON array of
//! `{"username", "password_hash", "scopes", "disabled", "full_name", "email"}`.
//!
//! The whole file is checked before anything is written, so a bad entry leaves the store as it
//! was. Errors name the entry (index and username), never the hash.

use serde::Deserialize;

use super::MAX_USERNAME_BYTES;
use super::{ImportMode, ImportReport, StoreError, TokenRevocation, User, UserStore};
use crate::password::PasswordHash;
use crate::token::Scopes;

/// Users files larger than this are refused before parsing.
pub const MAX_USERS_FILE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    username: String,
    password_hash: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Why a users file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsersFileError {
    /// The file is not a JSON array of user objects.
    #[error("not a users file: {0}")]
    Format(String),
    /// One entry is invalid.
    #[error("users[{index}] ({username:?}): {reason}")]
    Entry {
        /// Position in the array.
        index: usize,
        /// The entry's username (may be empty or truncated when that is the problem).
        username: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing to the store failed.
    #[error("storing users: {0}")]
    Store(#[from] StoreError),
}

/// Parses and checks a users file. Every `password_hash` must be in a format the library
/// verifies ([`PasswordHash::parse`]); usernames must be unique, non-empty and at most
/// [`MAX_USERNAME_BYTES`]; scopes must be valid RFC 6749 scope tokens.
pub fn parse_users_file(json: &[u8]) -> Result<Vec<User>, UsersFileError> {
    if json.len() > MAX_USERS_FILE_BYTES {
        return Err(UsersFileError::Format(format!(
            "larger than {MAX_USERS_FILE_BYTES} bytes"
        )));
    }
    // serde_json's data errors quote the offending value, which could be a hash: report only
    // where and what kind of error it is.
    let entries: Vec<Entry> = serde_json::from_slice(json).map_err(|err| {
        let what = match err.classify() {
            serde_json::error::Category::Data => {
                "expected an array of {\"username\", \"password_hash\", \"scopes\", \"disabled\", \
                 \"full_name\", \"email\"} objects"
            }
            serde_json::error::Category::Eof => "unexpected end of file",
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => "invalid JSON",
        };
        UsersFileError::Format(format!(
            "{what} (line {}, column {})",
            err.line(),
            err.column()
        ))
    })?;

    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let refuse = |reason: String| UsersFileError::Entry {
                index,
                username: entry.username.chars().take(64).collect(),
                reason,
            };
            if entry.username.is_empty() || entry.username.len() > MAX_USERNAME_BYTES {
                return Err(refuse(format!(
                    "username must be 1 to {MAX_USERNAME_BYTES} bytes"
                )));
            }
            // Logins refuse such names before any lookup, so such a user could never log in.
            if entry.username.chars().any(char::is_control) {
                return Err(refuse("username contains a control character".into()));
            }
            if !seen.insert(entry.username.clone()) {
                return Err(refuse("username appears twice".into()));
            }
            let password_hash = PasswordHash::parse(entry.password_hash.as_str())
                .map_err(|e| refuse(e.to_string()))?;
            let scopes = Scopes::parse(&entry.scopes.join(" "))
                .map_err(|e| refuse(format!("scopes: {e}")))?;
            Ok(User {
                id: String::new(),
                username: entry.username,
                password_hash,
                scopes,
                disabled: entry.disabled,
                full_name: entry.full_name,
                email: entry.email,
            })
        })
        .collect()
}

/// Imports `users` (from [`parse_users_file`]) in one transaction, and cuts off the earlier
/// tokens of every existing user whose hash, scopes or disabled flag it changes.
///
/// With [`ImportMode::InsertMissing`] (what a server does at every start) existing users are
/// left exactly as they are, so nothing is cut off. With [`ImportMode::Update`] the cutoff
/// happens twice, as for a password change: before the import for the users it is about to
/// change (a failure in between leaves tokens revoked with the old data in place, never the
/// reverse), and after it for the users it did change.
pub async fn import_users(
    store: &dyn UserStore,
    revocation: &dyn TokenRevocation,
    users: Vec<User>,
    mode: ImportMode,
) -> Result<ImportReport, StoreError> {
    if mode == ImportMode::Update {
        for wanted in &users {
            if let Some(existing) = store.find_by_username(&wanted.username).await?
                && existing.security_differs(wanted)
            {
                revocation.bump_user_generation(&existing.id).await?;
            }
        }
    }
    let report = store.import(users, mode).await?;
    for id in &report.security_changed {
        revocation.bump_user_generation(id).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BCRYPT: &str = "$2b$04$zzI1QM4PRk1fAq3Zh9fKO.8dvUCZ1LWb5Hh6/1ho/3Ps5Fz0fNDb6";

    #[test]
    fn parses_and_names_bad_entries() {
        let good = format!(
            r#"[{{"username": "alice", "password_hash": "{BCRYPT}", "scopes": ["items:read"]}}]"#
        );
        let users = parse_users_file(good.as_bytes()).unwrap();
        assert_eq!(users[0].username, "alice");
        assert_eq!(users[0].scopes.to_string(), "items:read");
        assert!(!users[0].disabled);

        let unknown = r#"[{"username": "alice", "password_hash": "$2b$04$zzI"},
                          {"username": "bob", "password_hash": "md5:5f4dcc3b5aa765d61d8327deb882cf99"}]"#;
        let err = parse_users_file(unknown.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("users[0] (\"alice\")"), "{err}");
        assert!(!err.contains("zzI"), "the hash must not be echoed: {err}");

        let dup = format!(
            r#"[{{"username": "a", "password_hash": "{BCRYPT}"}}, {{"username": "a", "password_hash": "{BCRYPT}"}}]"#
        );
        let err = parse_users_file(dup.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("users[1]") && err.contains("twice"), "{err}");

        let wrong_type = format!(
            r#"[{{"username": "a", "password_hash": "{BCRYPT}", "disabled": "{BCRYPT}"}}]"#
        );
        let err = parse_users_file(wrong_type.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!err.contains("zzI"), "{err}");
        assert!(err.contains("line 1"), "{err}");

        assert!(parse_users_file(b"{\"users\": []}").is_err());
        assert!(parse_users_file(b"[").is_err());
    }
}
