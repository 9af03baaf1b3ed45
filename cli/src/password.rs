//! `hash`, `verify`, `check-policy`, and reading a password without putting it in argv.

use std::io::{BufRead, IsTerminal};

use secrecy::SecretString;
use serde_json::json;
use tokenward::password::{PasswordHash, PasswordHasher, PasswordPolicy, password_from_bytes};

use crate::outcome::{Answer, Failure, Outcome, fail};

/// Reads a password: a prompt without echo on a terminal, otherwise the first line of stdin
/// (without its line ending). Never from the command line, where `ps` and shell history see it.
pub fn read_password(prompt: &str) -> Result<SecretString, Failure> {
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(fail("reading the password"))?
    } else {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_until(b'\n', &mut bytes)
            .map_err(fail("reading the password from stdin"))?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        let password = password_from_bytes(bytes).map_err(fail("password"))?;
        return Ok(password);
    };
    Ok(SecretString::from(line))
}

/// `tokenward hash`: hashes with the library defaults (argon2id, m=19 MiB, t=2, p=1).
pub fn hash() -> Answer {
    let password = read_password("Password: ")?;
    let hasher = PasswordHasher::default();
    let hash = hasher.hash(&password).map_err(fail("hashing"))?;
    let hash = hash.expose_secret();
    Ok(Outcome::ok(hash, json!({ "hash": hash })))
}

/// `tokenward verify HASH`: `ok`, `ok (needs rehash)` or `invalid`.
pub fn verify(hash: &str) -> Answer {
    let hash = PasswordHash::parse(hash).map_err(fail("HASH"))?;
    let password = read_password("Password: ")?;
    let hasher = PasswordHasher::default();
    let matches = hasher.verify(&password, &hash).map_err(fail("verifying"))?;
    let format = hash.format().to_string();
    if !matches {
        return Ok(Outcome::no(
            "invalid",
            json!({"valid": false, "format": format}),
        ));
    }
    let rehash = hasher.needs_rehash(&hash);
    let human = if rehash { "ok (needs rehash)" } else { "ok" };
    Ok(Outcome::ok(
        human,
        json!({"valid": true, "needs_rehash": rehash, "format": format}),
    ))
}

/// `tokenward check-policy [--username U]`: the library's default policy for new passwords.
pub fn check_policy(username: &str) -> Answer {
    let password = read_password("Password: ")?;
    match PasswordPolicy::default().check(username, &password) {
        Ok(()) => Ok(Outcome::ok("ok", json!({"ok": true}))),
        Err(violation) => Ok(Outcome::no(
            format!("rejected: {violation}"),
            json!({"ok": false, "reason": violation.to_string()}),
        )),
    }
}
