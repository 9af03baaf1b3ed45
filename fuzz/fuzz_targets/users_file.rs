//! `parse_users_file`: the users JSON file operators seed a store from (`--users`).
//!
//! Input: the file's bytes.
//!
//! Invariants: parsing never panics; an accepted file has exactly the entries of the JSON array,
//! in order, with unique usernames of 1 to `MAX_USERNAME_BYTES` bytes without control
//! characters, hashes `PasswordHash::parse` accepts (kept verbatim), valid scopes, and no store
//! id yet; written back as JSON it parses to the same users; and an error never quotes a
//! `password_hash`: the file with a marker appended to every hash is parsed again, and its error
//! must not contain the marker.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tokenward::MAX_USERNAME_BYTES;
use tokenward::password::PasswordHash;
use tokenward::store::{User, parse_users_file};
use tokenward::token::Scopes;
use tokenward_fuzz::{SECRET_MARK, with_marked_secrets};

fuzz_target!(|data: &[u8]| {
    if let Ok(users) = parse_users_file(data) {
        accepted(data, &users);
    }
    no_hash_in_errors(data);
});

fn accepted(data: &[u8], users: &[User]) {
    let file: Value = serde_json::from_slice(data).expect("an accepted file is JSON");
    let entries = file.as_array().expect("an accepted file is an array");
    assert_eq!(entries.len(), users.len(), "entries dropped or added");
    for (i, (user, entry)) in users.iter().zip(entries).enumerate() {
        assert!(user.id.is_empty(), "an imported user has an id");
        assert_eq!(
            entry["username"].as_str(),
            Some(user.username.as_str()),
            "username"
        );
        assert!(!user.username.is_empty() && user.username.len() <= MAX_USERNAME_BYTES);
        assert!(
            !user.username.chars().any(char::is_control),
            "control character"
        );
        assert!(
            users[..i].iter().all(|u| u.username != user.username),
            "username twice"
        );
        assert_eq!(
            entry["password_hash"].as_str(),
            Some(user.password_hash.expose_secret()),
            "hash changed"
        );
        let reparsed = PasswordHash::parse(user.password_hash.expose_secret().to_owned())
            .expect("an accepted hash parses");
        assert_eq!(reparsed.format(), user.password_hash.format());
        let scopes: Vec<&str> = match entry.get("scopes") {
            None => Vec::new(),
            Some(list) => list
                .as_array()
                .expect("scopes is a list")
                .iter()
                .map(|s| s.as_str().expect("scope is a string"))
                .collect(),
        };
        assert_eq!(
            Scopes::parse(&scopes.join(" ")).as_ref(),
            Ok(&user.scopes),
            "scopes"
        );
        assert_eq!(
            entry.get("disabled").map_or(Some(false), Value::as_bool),
            Some(user.disabled)
        );
    }
    let written: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "username": u.username,
                "password_hash": u.password_hash.expose_secret(),
                "scopes": u.scopes.iter().collect::<Vec<_>>(),
                "disabled": u.disabled,
                "full_name": u.full_name,
                "email": u.email,
            })
        })
        .collect();
    let again = parse_users_file(Value::Array(written).to_string().as_bytes())
        .expect("an accepted file written back parses");
    assert_eq!(again.len(), users.len());
    for (a, b) in again.iter().zip(users) {
        assert_eq!(
            (
                &a.id,
                &a.username,
                a.password_hash.expose_secret(),
                a.password_hash.format(),
                &a.scopes,
                a.disabled,
                &a.full_name,
                &a.email
            ),
            (
                &b.id,
                &b.username,
                b.password_hash.expose_secret(),
                b.password_hash.format(),
                &b.scopes,
                b.disabled,
                &b.full_name,
                &b.email
            ),
            "users do not round-trip"
        );
    }
}

fn no_hash_in_errors(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(marked) = with_marked_secrets(text, None, "password_hash") else {
        return;
    };
    if let Err(err) = parse_users_file(marked.as_bytes()) {
        let message = err.to_string();
        assert!(
            !message.contains(SECRET_MARK),
            "the error quotes a password_hash: {message}"
        );
    }
}
