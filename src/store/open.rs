//! Opening the stores a server needs from URLs, as the example servers' flags give them.

use std::fmt;
use std::sync::Arc;

use super::memory::{
    MemoryAuthorizationStore, MemoryClientStore, MemoryRevocation, MemoryThrottle, MemoryUserStore,
};
use super::{AuthorizationStore, ClientStore};
use super::{LoginThrottle, StoreError, TokenRevocation, UserStore};

/// The [setting](UserStore::setting) naming where the servers keep revocations:
/// [`REVOCATION_IN_REDIS`] or [`REVOCATION_IN_DATABASE`]. Servers record it at start
/// ([`Stores::adopt_revocation_store`], which rotates the epoch when it changes); tools that
/// write cutoffs read it.
pub const REVOCATION_STORE_SETTING: &str = "revocation_store";
/// Revocations are in Redis (`--redis-url`).
pub const REVOCATION_IN_REDIS: &str = "redis";
/// Revocations are in the user database.
pub const REVOCATION_IN_DATABASE: &str = "database";

/// The stores an issuer and an authorization server need.
#[derive(Clone)]
pub struct Stores {
    /// Where users live.
    pub users: Arc<dyn UserStore>,
    /// Revocations, used refresh tokens, user generations.
    pub revocation: Arc<dyn TokenRevocation>,
    /// Failed-login counters.
    pub throttle: Arc<dyn LoginThrottle>,
    /// Registered OAuth clients (always the database, never Redis).
    pub clients: Arc<dyn ClientStore>,
    /// Authorization codes, browser sessions, pending requests, consent (the database).
    pub authorizations: Arc<dyn AuthorizationStore>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

#[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "redis")))]
fn unsupported(what: &str) -> StoreError {
    StoreError::Config(what.to_owned())
}

/// Opens the stores for `database_url` and, if given, moves revocation and throttling to
/// `redis_url` (so several instances share them):
///
/// - `memory:` keeps everything in this process (nothing persists);
/// - `sqlite://PATH` (feature `sqlite`, created if missing);
/// - `postgres://...` or `postgresql://...` (feature `postgres`);
/// - `redis://...` for `redis_url` (feature `redis`), keys under the prefix `tokenward`.
///
/// Errors name the URL with its password hidden.
///
/// This records nothing, so tools can open a deployment's stores without changing where its
/// servers look. A server that issues or checks tokens uses
/// [`open_for_serving`](super::open_for_serving) (or calls
/// [`Stores::adopt_revocation_store`]), which refuses the tokens issued before the deployment
/// moved its revocations between the database and Redis.
pub async fn open(database_url: &str, redis_url: Option<&str>) -> Result<Stores, StoreError> {
    let mut stores = open_database(database_url).await?;
    if let Some(redis_url) = redis_url {
        let (revocation, throttle) = open_redis(redis_url).await?;
        stores.revocation = revocation;
        stores.throttle = throttle;
    }
    Ok(stores)
}

async fn open_database(url: &str) -> Result<Stores, StoreError> {
    if url == "memory:" {
        return Ok(Stores {
            users: Arc::new(MemoryUserStore::new()),
            revocation: Arc::new(MemoryRevocation::new()),
            throttle: Arc::new(MemoryThrottle::new()),
            clients: Arc::new(MemoryClientStore::new()),
            authorizations: Arc::new(MemoryAuthorizationStore::new()),
        });
    }
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            let store = Arc::new(super::sqlite::SqliteStore::open(url).await?);
            return Ok(Stores {
                users: store.clone(),
                revocation: store.clone(),
                throttle: store.clone(),
                clients: store.clone(),
                authorizations: store,
            });
        }
        #[cfg(not(feature = "sqlite"))]
        return Err(unsupported(
            "tokenward was built without the sqlite feature",
        ));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let store = Arc::new(super::postgres::PostgresStore::open(url, None).await?);
            return Ok(Stores {
                users: store.clone(),
                revocation: store.clone(),
                throttle: store.clone(),
                clients: store.clone(),
                authorizations: store,
            });
        }
        #[cfg(not(feature = "postgres"))]
        return Err(unsupported(
            "tokenward was built without the postgres feature",
        ));
    }
    Err(StoreError::Config(format!(
        "unsupported database URL {:?}: expected memory:, sqlite://PATH or postgres://...",
        hide_password(url)
    )))
}

type SharedState = (Arc<dyn TokenRevocation>, Arc<dyn LoginThrottle>);

async fn open_redis(url: &str) -> Result<SharedState, StoreError> {
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(StoreError::Config(format!(
            "unsupported Redis URL {:?}: expected redis://host:port",
            hide_password(url)
        )));
    }
    #[cfg(feature = "redis")]
    {
        let store = Arc::new(super::redis::RedisStore::open(url, "tokenward").await?);
        Ok((store.clone(), store))
    }
    #[cfg(not(feature = "redis"))]
    Err(unsupported("tokenward was built without the redis feature"))
}

fn hide_password(url: &str) -> String {
    super::url_redaction::redact_url(url)
}
