//! The checks every token validation makes, whoever holds the keys: the issuer's
//! [`TokenCodec`](super::TokenCodec) with its key set, or a resource server's
//! [`JwksVerifier`](super::JwksVerifier) with the public keys it fetched.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::TokenError;
use crate::keys::KeyAlgorithm;

/// The access-token `typ` tokenward writes (RFC 9068 §2.1).
pub(super) const ACCESS_TYP: &str = "at+jwt";

/// RFC 9068 §4: `at+jwt`, or the full media type; media types compare case-insensitively.
pub(super) fn is_access_typ(typ: &str) -> bool {
    typ.eq_ignore_ascii_case(ACCESS_TYP) || typ.eq_ignore_ascii_case("application/at+jwt")
}

/// The header members validation looks at; the rest are ignored.
#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Present,
}

/// Whether a header member was there at all: `"crit": null` is a `crit` too (RFC 7515 §4.1.11
/// allows no null), where `Option` would read it as absent.
#[derive(Default)]
struct Present(bool);

impl<'de> serde::Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer)?;
        Ok(Present(true))
    }
}

fn b64_decode(part: &str, what: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed(what))
}

/// Checks a compact JWS up to and including its signature and `typ`, and returns the decoded
/// payload. `key` maps a `kid` to the key's one algorithm and its verification key: the
/// algorithm comes from the key, never from the header, which must merely agree.
pub(super) fn signed_payload<'k>(
    token: &str,
    max_token_bytes: usize,
    typ_ok: impl Fn(&str) -> bool,
    key: impl FnOnce(&str) -> Option<(KeyAlgorithm, &'k DecodingKey)>,
) -> Result<Vec<u8>, TokenError> {
    if token.len() > max_token_bytes {
        return Err(TokenError::Oversized {
            max: max_token_bytes,
        });
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("expected three dot-separated parts"));
    };
    if header_b64.is_empty() || payload_b64.is_empty() {
        return Err(TokenError::Malformed("empty token part"));
    }
    let header_json = b64_decode(header_b64, "header is not base64url")?;
    let header: RawHeader<'_> = serde_json::from_slice(&header_json)
        .map_err(|_| TokenError::Malformed("header is not a valid JOSE header"))?;
    let Ok(alg) = header.alg.parse::<KeyAlgorithm>() else {
        return Err(TokenError::UnsupportedAlgorithm);
    };
    if header.crit.0 {
        // RFC 7515 §4.1.11: critical extensions we do not understand must be refused.
        return Err(TokenError::Malformed(
            "unsupported critical header extension",
        ));
    }
    let kid = header.kid.as_deref().ok_or(TokenError::MissingKid)?;
    let (key_alg, decoding) = key(kid).ok_or(TokenError::UnknownKid)?;
    if key_alg != alg {
        return Err(TokenError::AlgorithmMismatch);
    }
    if signature_b64.is_empty() {
        return Err(TokenError::Malformed("empty signature"));
    }
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    let valid =
        jsonwebtoken::crypto::verify(signature_b64, signed.as_bytes(), decoding, alg.to_jwt())
            .map_err(|_| TokenError::BadSignature)?;
    if !valid {
        return Err(TokenError::BadSignature);
    }
    match header.typ.as_deref() {
        Some(typ) if typ_ok(typ) => {}
        _ => return Err(TokenError::WrongType),
    }
    b64_decode(payload_b64, "payload is not base64url")
}

/// What `iss`, `aud`, `exp`, `nbf` and `iat` are checked against.
pub(super) struct RegisteredClaimRules<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub leeway_secs: i64,
    pub now: i64,
}

impl RegisteredClaimRules<'_> {
    pub(super) fn check(
        &self,
        iss: &str,
        aud: &[String],
        exp: i64,
        nbf: Option<i64>,
        iat: i64,
    ) -> Result<(), TokenError> {
        if iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if !aud.iter().any(|a| a == self.audience) {
            return Err(TokenError::WrongAudience);
        }
        let (now, leeway) = (self.now, self.leeway_secs);
        // RFC 7519 §4.1.4: not accepted "on or after" exp.
        if now >= exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        if nbf.is_some_and(|nbf| now.saturating_add(leeway) < nbf)
            || now.saturating_add(leeway) < iat
        {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
    }
}

/// Makes aws-lc `jsonwebtoken`'s process-wide crypto provider unless the application installed
/// one first. With both of `jsonwebtoken`'s backends enabled (another crate of the build may turn
/// on `rust_crypto`), it cannot pick one and would panic at the first verification.
pub(super) fn install_crypto_provider() {
    // An error means a provider is in place already: the application's choice stands.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}
