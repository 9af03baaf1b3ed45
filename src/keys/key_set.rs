//! [`KeySet`]: the active signing key plus older keys that still verify.

use super::signing_key::SigningKey;
use super::{Jwks, KeyAlgorithm, KeyError};

/// One active signing key and the older keys that still verify tokens they signed.
///
/// Rotation: [`KeySet::rotate`] makes a new key active and keeps the previous one for
/// verification; once every token it signed has expired (the access-token lifetime, or the
/// refresh lifetime if refresh tokens are JWTs), [`KeySet::retire`] removes it and its tokens
/// stop verifying.
///
/// An OpenID provider also needs an RS256 key for id_tokens (OpenID Connect Core §15.1), beside
/// an access-token key of another algorithm: [`KeySet::with_id_token_key`] adds one, and
/// [`KeySet::rotate_generate`] rotates it with the active key.
#[derive(Clone, Debug)]
pub struct KeySet {
    /// `keys[0]` is the active key; the rest verify only.
    keys: Vec<SigningKey>,
    /// The `kid` of the key that signs id_tokens, when that is not the active key.
    id_token_kid: Option<String>,
}

/// The algorithm id_tokens are signed with: the one every OpenID relying party must accept.
pub const ID_TOKEN_ALGORITHM: KeyAlgorithm = KeyAlgorithm::RS256;

impl KeySet {
    /// A set with one active key.
    pub fn new(active: SigningKey) -> Self {
        Self {
            keys: vec![active],
            id_token_kid: None,
        }
    }

    /// Makes `key` the id_token signing key (it must be asymmetric: relying parties verify
    /// id_tokens with the published JWKS). A previous id_token key keeps verifying.
    pub fn with_id_token_key(mut self, key: SigningKey) -> Result<Self, KeyError> {
        self.rotate_id_token_key(key)?;
        Ok(self)
    }

    /// Makes `key` the id_token signing key; the previous one keeps verifying until retired.
    pub fn rotate_id_token_key(&mut self, key: SigningKey) -> Result<(), KeyError> {
        if key.algorithm().is_symmetric() {
            return Err(KeyError::InvalidKey {
                algorithm: key.algorithm(),
                expected: "an asymmetric key: id_tokens are verified with the public JWKS",
            });
        }
        let kid = key.kid().to_owned();
        self.insert_unique(key)?;
        self.id_token_kid = Some(kid);
        Ok(())
    }

    /// Adds a generated [`ID_TOKEN_ALGORITHM`] key for id_tokens unless id_tokens are already
    /// signed with one. Returns whether it added one, so the caller knows to save the set.
    pub fn ensure_id_token_key(&mut self) -> Result<bool, KeyError> {
        if self.id_token_key().map(SigningKey::algorithm) == Some(ID_TOKEN_ALGORITHM) {
            return Ok(false);
        }
        self.rotate_id_token_key(SigningKey::generate(ID_TOKEN_ALGORITHM)?)?;
        Ok(true)
    }

    /// The key id_tokens are signed with: the dedicated id_token key, else the active key when
    /// it is an [`ID_TOKEN_ALGORITHM`] key, else none.
    pub fn id_token_key(&self) -> Option<&SigningKey> {
        match &self.id_token_kid {
            Some(kid) => self.get(kid),
            None => Some(self.active()).filter(|k| k.algorithm() == ID_TOKEN_ALGORITHM),
        }
    }

    /// The `kid` of the dedicated id_token key, as the key file records it.
    pub(crate) fn id_token_kid(&self) -> Option<&str> {
        self.id_token_kid.as_deref()
    }

    /// A set with a freshly generated key of `algorithm`.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        SigningKey::generate(algorithm).map(Self::new)
    }

    /// Adds a verification-only key (a key this set no longer signs with).
    pub fn with_verification_key(mut self, key: SigningKey) -> Result<Self, KeyError> {
        self.insert_unique(key)?;
        Ok(self)
    }

    fn insert_unique(&mut self, key: SigningKey) -> Result<(), KeyError> {
        if self.get(key.kid()).is_some() {
            return Err(KeyError::DuplicateKid(key.kid().to_owned()));
        }
        self.keys.push(key);
        Ok(())
    }

    /// Makes `key` the active signing key; the previous active key keeps verifying.
    pub fn rotate(&mut self, key: SigningKey) -> Result<(), KeyError> {
        self.insert_unique(key)?;
        let newest = self.keys.len() - 1;
        self.keys.swap(0, newest);
        // Keep the older keys in age order after the active one.
        let previous = self.keys.remove(newest);
        self.keys.insert(1, previous);
        let active = self.active();
        tracing::info!(
            target: crate::events::TARGET, event = crate::events::KEY_ROTATED,
            kid = active.kid(), algorithm = active.algorithm().name()
        );
        Ok(())
    }

    /// Generates a key with the active key's algorithm and rotates to it, and the id_token key
    /// with it when the set has a dedicated one; returns the new active key's `kid`.
    pub fn rotate_generate(&mut self) -> Result<String, KeyError> {
        let key = SigningKey::generate(self.active().algorithm())?;
        let kid = key.kid().to_owned();
        let id_token_key = match self.id_token_kid.as_deref().and_then(|kid| self.get(kid)) {
            Some(current) => Some(SigningKey::generate(current.algorithm())?),
            None => None,
        };
        self.rotate(key)?;
        if let Some(id_token_key) = id_token_key {
            self.rotate_id_token_key(id_token_key)?;
        }
        Ok(kid)
    }

    /// Removes a verification-only key: tokens it signed stop validating. Neither the active
    /// key nor the id_token key can be retired.
    pub fn retire(&mut self, kid: &str) -> Result<SigningKey, KeyError> {
        if self.active().kid() == kid || self.id_token_kid.as_deref() == Some(kid) {
            return Err(KeyError::RetireActive(kid.to_owned()));
        }
        let index = self
            .keys
            .iter()
            .position(|k| k.kid() == kid)
            .ok_or_else(|| KeyError::UnknownKid(kid.chars().take(64).collect()))?;
        Ok(self.keys.remove(index))
    }

    /// The key new tokens are signed with.
    pub fn active(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// The key with this `kid`, active or verification-only.
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        // A handful of keys at most: a scan beats hashing.
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// Every key, the active one first.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The public keys as a JWK Set (HMAC keys are never published).
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .keys
                .iter()
                .filter_map(|k| k.public_jwk().cloned())
                .collect(),
        }
    }
}
