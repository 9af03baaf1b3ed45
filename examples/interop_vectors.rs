//! Prints tokenward-made artefacts as JSON for the Python interop checks in `tests/interop/`
//! (`.ci/run` pipes this into `verify_tokenward.py`): password hashes for argon2-cffi, and access
//! tokens with the JWKS (and the HMAC secret) for PyJWT. Not a user-facing example.

use secrecy::{ExposeSecret, SecretString};
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::token::{Scopes, TokenCodec};

const ISSUER: &str = "https://tokenward.example";
const AUDIENCE: &str = "interop-api";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut hashes = Vec::new();
    for (params, password) in [
        (Argon2Params::DEFAULT, "correct horse battery staple"),
        (
            Argon2Params::new(7168, 1, 1)?,
            "p\u{e4}ssw\u{f6}rd-\u{65e5}\u{672c}\u{8a9e}-\u{1f510}",
        ),
        (Argon2Params::new(12288, 3, 2)?, "another password"),
    ] {
        let hasher = PasswordHasher::builder().params(params).build()?;
        let hash = hasher.hash(&SecretString::from(password))?;
        hashes.push(serde_json::json!({
            "password": password,
            "hash": hash.expose_secret(),
        }));
    }

    let scopes = Scopes::parse("items:read items:write")?;
    let mut tokens = Vec::new();
    for alg in [
        KeyAlgorithm::EdDSA,
        KeyAlgorithm::ES256,
        KeyAlgorithm::RS256,
        KeyAlgorithm::HS256,
    ] {
        let keys = KeySet::generate(alg)?;
        // The HMAC secret is printed for the check: these keys exist only for this run.
        let key_file: serde_json::Value = serde_json::from_str(&keys.to_json())?;
        let jwks = keys.jwks();
        let codec = TokenCodec::builder(keys, ISSUER, AUDIENCE).build()?;
        let issued = codec.issue_access("user-1", &scopes, "session-1")?;
        tokens.push(serde_json::json!({
            "alg": alg.name(),
            "token": issued.token.expose_secret(),
            "jwks": jwks,
            "hmac_secret": if alg.is_symmetric() { key_file["keys"][0]["key"].clone() } else { serde_json::Value::Null },
        }));
    }
    println!(
        "{}",
        serde_json::json!({
            "password_hashes": hashes,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "tokens": tokens,
        })
    );
    Ok(())
}
