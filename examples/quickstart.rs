//! A framework-free tour: hash and verify a password, upgrade a legacy hash, issue and validate
//! access tokens, rotate the signing key. Run with `cargo run --example quickstart`.

use secrecy::{ExposeSecret, SecretString};
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{PasswordHash, PasswordHasher};
use tokenward::token::{Scopes, TokenCodec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hasher = PasswordHasher::default(); // argon2id, m=19 MiB, t=2, p=1 (OWASP)
    let password = SecretString::from("correct horse battery staple");

    let hash = hasher.hash_new_password("johndoe", &password)?;
    println!("new hash format: {}", hash.format());
    println!(
        "right password verifies: {}",
        hasher.verify(&password, &hash)?
    );
    let wrong = SecretString::from("Tr0ub4dor&3");
    println!("wrong password verifies: {}", hasher.verify(&wrong, &hash)?);
    match hasher.hash_new_password("johndoe", &SecretString::from("password123")) {
        Err(e) => println!("weak new password refused: {e}"),
        Ok(_) => println!("weak new password accepted?!"),
    }

    // A bcrypt hash from an older service still verifies, and is flagged for upgrade.
    let legacy = PasswordHash::parse(bcrypt::hash("correct horse battery staple", 10)?)?;
    if hasher.verify(&password, &legacy)? && hasher.needs_rehash(&legacy) {
        let upgraded = hasher.hash(&password)?;
        println!("{} hash upgraded to {}", legacy.format(), upgraded.format());
    }

    let mut keys = KeySet::generate(KeyAlgorithm::DEFAULT)?;
    let codec = TokenCodec::builder(keys.clone(), "https://auth.example", "api.example").build()?;
    let scopes = Scopes::parse("items:read items:write")?;
    let issued = codec.issue_access("user-1", &scopes, "session-1")?;
    println!("access token: {}...", &issued.token.expose_secret()[..32]);

    let claims = codec.validate_access(issued.token.expose_secret())?;
    println!(
        "valid for {} with scope {:?}",
        claims.sub,
        claims.scope.to_string()
    );
    match claims.scope.require(&Scopes::parse("admin")?) {
        Err(e) => println!("admin endpoint refused: {e}"),
        Ok(()) => println!("admin granted?!"),
    }

    // Rotation: new tokens use the new key; the old token keeps verifying until retirement.
    let old_kid = keys.active().kid().to_owned();
    keys.rotate_generate()?;
    let rotated =
        TokenCodec::builder(keys.clone(), "https://auth.example", "api.example").build()?;
    println!(
        "old token after rotation: {}",
        rotated
            .validate_access(issued.token.expose_secret())
            .is_ok()
    );
    keys.retire(&old_kid)?;
    let retired = TokenCodec::builder(keys, "https://auth.example", "api.example").build()?;
    match retired.validate_access(issued.token.expose_secret()) {
        Err(e) => println!("old token after retiring its key: {e}"),
        Ok(_) => println!("old token still valid?!"),
    }
    Ok(())
}
