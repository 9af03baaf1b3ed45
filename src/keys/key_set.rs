//! [`KeySet`]: the active signing key plus older keys that still verify.

use super::signing_key::SigningKey;
use super::{Jwks, KeyAlgorithm, KeyError};

/// One active signing key and the older keys that still verify tokens they signed.
///
/// Rotation: [`KeySet::rotate`] makes a new key active and keeps the previous one for
/// verification; once every token it signed has expired (the access-token lifetime, or the
/// refresh lifetime if refresh tokens are JWTs), [`KeySet::retire`] removes it and its tokens
/// stop verifying.
#[derive(Clone, Debug)]
pub struct KeySet {
    /// `keys[0]` is the active key; the rest verify only.
    keys: Vec<SigningKey>,
}

impl KeySet {
    /// A set with one active key.
    pub fn new(active: SigningKey) -> Self {
        Self { keys: vec![active] }
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

    /// Generates a key with the active key's algorithm and rotates to it; returns its `kid`.
    pub fn rotate_generate(&mut self) -> Result<String, KeyError> {
        let key = SigningKey::generate(self.active().algorithm())?;
        let kid = key.kid().to_owned();
        self.rotate(key)?;
        Ok(kid)
    }

    /// Removes a verification-only key: tokens it signed stop validating.
    pub fn retire(&mut self, kid: &str) -> Result<SigningKey, KeyError> {
        if self.active().kid() == kid {
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
