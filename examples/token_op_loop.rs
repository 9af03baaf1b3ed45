//! Runs one token operation N times, for counting instructions with callgrind: a figure that,
//! unlike wall time on a shared machine, is the same on every run.
//!
//! ```sh
//! cargo build --release --example token_op_loop
//! for op in none issue_tokenward issue_jsonwebtoken validate_tokenward validate_jsonwebtoken; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/token_op_loop $op 20000 2>&1 | grep Collected
//! done
//! ```
//!
//! Subtract `none` (set-up only) and divide by N for instructions per operation. Same HS256 key
//! and claims on both sides, as in `benches/token.rs`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use tokenward::keys::{KeyAlgorithm, KeySet, SigningKey};
use tokenward::token::{Scopes, TokenCodec};

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    scope: String,
    sid: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_else(|| "none".into());
    let n: u32 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let secret = [42u8; 32];
    let key = SigningKey::from_secret(
        "hs",
        KeyAlgorithm::HS256,
        SecretBox::new(Box::from(&secret[..])),
    )?;
    let codec =
        TokenCodec::builder(KeySet::new(key), "https://auth.example", "api.example").build()?;
    let scopes = Scopes::parse("items:read items:write")?;
    let issued = codec.issue_access("user-1", &scopes, "session-1")?;
    let token = issued.token.expose_secret().to_owned();
    let c = issued.claims;
    let claims = Claims {
        iss: c.iss.clone(),
        sub: c.sub.clone(),
        aud: c.aud.first().cloned().unwrap_or_default(),
        exp: c.exp,
        iat: c.iat,
        nbf: c.iat,
        jti: c.jti.clone(),
        scope: c.scope.to_string(),
        sid: c.sid.clone(),
    };
    let encoding = EncodingKey::from_secret(&secret);
    let decoding = DecodingKey::from_secret(&secret);
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("hs".into());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["https://auth.example"]);
    validation.set_audience(&["api.example"]);
    for _ in 0..n {
        match op.as_str() {
            "none" => {}
            "issue_tokenward" => drop(std::hint::black_box(codec.issue_access(
                "user-1",
                &scopes,
                "session-1",
            )?)),
            "issue_jsonwebtoken" => drop(std::hint::black_box(jsonwebtoken::encode(
                &header, &claims, &encoding,
            )?)),
            "validate_tokenward" => drop(std::hint::black_box(codec.validate_access(&token)?)),
            "validate_jsonwebtoken" => drop(std::hint::black_box(jsonwebtoken::decode::<Claims>(
                &token,
                &decoding,
                &validation,
            )?)),
            other => return Err(format!("unknown operation {other:?}").into()),
        }
    }
    Ok(())
}
