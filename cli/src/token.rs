//! `token decode` (no verification, and says so) and `token verify` (the library's validation,
//! with the reason spelled out for an operator).

use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokenward::keys::KeySet;
use tokenward::token::{TokenCodec, TokenError};

use crate::outcome::{Answer, Failure, Outcome, fail};

/// A token's header and claims, read without checking anything.
struct Unverified {
    header: Value,
    claims: Value,
}

fn parse_unverified(token: &str) -> Result<Unverified, String> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "not a JWT: expected 3 dot-separated parts, found {}",
            parts.len()
        ));
    }
    let part = |index: usize, name: &str| -> Result<Value, String> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[index])
            .map_err(|e| format!("{name} is not base64url: {e}"))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("{name} is not JSON: {e}"))?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(format!("{name} is not a JSON object"))
        }
    };
    Ok(Unverified {
        header: part(0, "header")?,
        claims: part(1, "claims")?,
    })
}

/// `tokenward token decode TOKEN`.
pub fn decode(token: &str) -> Answer {
    match parse_unverified(token) {
        Ok(parsed) => {
            let human = format!(
                "UNVERIFIED (signature, expiry, issuer and audience NOT checked)\nheader: {}\nclaims: {}",
                pretty(&parsed.header),
                pretty(&parsed.claims)
            );
            Ok(Outcome::ok(
                human,
                json!({"verified": false, "header": parsed.header, "claims": parsed.claims}),
            ))
        }
        Err(reason) => Ok(Outcome::no(
            format!("invalid: {reason}"),
            json!({"verified": false, "error": reason}),
        )),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn time_claim(claims: &Value, name: &str) -> String {
    claims[name]
        .as_i64()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "an unreadable time".into())
}

/// The library's reason, with the values an operator needs to act on it. The token was parsed
/// by the library, so reading the same fields here is safe.
fn explain(err: &TokenError, token: &Unverified, keys: &KeySet, iss: &str, aud: &str) -> String {
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let claims = &token.claims;
    match err {
        TokenError::Expired => format!("expired at {} (now {now})", time_claim(claims, "exp")),
        TokenError::NotYetValid => {
            let field = if claims["nbf"].is_i64() { "nbf" } else { "iat" };
            format!("not valid before {} (now {now})", time_claim(claims, field))
        }
        TokenError::UnknownKid => format!(
            "unknown kid {} (the key file has: {})",
            token.header["kid"],
            keys.keys()
                .iter()
                .map(|k| k.kid())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TokenError::WrongAudience => {
            format!("wrong audience {} (expected {aud:?})", claims["aud"])
        }
        TokenError::WrongIssuer => format!("wrong issuer {} (expected {iss:?})", claims["iss"]),
        TokenError::AlgorithmMismatch => format!(
            "algorithm {} does not match key {}",
            token.header["alg"], token.header["kid"]
        ),
        TokenError::WrongType => format!(
            "wrong type {} (an access token has typ \"at+jwt\"; pass --refresh for a refresh token)",
            token.header["typ"]
        ),
        other => other.to_string(),
    }
}

/// `tokenward token verify TOKEN --keys FILE --iss ISS --aud AUD [--refresh]`.
pub fn verify(token: &str, keys_path: &Path, iss: &str, aud: &str, refresh: bool) -> Answer {
    let keys = KeySet::load(keys_path).map_err(|e| Failure::new(e.to_string()))?;
    let codec = TokenCodec::builder(keys.clone(), iss, aud)
        .build()
        .map_err(fail("--iss/--aud"))?;
    let token = token.trim();
    let result = if refresh {
        codec
            .validate_refresh(token)
            .map(|v| serde_json::to_value(v.claims()).unwrap_or(Value::Null))
    } else {
        codec
            .validate_access(token)
            .map(|v| serde_json::to_value(v.claims()).unwrap_or(Value::Null))
    };
    match result {
        Ok(claims) => Ok(Outcome::ok(
            format!("valid\nclaims: {}", pretty(&claims)),
            json!({"valid": true, "claims": claims}),
        )),
        Err(err) => {
            let reason = match parse_unverified(token) {
                Ok(parsed) => explain(&err, &parsed, &keys, iss, aud),
                Err(_) => err.to_string(),
            };
            Ok(Outcome::no(
                format!("invalid: {reason}"),
                json!({"valid": false, "reason": reason}),
            ))
        }
    }
}
