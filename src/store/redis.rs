//! Redis store for the state several server instances must share at once: revocations, used
//! refresh tokens, user generations and login throttling. Users stay in SQL.
//!
//! Every key carries a TTL equal to the time it still matters (a revoked token until its expiry,
//! a throttle window until it ends), except the per-user generation, which must never be
//! forgotten. The connection manager reconnects by itself after an outage.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::bounded::{DEFAULT_TIMEOUT, bounded};
use super::url_redaction::redact_url;
use super::{
    LoginThrottle, RevocationQuery, RevocationStatus, StoreError, ThrottlePolicy, TokenRevocation,
};

const NAME: &str = "Redis store";

/// Fixed-window failure counter: start a new window when the old one has ended, else count.
const RECORD_FAILURE: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local start = tonumber(redis.call('HGET', KEYS[1], 'start'))
if (not start) or now >= start + window then
  redis.call('HSET', KEYS[1], 'start', now, 'failures', 1)
  start = now
else
  redis.call('HINCRBY', KEYS[1], 'failures', 1)
end
local ttl = start + window - now
if ttl < 1 then ttl = 1 end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
";

/// Revocation and throttle state in Redis under a key prefix.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    record_failure: Script,
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
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            timeout,
            record_failure: Script::new(RECORD_FAILURE),
        })
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

    async fn user_generation(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let key = self.key("generation", user_id);
        bounded(NAME, self.timeout, async move {
            let generation: Option<u64> = connection.get(key).await.map_err(unavailable)?;
            Ok(generation.unwrap_or(0))
        })
        .await
    }

    async fn consume_refresh(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        self.set_until(self.key("used", jti), expires_at, true)
            .await
    }

    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, StoreError> {
        let mut connection = self.connection.clone();
        // One MGET rather than a pipeline of EXISTS, EXISTS, GET: one command for Redis to
        // dispatch and one reply to decode, on the path every authenticated request takes.
        let mut mget = redis::cmd("MGET");
        mget.arg(self.key("revoked", query.jti))
            .arg(self.key("session", query.session_id))
            .arg(self.key("generation", query.user_id));
        bounded(NAME, self.timeout, async move {
            let (token_revoked, session_revoked, generation): (
                Option<redis::Value>,
                Option<redis::Value>,
                Option<u64>,
            ) = mget
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(RevocationStatus {
                token_revoked: token_revoked.is_some(),
                session_revoked: session_revoked.is_some(),
                user_generation: generation.unwrap_or(0),
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

    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.record_failure.key(self.key("throttle", key));
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
