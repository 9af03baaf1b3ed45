//! The upstream provider's discovery document with its JWKS, kept as long as their responses'
//! `Cache-Control` allows, refreshed by one login at a time while the others use the stale copy,
//! and the JWKS fetched again (rate-limited) for an id_token signed with an unknown key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::IssuerUrl;
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use tokio::sync::{Mutex, RwLock};

use super::UpstreamError;
use super::http::{HttpAdapter, UpstreamHttp};
use crate::clock::Clock;

/// A JWKS is fetched again for an unknown `kid` at most this often: a provider that keeps
/// signing with an unpublished key cannot make every callback a fetch.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long discovery and the JWKS are kept when their responses carry no `Cache-Control:
/// max-age` (seconds).
pub(super) const DEFAULT_METADATA_LIFETIME_SECS: i64 = 3600;
/// The longest a `max-age` keeps them: 24 hours.
pub(super) const MAX_METADATA_LIFETIME_SECS: i64 = 86_400;
/// The shortest: a provider that answers `no-cache`, `no-store` or `max-age=0` is still asked
/// at most once a minute.
pub(super) const MIN_METADATA_LIFETIME_SECS: i64 = 60;
/// After a refresh that failed, the stale copy serves this long before the next try.
const REFRESH_RETRY_SECS: i64 = 60;

/// Discovery with its JWKS, and until when it is fresh (unix seconds).
#[derive(Clone)]
struct Cached {
    metadata: Arc<CoreProviderMetadata>,
    expires_at: i64,
}

/// The cache of one upstream provider's metadata.
pub(super) struct MetadataCache {
    issuer: IssuerUrl,
    http: Arc<dyn UpstreamHttp>,
    clock: Arc<dyn Clock>,
    current: RwLock<Option<Cached>>,
    /// Held by the one login that refreshes expired metadata.
    refreshing: Mutex<()>,
    last_jwks_fetch: Mutex<Option<Instant>>,
}

impl MetadataCache {
    pub(super) fn new(
        issuer: IssuerUrl,
        http: Arc<dyn UpstreamHttp>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            issuer,
            http,
            clock,
            current: RwLock::new(None),
            refreshing: Mutex::new(()),
            last_jwks_fetch: Mutex::new(None),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// The provider's metadata (discovery and its JWKS), kept as long as their `Cache-Control`
    /// allows (see `cache_lifetime`). Once it has expired, the next login refreshes it; logins
    /// meanwhile use the stale copy instead of waiting, and so do all logins for a while if the
    /// refresh fails. Only the first discovery (nothing to fall back on) makes logins wait,
    /// and fail if it fails.
    pub(super) async fn get(&self) -> Result<Arc<CoreProviderMetadata>, UpstreamError> {
        let cached = self.current.read().await.clone();
        if let Some(cached) = &cached
            && self.now() < cached.expires_at
        {
            return Ok(Arc::clone(&cached.metadata));
        }
        let _refreshing = match (&cached, self.refreshing.try_lock()) {
            (_, Ok(guard)) => guard,
            (Some(stale), Err(_)) => return Ok(Arc::clone(&stale.metadata)),
            (None, Err(_)) => self.refreshing.lock().await,
        };
        // Another login may have refreshed it while this one waited for the lock.
        if let Some(current) = self.current.read().await.as_ref()
            && self.now() < current.expires_at
        {
            return Ok(Arc::clone(&current.metadata));
        }
        match (self.discover().await, cached) {
            (Ok(fresh), _) => Ok(fresh),
            (Err(_), Some(stale)) => {
                tracing::warn!(
                    issuer = %self.issuer.as_str(),
                    "upstream discovery refresh failed; using the cached copy for now"
                );
                let retry_at = self.now() + REFRESH_RETRY_SECS;
                if let Some(current) = self.current.write().await.as_mut() {
                    current.expires_at = retry_at;
                }
                Ok(stale.metadata)
            }
            (Err(error), None) => Err(error),
        }
    }

    /// Fetches discovery and the JWKS, and caches them for the shorter of their lifetimes.
    async fn discover(&self) -> Result<Arc<CoreProviderMetadata>, UpstreamError> {
        let send = HttpAdapter::new(&self.http);
        let discovered = CoreProviderMetadata::discover_async(self.issuer.clone(), &send)
            .await
            .map_err(|e| {
                tracing::warn!(issuer = %self.issuer.as_str(), error = %e, "upstream discovery failed");
                UpstreamError::Unreachable
            })?;
        let discovered = Arc::new(discovered);
        *self.current.write().await = Some(Cached {
            metadata: Arc::clone(&discovered),
            expires_at: self.now().saturating_add(send.lifetime()),
        });
        Ok(discovered)
    }

    /// The JWKS fetched again for an id_token signed with a key `stale` lacks, at most once per
    /// `JWKS_REFETCH_INTERVAL`; the renewed metadata keeps the cached discovery's expiry.
    pub(super) async fn refetch_jwks(
        &self,
        stale: &Arc<CoreProviderMetadata>,
        send: &HttpAdapter,
    ) -> Result<Arc<CoreProviderMetadata>, UpstreamError> {
        let mut last = self.last_jwks_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            // Fetched moments ago (by this login or another): use what is cached now.
            let current = self.current.read().await.clone();
            return match current {
                Some(current) if !Arc::ptr_eq(&current.metadata, stale) => Ok(current.metadata),
                _ => Err(UpstreamError::InvalidIdToken("signed by an unknown key")),
            };
        }
        // Counted before the fetch: a JWKS endpoint that fails is not asked again at once.
        *last = Some(Instant::now());
        let jwks = CoreJsonWebKeySet::fetch_async(stale.jwks_uri(), send)
            .await
            .map_err(|_| UpstreamError::Unreachable)?;
        let renewed = Arc::new(stale.as_ref().clone().set_jwks(jwks));
        // The new keys, under the cached discovery's expiry.
        let mut cached = self.current.write().await;
        let expires_at = cached.as_ref().map_or_else(
            || self.now().saturating_add(DEFAULT_METADATA_LIFETIME_SECS),
            |c| c.expires_at,
        );
        *cached = Some(Cached {
            metadata: Arc::clone(&renewed),
            expires_at,
        });
        Ok(renewed)
    }
}
