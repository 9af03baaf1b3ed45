//! The access-token claim set (RFC 9068 §2.2) and its JSON form.
//!
//! Serialisation and deserialisation are written out rather than derived with
//! `#[serde(flatten)]`: flatten buffers the whole object (slow on the validation path) and would
//! let an extra claim silently shadow a registered one. Here duplicates are an error and extra
//! claims can never be named like a registered one.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{Scopes, TokenError};

/// Claim names tokenward sets itself; extra claims may not use them.
pub const REGISTERED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "scope",
    "sid",
    "client_id",
    "gen",
    "epoch",
    "sub_kind",
];

/// Whose token it is: `sub` names a user, or (client credentials) the client itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectKind {
    /// `sub` is a user's stable id.
    #[default]
    User,
    /// `sub` is the client id: a client acting on its own behalf (RFC 6749 §4.4). Handlers that
    /// treat `sub` as a user must refuse these ([`AccessClaims::user_id`]).
    Client,
}

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user's stable id (not the username, which can change).
    pub sub: String,
    /// Audiences; tokenward issues exactly one.
    pub aud: Vec<String>,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Not before, unix seconds.
    pub nbf: Option<i64>,
    /// Unique token id (128 random bits), for revoking this token alone.
    pub jti: String,
    /// Granted scopes.
    pub scope: Scopes,
    /// Session id: the login (refresh-token family) this token belongs to.
    pub sid: String,
    /// The OAuth client the token was issued to, when known.
    pub client_id: Option<String>,
    /// The user's token generation when the token was issued (tokenward-specific). Logout-all and
    /// password changes raise the generation; tokens from earlier generations stop validating.
    /// Absent means 0.
    pub generation: u64,
    /// The revocation store's epoch when the token was issued (tokenward-specific; absent means
    /// 0, which no store has). A store that loses its state gets a new epoch, and tokens of
    /// another epoch stop validating.
    pub epoch: u64,
    /// Whether `sub` is a user or a client (claim `sub_kind`, absent for users).
    pub subject_kind: SubjectKind,
    /// Claims beyond the registered ones, as the issuer's caller supplied them.
    pub extra: Map<String, Value>,
}

impl AccessClaims {
    /// The user the token speaks for: `sub`, unless the token belongs to a client itself.
    pub fn user_id(&self) -> Option<&str> {
        match self.subject_kind {
            SubjectKind::User => Some(&self.sub),
            SubjectKind::Client => None,
        }
    }

    /// Deserialises the caller-defined extra claims into `T`.
    pub fn extra_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(Value::Object(self.extra.clone()))
    }
}

/// Checks caller-supplied extra claims: a JSON object naming no registered claim.
pub(crate) fn extra_claims<T: Serialize>(extra: &T) -> Result<Map<String, Value>, TokenError> {
    match serde_json::to_value(extra) {
        Ok(Value::Object(map)) => {
            if let Some(name) = map.keys().find(|k| REGISTERED_CLAIMS.contains(&k.as_str())) {
                return Err(TokenError::ReservedClaim(name.clone()));
            }
            Ok(map)
        }
        Ok(Value::Null) => Ok(Map::new()),
        _ => Err(TokenError::ExtraClaimsNotObject),
    }
}

impl Serialize for AccessClaims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("iss", &self.iss)?;
        map.serialize_entry("sub", &self.sub)?;
        match self.aud.as_slice() {
            [one] => map.serialize_entry("aud", one)?,
            many => map.serialize_entry("aud", many)?,
        }
        map.serialize_entry("exp", &self.exp)?;
        map.serialize_entry("iat", &self.iat)?;
        if let Some(nbf) = self.nbf {
            map.serialize_entry("nbf", &nbf)?;
        }
        map.serialize_entry("jti", &self.jti)?;
        map.serialize_entry("scope", &self.scope)?;
        map.serialize_entry("sid", &self.sid)?;
        if let Some(client_id) = &self.client_id {
            map.serialize_entry("client_id", client_id)?;
        }
        map.serialize_entry("gen", &self.generation)?;
        if self.epoch != 0 {
            map.serialize_entry("epoch", &self.epoch)?;
        }
        if self.subject_kind == SubjectKind::Client {
            map.serialize_entry("sub_kind", "client")?;
        }
        for (name, value) in &self.extra {
            // Registered names were refused when the extras were accepted; skip defensively.
            if !REGISTERED_CLAIMS.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// Claims as they arrive, before required-claim checks.
#[derive(Default)]
pub(crate) struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Vec<String>>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
    scope: Option<String>,
    sid: Option<String>,
    client_id: Option<String>,
    generation: Option<u64>,
    epoch: Option<u64>,
    sub_kind: Option<String>,
    extra: Map<String, Value>,
}

impl RawClaims {
    pub(crate) fn into_claims(self) -> Result<AccessClaims, TokenError> {
        let scope = match self.scope {
            Some(text) => Scopes::parse(&text).map_err(|_| TokenError::InvalidClaim("scope"))?,
            None => Scopes::empty(),
        };
        Ok(AccessClaims {
            iss: self.iss.ok_or(TokenError::MissingClaim("iss"))?,
            sub: self.sub.ok_or(TokenError::MissingClaim("sub"))?,
            aud: self.aud.ok_or(TokenError::MissingClaim("aud"))?,
            exp: self.exp.ok_or(TokenError::MissingClaim("exp"))?,
            iat: self.iat.ok_or(TokenError::MissingClaim("iat"))?,
            nbf: self.nbf,
            jti: self.jti.ok_or(TokenError::MissingClaim("jti"))?,
            scope,
            sid: self.sid.ok_or(TokenError::MissingClaim("sid"))?,
            client_id: self.client_id,
            generation: self.generation.unwrap_or(0),
            epoch: self.epoch.unwrap_or(0),
            subject_kind: match self.sub_kind.as_deref() {
                None => SubjectKind::User,
                Some("client") => SubjectKind::Client,
                Some(_) => return Err(TokenError::InvalidClaim("sub_kind")),
            },
            extra: self.extra,
        })
    }
}

impl<'de> Deserialize<'de> for RawClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RawClaimsVisitor)
    }
}

struct RawClaimsVisitor;

fn set<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::custom(format_args!("duplicate claim {name}")));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Visitor<'de> for RawClaimsVisitor {
    type Value = RawClaims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims, A::Error> {
        let mut raw = RawClaims::default();
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            match name.as_ref() {
                "iss" => set(&mut raw.iss, map.next_value()?, "iss")?,
                "sub" => set(&mut raw.sub, map.next_value()?, "sub")?,
                "aud" => set(&mut raw.aud, map.next_value::<Audience>()?.0, "aud")?,
                "exp" => set(&mut raw.exp, map.next_value()?, "exp")?,
                "iat" => set(&mut raw.iat, map.next_value()?, "iat")?,
                "nbf" => set(&mut raw.nbf, map.next_value()?, "nbf")?,
                "jti" => set(&mut raw.jti, map.next_value()?, "jti")?,
                "scope" => set(&mut raw.scope, map.next_value()?, "scope")?,
                "sid" => set(&mut raw.sid, map.next_value()?, "sid")?,
                "client_id" => set(&mut raw.client_id, map.next_value()?, "client_id")?,
                "gen" => set(&mut raw.generation, map.next_value()?, "gen")?,
                "epoch" => set(&mut raw.epoch, map.next_value()?, "epoch")?,
                "sub_kind" => set(&mut raw.sub_kind, map.next_value()?, "sub_kind")?,
                _ => {
                    let value: Value = map.next_value()?;
                    if raw.extra.insert(name.into_owned(), value).is_some() {
                        return Err(de::Error::custom("duplicate claim"));
                    }
                }
            }
        }
        Ok(raw)
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
struct Audience(Vec<String>);

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;
        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut all = Vec::new();
                while let Some(aud) = seq.next_element::<String>()? {
                    // A token is not for hundreds of audiences; stop a huge array early.
                    if all.len() >= 32 {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        return Err(de::Error::custom("too many audiences"));
                    }
                    all.push(aud);
                }
                Ok(Audience(all))
            }
        }
        deserializer.deserialize_any(AudienceVisitor)
    }
}
