//! The whole flow with in-memory stores: `cargo run --example quickstart`.
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokenward::TokenIssuer;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::PasswordHash;
use tokenward::store::memory::{MemoryRevocation, MemoryUserStore};
use tokenward::store::{User, UserStore};
use tokenward::token::{Scopes, TokenCodec};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A user migrated with a bcrypt hash: verified, then upgraded to argon2id at first login.
    let users = Arc::new(MemoryUserStore::new());
    let user = User {
        id: String::new(), // the store assigns a stable id, the tokens' `sub`
        username: "johndoe".into(),
        password_hash: PasswordHash::parse(bcrypt::hash("secret passphrase", 10)?)?,
        scopes: Scopes::parse("items:read items:write")?,
        disabled: false,
        full_name: Some("John Doe".into()),
        email: None,
    };
    let john = users.upsert(user).await?;

    let keys = KeySet::generate(KeyAlgorithm::EdDSA)?;
    let codec = TokenCodec::builder(keys, "https://auth", "api").build()?;
    let revocations = Arc::new(MemoryRevocation::new());
    // Defaults: argon2id with OWASP parameters, 5 failed logins per minute, 14-day refresh.
    let issuer = TokenIssuer::builder(codec, users.clone(), revocations).build()?;

    let password = SecretString::from("secret passphrase");
    let pair = issuer.login("johndoe", &password, None).await?;
    let stored = users.find_by_id(&john.id).await?.ok_or("user vanished")?;
    println!(
        "logged in, scope {:?}; hash now {}",
        pair.scope.to_string(),
        stored.password_hash.format()
    );

    let claims = issuer.validate(pair.access_token.expose_secret()).await?;
    println!("token valid for sub {}, session {}", claims.sub, claims.sid);

    let next = issuer
        .refresh(pair.refresh_token.expose_secret(), None)
        .await?;
    let replay = issuer
        .refresh(pair.refresh_token.expose_secret(), None)
        .await;
    println!("replayed refresh token: {:?}", replay.err());
    let after = issuer.validate(next.access_token.expose_secret()).await;
    println!("newest access token after the replay: {:?}", after.err());
    Ok(())
}
