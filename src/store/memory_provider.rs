//! In-memory client and authorization stores (re-exported from [`super::memory`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::StoreError;
use super::expiring_map::ExpiringMap;
use super::memory::lock;
use super::{
    AuthorizationStore, BrowserSession, Client, ClientStore, CodeGrant, CodeRedemption,
    IdentityLink, PendingAuthorization, UpstreamLoginState,
};
use crate::token::Scopes;

/// How many records of each kind (codes, sessions, pending requests, upstream logins) the store
/// holds by default; past it the oldest go first.
pub const DEFAULT_RECORDS_PER_KIND: usize = 20_000;

/// How long a spent code is remembered after it expires, to recognise a late replay.
pub(crate) const SPENT_CODE_MEMORY_SECS: i64 = 600;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Clients in a map.
#[derive(Debug, Default)]
pub struct MemoryClientStore {
    clients: Mutex<BTreeMap<String, Client>>,
}

impl MemoryClientStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ClientStore for MemoryClientStore {
    async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(lock(&self.clients, "client store")?.get(client_id).cloned())
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Ok(lock(&self.clients, "client store")?
            .values()
            .cloned()
            .collect())
    }

    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
        let mut clients = lock(&self.clients, "client store")?;
        if clients.contains_key(&client.client_id) {
            return Ok(false);
        }
        clients.insert(client.client_id.clone(), client.clone());
        Ok(true)
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        let mut clients = lock(&self.clients, "client store")?;
        match clients.get_mut(&client.client_id) {
            Some(stored) => {
                *stored = client.clone();
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn remove_client(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.clients, "client store")?
            .remove(client_id)
            .is_some())
    }
}

/// Codes, browser sessions, pending requests and consent in maps. The short-lived records are
/// bounded: each kind holds at most [`DEFAULT_RECORDS_PER_KIND`] (or the number given to
/// [`Self::with_capacity`]), expired ones are dropped as new ones arrive, and a full map drops
/// its oldest record, in constant time per write. A flood that outruns the authorization
/// endpoint's pending-request limits (many addresses) then costs the
/// oldest unanswered forms, never unbounded memory. Consents and identity links are not
/// short-lived and are not bounded.
pub struct MemoryAuthorizationStore {
    codes: Mutex<ExpiringMap<(CodeGrant, bool)>>,
    sessions: Mutex<ExpiringMap<BrowserSession>>,
    pending: Mutex<ExpiringMap<PendingAuthorization>>,
    consents: Mutex<HashMap<(String, String), Scopes>>,
    upstream_logins: Mutex<ExpiringMap<UpstreamLoginState>>,
    /// (issuer, subject) to (user id, when linked), ordered so a user's links list in order.
    identity_links: Mutex<BTreeMap<(String, String), (String, i64)>>,
}

/// How many records of each kind a [`MemoryAuthorizationStore`] holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordCounts {
    /// Authorization codes, spent ones still remembered included.
    pub codes: usize,
    /// Browser sessions.
    pub sessions: usize,
    /// Pending requests (login and consent forms).
    pub pending: usize,
    /// Logins under way at an upstream provider.
    pub upstream_logins: usize,
}

impl MemoryAuthorizationStore {
    /// An empty store with the default bound.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_RECORDS_PER_KIND)
    }

    /// An empty store holding at most `records_per_kind` codes, sessions, pending requests and
    /// upstream logins each.
    pub fn with_capacity(records_per_kind: usize) -> Self {
        Self {
            codes: Mutex::new(ExpiringMap::new(records_per_kind)),
            sessions: Mutex::new(ExpiringMap::new(records_per_kind)),
            pending: Mutex::new(ExpiringMap::new(records_per_kind)),
            consents: Mutex::default(),
            upstream_logins: Mutex::new(ExpiringMap::new(records_per_kind)),
            identity_links: Mutex::default(),
        }
    }

    /// How many short-lived records the store holds now (for metrics, and the tests that
    /// hold it to its bound).
    pub fn record_counts(&self) -> Result<RecordCounts, StoreError> {
        let name = "authorization store";
        Ok(RecordCounts {
            codes: lock(&self.codes, name)?.len(),
            sessions: lock(&self.sessions, name)?.len(),
            pending: lock(&self.pending, name)?.len(),
            upstream_logins: lock(&self.upstream_logins, name)?.len(),
        })
    }
}

impl Default for MemoryAuthorizationStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryAuthorizationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The records are credentials' digests and users' grants: only their numbers.
        f.debug_struct("MemoryAuthorizationStore")
            .field("records", &self.record_counts().ok())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl AuthorizationStore for MemoryAuthorizationStore {
    async fn put_code(&self, digest: &str, grant: &CodeGrant) -> Result<(), StoreError> {
        let expires_at = grant.expires_at.saturating_add(SPENT_CODE_MEMORY_SECS);
        lock(&self.codes, "authorization store")?.insert(
            digest,
            (grant.clone(), false),
            expires_at,
            now(),
        );
        Ok(())
    }

    async fn redeem_code(&self, digest: &str) -> Result<CodeRedemption, StoreError> {
        let mut codes = lock(&self.codes, "authorization store")?;
        Ok(match codes.get_mut(digest) {
            None => CodeRedemption::Unknown,
            Some((grant, spent)) if *spent => CodeRedemption::Replayed(grant.clone()),
            Some((grant, spent)) => {
                *spent = true;
                CodeRedemption::Redeemed(grant.clone())
            }
        })
    }

    async fn put_session(&self, digest: &str, session: &BrowserSession) -> Result<(), StoreError> {
        lock(&self.sessions, "authorization store")?.insert(
            digest,
            session.clone(),
            session.expires_at,
            now(),
        );
        Ok(())
    }

    async fn update_session(
        &self,
        digest: &str,
        session: &BrowserSession,
    ) -> Result<bool, StoreError> {
        let mut sessions = lock(&self.sessions, "authorization store")?;
        Ok(match sessions.get_mut(digest) {
            Some(stored) => {
                *stored = session.clone();
                true
            }
            None => false,
        })
    }

    async fn find_session(&self, digest: &str) -> Result<Option<BrowserSession>, StoreError> {
        Ok(lock(&self.sessions, "authorization store")?
            .get(digest)
            .cloned())
    }

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        lock(&self.sessions, "authorization store")?.remove(digest);
        Ok(())
    }

    async fn put_pending(
        &self,
        digest: &str,
        pending: &PendingAuthorization,
    ) -> Result<(), StoreError> {
        lock(&self.pending, "authorization store")?.insert(
            digest,
            pending.clone(),
            pending.expires_at,
            now(),
        );
        Ok(())
    }

    async fn find_pending(&self, digest: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        Ok(lock(&self.pending, "authorization store")?
            .get(digest)
            .cloned())
    }

    async fn delete_pending(&self, digest: &str) -> Result<(), StoreError> {
        lock(&self.pending, "authorization store")?.remove(digest);
        Ok(())
    }

    async fn consented_scopes(&self, user_id: &str, client_id: &str) -> Result<Scopes, StoreError> {
        Ok(lock(&self.consents, "authorization store")?
            .get(&(user_id.to_owned(), client_id.to_owned()))
            .cloned()
            .unwrap_or_default())
    }

    async fn add_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &Scopes,
    ) -> Result<(), StoreError> {
        let mut consents = lock(&self.consents, "authorization store")?;
        let entry = consents
            .entry((user_id.to_owned(), client_id.to_owned()))
            .or_default();
        *entry = entry.union(scope);
        Ok(())
    }

    async fn put_upstream_login(
        &self,
        digest: &str,
        login: &UpstreamLoginState,
    ) -> Result<(), StoreError> {
        lock(&self.upstream_logins, "authorization store")?.insert(
            digest,
            login.clone(),
            login.expires_at,
            now(),
        );
        Ok(())
    }

    async fn take_upstream_login(
        &self,
        digest: &str,
    ) -> Result<Option<UpstreamLoginState>, StoreError> {
        Ok(lock(&self.upstream_logins, "authorization store")?.remove(digest))
    }

    async fn find_identity_link(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(lock(&self.identity_links, "authorization store")?
            .get(&(issuer.to_owned(), subject.to_owned()))
            .map(|(user_id, _)| user_id.clone()))
    }

    async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut links = lock(&self.identity_links, "authorization store")?;
        let key = (issuer.to_owned(), subject.to_owned());
        if links.contains_key(&key) {
            return Ok(false);
        }
        links.insert(key, (user_id.to_owned(), now));
        Ok(true)
    }

    async fn identity_links(&self, user_id: &str) -> Result<Vec<IdentityLink>, StoreError> {
        Ok(lock(&self.identity_links, "authorization store")?
            .iter()
            .filter(|(_, (user, _))| user == user_id)
            .map(|((issuer, subject), (user, created_at))| IdentityLink {
                issuer: issuer.clone(),
                subject: subject.clone(),
                user_id: user.clone(),
                created_at: *created_at,
            })
            .collect())
    }

    async fn unlink_identity(
        &self,
        user_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<bool, StoreError> {
        let mut links = lock(&self.identity_links, "authorization store")?;
        let key = (issuer.to_owned(), subject.to_owned());
        if links.get(&key).is_some_and(|(user, _)| user == user_id) {
            links.remove(&key);
            return Ok(true);
        }
        Ok(false)
    }
}
