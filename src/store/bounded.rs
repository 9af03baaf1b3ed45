//! What every networked or on-disk store shares: a deadline on each call, so a store that hangs
//! fails with `Unavailable` in bounded time, and a write counter that schedules pruning.

use std::future::Future;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::StoreError;

/// The default per-call deadline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Prune expired rows once every this many writes.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const PRUNE_EVERY_WRITES: u64 = 4096;

/// Runs `operation`, failing with `Unavailable` if it takes longer than `timeout`.
pub(crate) async fn bounded<T>(
    store: &'static str,
    timeout: Duration,
    operation: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = std::time::Instant::now();
    let result = match tokio::time::timeout(timeout, operation).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Unavailable(format!(
            "{store} (no answer within {} ms)",
            timeout.as_millis()
        ))),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(StoreError::Unavailable(_)) => "unavailable",
        Err(_) => "error",
    };
    metrics::histogram!(
        crate::metrics::STORE_CALL,
        "store" => store,
        "outcome" => outcome
    )
    .record(started.elapsed().as_secs_f64());
    result
}

/// Counts a write; `true` once every [`PRUNE_EVERY_WRITES`].
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn prune_due(writes: &AtomicU64) -> bool {
    writes.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY_WRITES == PRUNE_EVERY_WRITES - 1
}
