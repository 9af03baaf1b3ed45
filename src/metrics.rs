//! Metrics through the [`metrics`](https://docs.rs/metrics) facade: nothing is recorded until the
//! application installs a recorder (the example servers' `--metrics` installs a Prometheus one).
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | [`LOGINS`] | counter | `outcome`: `succeeded`, `failed`, `throttled`, `busy`, `unavailable`, `error` |
//! | [`VALIDATIONS`] | counter | `result`: `valid`, `invalid`, `unavailable` |
//! | [`REFRESH_REUSE`] | counter | |
//! | [`HASH_WAIT`] | histogram (seconds) | (the wait for a hashing permit) |
//! | [`STORE_CALL`] | histogram (seconds) | `store` (`SQLite store`, `PostgreSQL store`, `Redis store`), `outcome` (`ok`, `unavailable`, `error`) |
//!
//! The hasher's queue is a snapshot, recorded by [`record_hasher_gauges`] when an exporter is
//! scraped: [`HASHER_RUNNING`] and [`HASHER_WAITING`] (gauges), [`HASHER_REFUSED`] (the busy
//! refusals so far).

/// Password logins by outcome.
pub const LOGINS: &str = "tokenward_logins_total";
/// Access-token validations by result.
pub const VALIDATIONS: &str = "tokenward_token_validations_total";
/// Refresh tokens presented a second time (each revoked its session).
pub const REFRESH_REUSE: &str = "tokenward_refresh_reuse_total";
/// Seconds a password check waited for a hashing permit.
pub const HASH_WAIT: &str = "tokenward_hash_wait_seconds";
/// Seconds one store call took.
pub const STORE_CALL: &str = "tokenward_store_call_seconds";
/// Password checks running now.
pub const HASHER_RUNNING: &str = "tokenward_hasher_running";
/// Password checks waiting for a permit now.
pub const HASHER_WAITING: &str = "tokenward_hasher_waiting";
/// Password checks refused because the queue was full, since start.
pub const HASHER_REFUSED: &str = "tokenward_hasher_refused_total";

/// Records `hasher`'s queue as gauges; call it when metrics are scraped.
pub fn record_hasher_gauges(hasher: &crate::password::PasswordHasher) {
    let stats = hasher.stats();
    // Counts of a few thousand at most: exact as f64.
    metrics::gauge!(HASHER_RUNNING).set(stats.running as f64);
    metrics::gauge!(HASHER_WAITING).set(stats.waiting as f64);
    metrics::gauge!(HASHER_REFUSED).set(stats.refused_busy as f64);
}
