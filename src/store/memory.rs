//! In-memory stores: for tests, examples and single-process services that accept losing every
//! user and revocation on restart. Locks are never held across an await.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use rand::RngCore;

use super::{
    LoginThrottle, RevocationQuery, RevocationStatus, StoreError, ThrottlePolicy, TokenRevocation,
    User, UserStore,
};
use crate::password::PasswordHash;

/// Pruning runs once a map grows past this many entries, so an attacker spraying usernames or
/// tokens cannot grow memory without bound.
const PRUNE_THRESHOLD: usize = 10_000;

fn poisoned(store: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "in-memory {store} (a thread panicked holding its lock)"
    ))
}

fn lock<'a, T>(m: &'a Mutex<T>, store: &str) -> Result<MutexGuard<'a, T>, StoreError> {
    m.lock().map_err(|_| poisoned(store))
}

/// Users in a map, keyed by id.
#[derive(Debug, Default)]
pub struct MemoryUserStore {
    users: RwLock<HashMap<String, User>>,
}

impl MemoryUserStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A new random user id (128 bits, hex).
pub(crate) fn new_user_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl UserStore for MemoryUserStore {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let users = self.users.read().map_err(|_| poisoned("user store"))?;
        Ok(users.values().find(|u| u.username == username).cloned())
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let users = self.users.read().map_err(|_| poisoned("user store"))?;
        Ok(users.get(id).cloned())
    }

    async fn upsert(&self, mut user: User) -> Result<User, StoreError> {
        let mut users = self.users.write().map_err(|_| poisoned("user store"))?;
        let existing = users
            .values()
            .find(|u| u.username == user.username)
            .map(|u| u.id.clone());
        user.id = match existing {
            Some(id) => id,
            None if user.id.is_empty() => new_user_id(),
            None => user.id,
        };
        users.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError> {
        let mut users = self.users.write().map_err(|_| poisoned("user store"))?;
        let user = users.get_mut(id).ok_or(StoreError::NotFound)?;
        user.password_hash = hash.clone();
        Ok(())
    }

    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        let mut users = self.users.write().map_err(|_| poisoned("user store"))?;
        users.get_mut(id).ok_or(StoreError::NotFound)?.disabled = disabled;
        Ok(())
    }
}

#[derive(Debug, Default)]
struct RevocationState {
    /// jti -> expiry.
    tokens: HashMap<String, i64>,
    /// sid -> expiry.
    sessions: HashMap<String, i64>,
    /// refresh jti -> expiry.
    used_refresh: HashMap<String, i64>,
    /// user id -> generation.
    generations: HashMap<String, u64>,
}

/// Revocations in memory, with expired entries pruned as the maps grow.
#[derive(Debug, Default)]
pub struct MemoryRevocation {
    state: Mutex<RevocationState>,
}

impl MemoryRevocation {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn insert_pruning(map: &mut HashMap<String, i64>, key: &str, expires_at: i64) {
    if map.len() >= PRUNE_THRESHOLD {
        let now = now_unix();
        map.retain(|_, exp| *exp > now);
    }
    let entry = map.entry(key.to_owned()).or_insert(expires_at);
    *entry = (*entry).max(expires_at);
}

#[async_trait]
impl TokenRevocation for MemoryRevocation {
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        insert_pruning(
            &mut lock(&self.state, "revocation store")?.tokens,
            jti,
            expires_at,
        );
        Ok(())
    }

    async fn revoke_session(&self, session_id: &str, expires_at: i64) -> Result<(), StoreError> {
        insert_pruning(
            &mut lock(&self.state, "revocation store")?.sessions,
            session_id,
            expires_at,
        );
        Ok(())
    }

    async fn bump_user_generation(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut state = lock(&self.state, "revocation store")?;
        let generation = state.generations.entry(user_id.to_owned()).or_insert(0);
        *generation += 1;
        Ok(*generation)
    }

    async fn user_generation(&self, user_id: &str) -> Result<u64, StoreError> {
        let state = lock(&self.state, "revocation store")?;
        Ok(state.generations.get(user_id).copied().unwrap_or(0))
    }

    async fn consume_refresh(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        let mut state = lock(&self.state, "revocation store")?;
        if state.used_refresh.contains_key(jti) {
            return Ok(false);
        }
        insert_pruning(&mut state.used_refresh, jti, expires_at);
        Ok(true)
    }

    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, StoreError> {
        let state = lock(&self.state, "revocation store")?;
        Ok(RevocationStatus {
            token_revoked: state.tokens.contains_key(query.jti),
            session_revoked: state.sessions.contains_key(query.session_id),
            user_generation: state.generations.get(query.user_id).copied().unwrap_or(0),
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    failures: u32,
}

/// Failed-login counters in memory (per process: several instances need a shared store).
#[derive(Debug, Default)]
pub struct MemoryThrottle {
    windows: Mutex<HashMap<String, Window>>,
}

impl MemoryThrottle {
    /// An empty throttle.
    pub fn new() -> Self {
        Self::default()
    }
}

fn window_end(w: &Window, policy: ThrottlePolicy) -> i64 {
    w.start
        .saturating_add(i64::try_from(policy.window_secs).unwrap_or(i64::MAX))
}

#[async_trait]
impl LoginThrottle for MemoryThrottle {
    async fn locked_for(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<Option<u64>, StoreError> {
        let windows = lock(&self.windows, "login throttle")?;
        Ok(windows.get(key).and_then(|w| {
            let end = window_end(w, policy);
            (w.failures >= policy.max_failures && now < end)
                .then(|| u64::try_from(end - now).unwrap_or(1).max(1))
        }))
    }

    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<(), StoreError> {
        let mut windows = lock(&self.windows, "login throttle")?;
        if windows.len() >= PRUNE_THRESHOLD {
            windows.retain(|_, w| window_end(w, policy) > now);
        }
        let window = windows.entry(key.to_owned()).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now >= window_end(window, policy) {
            *window = Window {
                start: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.windows, "login throttle")?.remove(key);
        Ok(())
    }
}
