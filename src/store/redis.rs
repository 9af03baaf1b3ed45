//! Redis store for the state several server instances must share at once: revocations, used
//! refresh tokens, user generations and login throttling. Users stay in SQL.
//!
//! Every key carries a TTL equal to the time it still matters (a revoked token until its expiry,
//! a throttle window until it ends), except the per-user generation and the store's epoch, which
//! must never be forgotten. The connection manager reconnects by itself after an outage.
//!
//! # What this store relies on
//!
//! Losing keys is detected, not prevented: every check reads the store's
//! [epoch](TokenRevocation#epochs-losing-the-state-fails-closed) in the same `MGET`, so after a
//! `FLUSHALL` or a restart without persistence every token issued before is refused (users log
//! in again). What cannot be detected is losing *some* keys while the epoch survives, so Redis
//! must never evict: with a `maxmemory` limit, `maxmemory-policy` must be `noeviction` (a full
//! Redis then fails writes, and tokenward fails closed). [`RedisStore::open`] refuses a server
//! that would evict when it may read its configuration. A failover to a replica that missed
//! the last writes also loses them undetected: use `appendonly yes` and no asynchronous failover
//! if that matters to you.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::bounded::{DEFAULT_TIMEOUT, bounded};
use super::memory::new_epoch;
use super::url_redaction::redact_url;
use super::{
    Admission, Issuance, LoginThrottle, RevocationQuery, RevocationStatus, StoreError,
    ThrottlePolicy, TokenRevocation,
};

const NAME: &str = "Redis store";

/// Fixed-window attempt counter: start a new window when the old one has ended, else count,
/// stopping at max + 1 (a refused attempt). Returns the window start and the count.
const ATTEMPT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local start = tonumber(redis.call('HGET', KEYS[1], 'start'))
local count
if (not start) or now >= start + window then
  redis.call('HSET', KEYS[1], 'start', now, 'failures', 1)
  start = now
  count = 1
else
  count = tonumber(redis.call('HGET', KEYS[1], 'failures')) or 0
  if count <= max then
    count = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  end
end
local ttl = start + window - now
if ttl < 1 then ttl = 1 end
redis.call('EXPIRE', KEYS[1], ttl)
return {start, count}
";

/// Gives back one attempt of the window still running at ARGV[1] (ARGV[2] seconds long).
const RELEASE: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local start = tonumber(redis.call('HGET', KEYS[1], 'start'))
local count = tonumber(redis.call('HGET', KEYS[1], 'failures'))
if start and count and count > 0 and now < start + window then
  redis.call('HINCRBY', KEYS[1], 'failures', -1)
end
return 0
";

/// The epoch (created from ARGV[1] if missing) and the user's generation, in one step.
/// Returns {epoch, generation, created}.
const ISSUANCE: &str = r"
local epoch = redis.call('GET', KEYS[1])
local created = 0
if not epoch then
  redis.call('SET', KEYS[1], ARGV[1])
  epoch = ARGV[1]
  created = 1
end
return {epoch, redis.call('GET', KEYS[2]) or '0', created}
";

/// Revocation and throttle state in Redis under a key prefix.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    attempt: Script,
    release: Script,
    issuance: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("{NAME} ({:?})", err.kind()))
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port[/db]`), namespacing every key under `prefix`
    /// (so several applications or tests can share one Redis). Fails if Redis does not answer.
    pub async fn open(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::open_with_timeout(url, prefix, DEFAULT_TIMEOUT).await
    }

    /// [`Self::open`] with an explicit per-call timeout (default 2 s).
    pub async fn open_with_timeout(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let cannot =
            |what: &str| StoreError::Unavailable(format!("{NAME}: {what} {}", redact_url(url)));
        let client = redis::Client::open(url)
            .map_err(|_| StoreError::Config(format!("{NAME}: invalid URL {}", redact_url(url))))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = bounded(NAME, timeout, async {
            ConnectionManager::new_with_config(client, config)
                .await
                .map_err(|_| cannot("cannot connect to"))
        })
        .await?;
        let store = Self {
            connection,
            prefix: prefix.to_owned(),
            timeout,
            attempt: Script::new(ATTEMPT),
            release: Script::new(RELEASE),
            issuance: Script::new(ISSUANCE),
        };
        store.refuse_evicting_server().await?;
        // A new Redis gets its epoch now; one that loses it later is found out by the checks
        // (no token's epoch matches) and gets a new one at the next login.
        store.issuance_creating_epoch("").await?;
        Ok(store)
    }

    /// The user's generation and the epoch, creating the epoch if missing (`true` then).
    async fn issuance_creating_epoch(&self, user_id: &str) -> Result<(Issuance, bool), StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.issuance.key(self.key("epoch", "current"));
        invocation
            .key(self.key("generation", user_id))
            .arg(new_epoch());
        let (epoch, generation, created): (u64, u64, bool) =
            bounded(NAME, self.timeout, async move {
                invocation
                    .invoke_async(&mut connection)
                    .await
                    .map_err(unavailable)
            })
            .await?;
        Ok((Issuance { generation, epoch }, created))
    }

    /// A Redis that evicts keys could drop a revocation while keeping the epoch: refuse it. A
    /// server that does not let us read its configuration (managed services) is trusted, with a
    /// warning.
    async fn refuse_evicting_server(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let config = bounded(NAME, self.timeout, async move {
            let reply: redis::RedisResult<Vec<(String, String)>> = redis::cmd("CONFIG")
                .arg("GET")
                .arg("maxmemory*")
                .query_async(&mut connection)
                .await;
            Ok(reply)
        })
        .await?;
        let Ok(config) = config else {
            tracing::warn!(
                "cannot read the Redis configuration; make sure maxmemory-policy is noeviction"
            );
            return Ok(());
        };
        let value = |name: &str| {
            config
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        self.warn_if_snapshots_only().await;
        let limited = value("maxmemory").is_some_and(|m| m != "0");
        match value("maxmemory-policy") {
            Some(policy) if limited && policy != "noeviction" => Err(StoreError::Config(format!(
                "{NAME}: Redis has a maxmemory limit and maxmemory-policy {policy}, so it may evict \
                 revocations; set maxmemory-policy noeviction"
            ))),
            _ => Ok(()),
        }
    }

    /// A Redis that persists by snapshots only comes back from a restart with its epoch but
    /// without the writes since the last snapshot: that loss is not detected. Say so.
    async fn warn_if_snapshots_only(&self) {
        // The connection manager's response timeout bounds these calls.
        let connection = self.connection.clone();
        let read = |name: &'static str| {
            let mut connection = connection.clone();
            async move {
                let reply: redis::RedisResult<Vec<(String, String)>> = redis::cmd("CONFIG")
                    .arg("GET")
                    .arg(name)
                    .query_async(&mut connection)
                    .await;
                reply
                    .ok()
                    .and_then(|pairs| pairs.into_iter().next().map(|(_, v)| v))
            }
        };
        let (appendonly, save) = (read("appendonly").await, read("save").await);
        if appendonly.as_deref() == Some("no") && save.as_deref().is_some_and(|s| !s.is_empty()) {
            tracing::warn!(
                "Redis persists by snapshots only (appendonly no): a restart loses the writes since \
                 the last snapshot without tokenward noticing; set appendonly yes, or run \
                 `tokenward users rotate-epoch` after each restart"
            );
        }
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }

    /// Sets `key` until the unix time `expires_at`; returns whether it was newly set.
    async fn set_until(
        &self,
        key: String,
        expires_at: i64,
        only_new: bool,
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // Already expired: the token cannot be presented any more, but a consume must still
        // answer consistently, so keep the key for a moment.
        let expires_at = u64::try_from(expires_at.max(now + 1)).unwrap_or(u64::MAX);
        bounded(NAME, self.timeout, async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&key).arg(1).arg("EXAT").arg(expires_at);
            if only_new {
                cmd.arg("NX");
            }
            let reply: Option<String> = cmd
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(reply.is_some())
        })
        .await
    }
}

#[async_trait]
impl TokenRevocation for RedisStore {
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        self.set_until(self.key("revoked", jti), expires_at, false)
            .await
            .map(drop)
    }

    async fn revoke_session(&self, session_id: &str, expires_at: i64) -> Result<(), StoreError> {
        self.set_until(self.key("session", session_id), expires_at, false)
            .await
            .map(drop)
    }

    async fn bump_user_generation(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let key = self.key("generation", user_id);
        bounded(NAME, self.timeout, async move {
            connection.incr(key, 1u64).await.map_err(unavailable)
        })
        .await
    }

    async fn issuance(&self, user_id: &str) -> Result<Issuance, StoreError> {
        let (issuance, created) = self.issuance_creating_epoch(user_id).await?;
        if created {
            tracing::warn!(
                store = NAME,
                "Redis held no epoch (flushed, or restarted without persistence): tokens issued before now are refused"
            );
        }
        Ok(issuance)
    }

    async fn rotate_epoch(&self) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let key = self.key("epoch", "current");
        let epoch = new_epoch();
        bounded(NAME, self.timeout, async move {
            let _: () = connection.set(key, epoch).await.map_err(unavailable)?;
            Ok(epoch)
        })
        .await
    }

    async fn consume_refresh(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        self.set_until(self.key("used", jti), expires_at, true)
            .await
    }

    async fn refresh_used(&self, jti: &str) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let key = self.key("used", jti);
        bounded(NAME, self.timeout, async move {
            redis::cmd("EXISTS")
                .arg(key)
                .query_async::<bool>(&mut connection)
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, StoreError> {
        let mut connection = self.connection.clone();
        // One MGET rather than a pipeline of EXISTS, EXISTS, GET: one command for Redis to
        // dispatch and one reply to decode, on the path every authenticated request takes.
        let mut mget = redis::cmd("MGET");
        mget.arg(self.key("revoked", query.jti))
            .arg(self.key("session", query.session_id))
            .arg(self.key("generation", query.user_id))
            .arg(self.key("epoch", "current"));
        bounded(NAME, self.timeout, async move {
            let (token_revoked, session_revoked, generation, epoch): (
                Option<redis::Value>,
                Option<redis::Value>,
                Option<u64>,
                Option<u64>,
            ) = mget
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(RevocationStatus {
                token_revoked: token_revoked.is_some(),
                session_revoked: session_revoked.is_some(),
                user_generation: generation.unwrap_or(0),
                epoch,
            })
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        bounded(NAME, self.timeout, async move {
            let _: String = redis::cmd("PING")
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl LoginThrottle for RedisStore {
    async fn locked_for(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<Option<u64>, StoreError> {
        let mut connection = self.connection.clone();
        let key = self.key("throttle", key);
        bounded(NAME, self.timeout, async move {
            let (start, failures): (Option<i64>, Option<u64>) = redis::cmd("HMGET")
                .arg(key)
                .arg("start")
                .arg("failures")
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(start
                .zip(failures)
                .and_then(|(start, failures)| policy.retry_after(start, failures, now)))
        })
        .await
    }

    async fn attempt(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<Admission, StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.attempt.key(self.key("throttle", key));
        invocation
            .arg(now)
            .arg(policy.window_secs)
            .arg(policy.max_failures);
        let (start, count): (i64, u64) = bounded(NAME, self.timeout, async move {
            invocation
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)
        })
        .await?;
        Ok(policy.admission(start, count, now))
    }

    async fn release(&self, key: &str, now: i64, policy: ThrottlePolicy) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.release.key(self.key("throttle", key));
        invocation.arg(now).arg(policy.window_secs);
        bounded(NAME, self.timeout, async move {
            let _: i64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let key = self.key("throttle", key);
        bounded(NAME, self.timeout, async move {
            let _: i64 = connection.del(key).await.map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}
