//! In-memory stores: for tests, examples and single-process services that accept losing every
//! user and revocation on restart. Locks are never held across an await.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use rand::RngCore;

use super::{
    Admission, ImportMode, ImportReport, Issuance, LoginThrottle, RevocationQuery,
    RevocationStatus, StoreError, ThrottlePolicy, TokenRevocation, User, UserStore,
};
use crate::password::PasswordHash;

pub use super::memory_provider::{
    DEFAULT_RECORDS_PER_KIND, MemoryAuthorizationStore, MemoryClientStore, RecordCounts,
};

/// Pruning runs once a map grows past this many entries, so an attacker spraying usernames or
/// tokens cannot grow memory without bound.
const PRUNE_THRESHOLD: usize = 10_000;

fn poisoned(store: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "in-memory {store} (a thread panicked holding its lock)"
    ))
}

pub(super) fn lock<'a, T>(m: &'a Mutex<T>, store: &str) -> Result<MutexGuard<'a, T>, StoreError> {
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

    async fn find_by_email(&self, email: &str, limit: usize) -> Result<Vec<User>, StoreError> {
        let users = self.users.read().map_err(|_| poisoned("user store"))?;
        let mut found: Vec<User> = users
            .values()
            .filter(|u| u.email.as_deref() == Some(email))
            .cloned()
            .collect();
        found.sort_by(|a, b| a.username.cmp(&b.username));
        found.truncate(limit);
        Ok(found)
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

    async fn upgrade_password_hash(
        &self,
        id: &str,
        current: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, StoreError> {
        let mut users = self.users.write().map_err(|_| poisoned("user store"))?;
        let user = users.get_mut(id).ok_or(StoreError::NotFound)?;
        if user.password_hash.expose_secret() != current.expose_secret() {
            return Ok(false);
        }
        user.password_hash = new.clone();
        Ok(true)
    }

    async fn import(&self, users: Vec<User>, mode: ImportMode) -> Result<ImportReport, StoreError> {
        // One write lock for the whole file: all or nothing, and no interleaving import.
        let mut stored = self.users.write().map_err(|_| poisoned("user store"))?;
        let mut report = ImportReport::default();
        for mut wanted in users {
            let existing = stored.values().find(|u| u.username == wanted.username);
            match existing {
                Some(existing) => {
                    if report.count_existing(existing, &wanted, mode) {
                        wanted.id = existing.id.clone();
                        stored.insert(wanted.id.clone(), wanted);
                    }
                }
                None => {
                    if wanted.id.is_empty() {
                        wanted.id = new_user_id();
                    }
                    stored.insert(wanted.id.clone(), wanted);
                    report.created += 1;
                }
            }
        }
        Ok(report)
    }

    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        let mut users = self.users.write().map_err(|_| poisoned("user store"))?;
        users.get_mut(id).ok_or(StoreError::NotFound)?.disabled = disabled;
        Ok(())
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        let users = self.users.read().map_err(|_| poisoned("user store"))?;
        let mut page: Vec<User> = users
            .values()
            .filter(|u| after.is_none_or(|after| u.username.as_str() > after))
            .cloned()
            .collect();
        page.sort_by(|a, b| a.username.cmp(&b.username));
        page.truncate(limit);
        Ok(page)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.users
            .read()
            .map(drop)
            .map_err(|_| poisoned("user store"))
    }
}

/// Keys with an expiry. Expired keys are pruned when the map doubles past its size after the
/// last prune, so pruning costs O(1) amortised per insert however many keys are live.
#[derive(Debug)]
struct ExpiringSet {
    entries: HashMap<String, i64>,
    prune_at: usize,
}

impl Default for ExpiringSet {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            prune_at: PRUNE_THRESHOLD,
        }
    }
}

impl ExpiringSet {
    /// Inserts `key` until `expires_at`; `false` if it was already present.
    fn insert(&mut self, key: &str, expires_at: i64) -> bool {
        if self.entries.len() >= self.prune_at {
            self.prune(now_unix());
            self.prune_at = (self.entries.len() * 2).max(PRUNE_THRESHOLD);
        }
        match self.entries.get_mut(key) {
            Some(exp) => {
                *exp = (*exp).max(expires_at);
                false
            }
            None => {
                self.entries.insert(key.to_owned(), expires_at);
                true
            }
        }
    }

    fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Drops the entries that expired before `now`; returns how many.
    fn prune(&mut self, now: i64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, exp| *exp >= now);
        before - self.entries.len()
    }
}

#[derive(Debug)]
struct RevocationState {
    tokens: ExpiringSet,
    sessions: ExpiringSet,
    used_refresh: ExpiringSet,
    /// user id -> generation.
    generations: HashMap<String, u64>,
    /// Random per store object: tokens issued by another process (or before a restart) carry
    /// another epoch and are refused, since this store never saw their revocations.
    epoch: u64,
}

/// Revocations in memory, with expired entries pruned as the maps grow. Its
/// [epoch](TokenRevocation#epochs-losing-the-state-fails-closed) is new with every object, so
/// tokens issued before a restart are refused.
#[derive(Debug)]
pub struct MemoryRevocation {
    state: Mutex<RevocationState>,
}

impl Default for MemoryRevocation {
    fn default() -> Self {
        Self {
            state: Mutex::new(RevocationState {
                tokens: ExpiringSet::default(),
                sessions: ExpiringSet::default(),
                used_refresh: ExpiringSet::default(),
                generations: HashMap::new(),
                epoch: new_epoch(),
            }),
        }
    }
}

impl MemoryRevocation {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deletes revocations and used refresh tokens whose `expires_at` is before `now` (unix
    /// seconds); returns how many. Runs by itself as the maps grow; call it from a timer if
    /// you prefer.
    pub fn prune_expired(&self, now: i64) -> Result<usize, StoreError> {
        let mut state = lock(&self.state, "revocation store")?;
        Ok(state.tokens.prune(now) + state.sessions.prune(now) + state.used_refresh.prune(now))
    }
}

/// A new store epoch: random, non-zero, and below 2^53 so it survives any JSON number parser.
pub(crate) fn new_epoch() -> u64 {
    (rand::rngs::OsRng.next_u64() >> 11).max(1)
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait]
impl TokenRevocation for MemoryRevocation {
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        lock(&self.state, "revocation store")?
            .tokens
            .insert(jti, expires_at);
        Ok(())
    }

    async fn revoke_session(&self, session_id: &str, expires_at: i64) -> Result<(), StoreError> {
        lock(&self.state, "revocation store")?
            .sessions
            .insert(session_id, expires_at);
        Ok(())
    }

    async fn bump_user_generation(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut state = lock(&self.state, "revocation store")?;
        let generation = state.generations.entry(user_id.to_owned()).or_insert(0);
        *generation += 1;
        Ok(*generation)
    }

    async fn issuance(&self, user_id: &str) -> Result<Issuance, StoreError> {
        let state = lock(&self.state, "revocation store")?;
        Ok(Issuance {
            generation: state.generations.get(user_id).copied().unwrap_or(0),
            epoch: state.epoch,
        })
    }

    async fn rotate_epoch(&self) -> Result<u64, StoreError> {
        let mut state = lock(&self.state, "revocation store")?;
        state.epoch = new_epoch();
        Ok(state.epoch)
    }

    async fn consume_refresh(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        Ok(lock(&self.state, "revocation store")?
            .used_refresh
            .insert(jti, expires_at))
    }

    async fn refresh_used(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.state, "revocation store")?
            .used_refresh
            .contains(jti))
    }

    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, StoreError> {
        let state = lock(&self.state, "revocation store")?;
        Ok(RevocationStatus {
            token_revoked: state.tokens.contains(query.jti),
            session_revoked: state.sessions.contains(query.session_id),
            user_generation: state.generations.get(query.user_id).copied().unwrap_or(0),
            epoch: Some(state.epoch),
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        lock(&self.state, "revocation store").map(drop)
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    /// When the window ends, fixed when it starts: user and client keys share the map with
    /// different policies, so pruning must not judge one key by another's window length.
    end: i64,
    attempts: u64,
}

/// Failed-login counters in memory (per process: several instances need a shared store).
#[derive(Debug, Default)]
pub struct MemoryThrottle {
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    by_key: HashMap<String, Window>,
    /// Prune when the map reaches this size (amortised, as in [`ExpiringSet`]).
    prune_at: usize,
}

impl MemoryThrottle {
    /// An empty throttle.
    pub fn new() -> Self {
        Self::default()
    }
}

fn window_end(start: i64, policy: ThrottlePolicy) -> i64 {
    start.saturating_add(i64::try_from(policy.window_secs).unwrap_or(i64::MAX))
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
        Ok(windows
            .by_key
            .get(key)
            .and_then(|w| policy.retry_after(w.start, w.attempts, now)))
    }

    async fn attempt(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<Admission, StoreError> {
        let mut windows = lock(&self.windows, "login throttle")?;
        if windows.by_key.len() >= windows.prune_at.max(PRUNE_THRESHOLD) {
            windows.by_key.retain(|_, w| w.end > now);
            windows.prune_at = windows.by_key.len() * 2;
        }
        let fresh = Window {
            start: now,
            end: window_end(now, policy),
            attempts: 0,
        };
        let window = windows.by_key.entry(key.to_owned()).or_insert(fresh);
        if now >= window.end {
            *window = fresh;
        }
        if window.attempts <= u64::from(policy.max_failures) {
            window.attempts += 1;
        }
        Ok(policy.admission(window.start, window.attempts, now))
    }

    async fn release(
        &self,
        key: &str,
        now: i64,
        _policy: ThrottlePolicy,
    ) -> Result<(), StoreError> {
        let mut windows = lock(&self.windows, "login throttle")?;
        if let Some(window) = windows.by_key.get_mut(key)
            && now < window.end
        {
            window.attempts = window.attempts.saturating_sub(1);
        }
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.windows, "login throttle")?.by_key.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_pruned_and_live_ones_raise_the_threshold() {
        let mut set = ExpiringSet::default();
        for i in 0..PRUNE_THRESHOLD {
            assert!(set.insert(&format!("old-{i}"), 0));
        }
        // The next insert prunes every expired entry.
        assert!(set.insert("fresh", i64::MAX));
        assert_eq!(set.entries.len(), 1);
        assert!(set.contains("fresh") && !set.contains("old-0"));
        assert!(
            !set.insert("fresh", i64::MAX),
            "second insert reports a repeat"
        );

        let mut live = ExpiringSet::default();
        for i in 0..=PRUNE_THRESHOLD {
            live.insert(&format!("live-{i}"), i64::MAX);
        }
        // Nothing expired: the threshold doubles instead of pruning on every insert.
        assert_eq!(live.entries.len(), PRUNE_THRESHOLD + 1);
        assert_eq!(live.prune_at, PRUNE_THRESHOLD * 2);
    }
}
