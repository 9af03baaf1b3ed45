//! Claims of access tokens whose signature already checked out, keyed by the SHA-256 of the
//! whole token.
//!
//! A client sends the same access token with every request until it expires; verifying an
//! Ed25519 signature each time costs tens of microseconds. Only a token byte-for-byte equal to
//! one that passed every check (the hash is collision resistant) is served from here, and the
//! time checks (`exp`, `nbf`, `iat`) still run on every use. Revocation is not cached: the issuer
//! asks its store each time. A full cache first drops expired entries, then everything, so its
//! size stays bounded under any traffic.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::AccessClaims;

/// The default number of tokens remembered (a few MB at most).
pub const DEFAULT_VERIFIED_CACHE_TOKENS: usize = 4096;

pub(crate) type TokenDigest = [u8; 32];

pub(crate) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

pub(crate) struct VerifiedCache {
    entries: Mutex<HashMap<TokenDigest, AccessClaims>>,
    capacity: usize,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    pub(crate) fn get(&self, key: &TokenDigest) -> Option<AccessClaims> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    /// Remembers claims that passed every check, as of unix time `now`.
    pub(crate) fn insert(&self, key: TokenDigest, claims: &AccessClaims, now: i64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, claims| claims.exp > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, claims.clone());
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Scopes;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: vec!["a".into()],
            exp,
            iat: 0,
            nbf: None,
            jti: "j".into(),
            scope: Scopes::empty(),
            sid: "sid".into(),
            client_id: None,
            generation: 0,
            epoch: 0,
            subject_kind: crate::token::SubjectKind::User,
            extra: serde_json::Map::new(),
        }
    }

    #[test]
    fn stays_within_capacity_dropping_expired_entries_first() {
        let cache = VerifiedCache::new(3);
        cache.insert(digest("expired"), &claims(50), 100);
        cache.insert(digest("live-1"), &claims(500), 100);
        cache.insert(digest("live-2"), &claims(500), 100);
        cache.insert(digest("live-3"), &claims(500), 200);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&digest("expired")).is_none());
        assert!(cache.get(&digest("live-1")).is_some());
        // Full of live entries: start over rather than grow.
        cache.insert(digest("live-4"), &claims(500), 200);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&digest("live-4")).is_some());
        assert!(!VerifiedCache::new(0).is_enabled());
    }
}
