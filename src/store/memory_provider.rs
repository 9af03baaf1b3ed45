//! In-memory client and authorization stores (re-exported from [`super::memory`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::StoreError;
use super::memory::lock;
use super::{
    AuthorizationStore, BrowserSession, Client, ClientStore, CodeGrant, CodeRedemption,
    IdentityLink, PendingAuthorization, UpstreamLoginState,
};
use crate::token::Scopes;

/// Expired records are swept once a map holds this many, so a flood of `/authorize` requests
/// cannot grow memory without bound.
const SWEEP_THRESHOLD: usize = 10_000;

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

/// Codes, browser sessions, pending requests and consent in maps.
#[derive(Debug, Default)]
pub struct MemoryAuthorizationStore {
    codes: Mutex<HashMap<String, (CodeGrant, bool)>>,
    sessions: Mutex<HashMap<String, BrowserSession>>,
    pending: Mutex<HashMap<String, PendingAuthorization>>,
    consents: Mutex<HashMap<(String, String), Scopes>>,
    upstream_logins: Mutex<HashMap<String, UpstreamLoginState>>,
    /// (issuer, subject) to (user id, when linked), ordered so a user's links list in order.
    identity_links: Mutex<BTreeMap<(String, String), (String, i64)>>,
}

impl MemoryAuthorizationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn sweep<V>(map: &mut HashMap<String, V>, expires_at: impl Fn(&V) -> i64) {
    if map.len() >= SWEEP_THRESHOLD {
        let now = now();
        map.retain(|_, v| expires_at(v) >= now);
    }
}

#[async_trait]
impl AuthorizationStore for MemoryAuthorizationStore {
    async fn put_code(&self, digest: &str, grant: &CodeGrant) -> Result<(), StoreError> {
        let mut codes = lock(&self.codes, "authorization store")?;
        sweep(&mut codes, |(g, _)| {
            g.expires_at.saturating_add(SPENT_CODE_MEMORY_SECS)
        });
        codes.insert(digest.to_owned(), (grant.clone(), false));
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
        let mut sessions = lock(&self.sessions, "authorization store")?;
        sweep(&mut sessions, |s| s.expires_at);
        sessions.insert(digest.to_owned(), session.clone());
        Ok(())
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
        let mut map = lock(&self.pending, "authorization store")?;
        sweep(&mut map, |p| p.expires_at);
        map.insert(digest.to_owned(), pending.clone());
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
        let mut map = lock(&self.upstream_logins, "authorization store")?;
        sweep(&mut map, |l| l.expires_at);
        map.insert(digest.to_owned(), login.clone());
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
