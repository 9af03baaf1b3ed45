//! The soak's users. The driver keeps their passphrases to log in with; the servers get only
//! argon2id hashes in a `--users` file, as an operator would give them.

use std::io::Read as _;
use std::path::Path;

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use serde_json::{Value, json};

use crate::config::USERS;

/// `USERS` names and passphrases, the passphrases unique to this run (`pid`).
pub fn soak_users(pid: u32) -> Vec<(String, String)> {
    (0..USERS)
        .map(|i| {
            (
                format!("soak-user-{i}"),
                format!("soak-passphrase-{i}-{pid}"),
            )
        })
        .collect()
}

/// Writes `users` as the servers' `--users` file at `path`.
pub fn write_users_file(path: &Path, users: &[(String, String)]) {
    let users_json: Vec<Value> = users
        .iter()
        .map(|(u, p)| json!({"username": u, "password_hash": argon2_hash(p), "scopes": ["items:read"]}))
        .collect();
    std::fs::write(path, Value::Array(users_json).to_string()).unwrap();
}

fn argon2_hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut salt)
        .unwrap();
    let params = Params::new(7 * 1024, 5, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &SaltString::encode_b64(&salt).unwrap())
        .unwrap()
        .to_string()
}
