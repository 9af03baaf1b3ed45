//! SQLite store: users, revocations, used refresh tokens and login throttling in one database
//! file (WAL mode, created if missing), so a restart keeps everything.

use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::bounded::{DEFAULT_TIMEOUT, bounded, prune_due};
use super::sql::sql_store;
use super::url_redaction::redact_url;
use super::{
    Admission, ImportMode, ImportReport, Issuance, LoginThrottle, RevocationQuery,
    RevocationStatus, StoreError, ThrottlePolicy, TokenRevocation, User, UserLookup, UserStore,
};
use crate::password::PasswordHash;
use crate::token::Scopes;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

sql_store!(SqliteStore, sqlx::Sqlite, "SQLite store");
super::sql_provider::sql_provider_store!(SqliteStore, sqlx::Sqlite);

/// All three store traits on one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    timeout: Duration,
    writes: std::sync::Arc<AtomicU64>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH` or
    /// `sqlite::memory:`) and applies the embedded migrations. Every later call fails with
    /// [`StoreError::Unavailable`] after `timeout` (default 2 s) instead of hanging.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`Self::open`] with an explicit per-call timeout.
    pub async fn open_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        // sqlx would read anything else as a file name ("mysql://x" becomes a relative path).
        let shown = redact_url(url);
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Config(format!(
                "{NAME}: expected a sqlite:// URL, got {shown:?}"
            )));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::Config(format!("{NAME}: invalid URL {shown:?}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(timeout);
        let in_memory = url.contains(":memory:");
        if !in_memory {
            create_private(options.get_filename());
        }
        // Processes starting at once on a new file race to switch it to WAL and to apply the
        // migrations (SQLite has no migration lock): the loser sees "database is locked" or an
        // applied migration it did not record. Trying again until the deadline lets both start.
        let deadline = std::time::Instant::now() + timeout;
        let pool = loop {
            match Self::connect_and_migrate(options.clone(), in_memory, timeout).await {
                Ok(pool) => break pool,
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Err(e) => {
                    return Err(StoreError::Unavailable(format!(
                        "{NAME}: cannot open {shown:?}: {e}"
                    )));
                }
            }
        };
        let store = Self {
            pool,
            timeout,
            writes: Default::default(),
        };
        store.establish_epoch().await?;
        Ok(store)
    }
}

impl SqliteStore {
    async fn connect_and_migrate(
        options: SqliteConnectOptions,
        in_memory: bool,
        timeout: Duration,
    ) -> Result<SqlitePool, String> {
        let pool = SqlitePoolOptions::new()
            // One connection for an in-memory database: each connection would see its own.
            .max_connections(if in_memory { 1 } else { 8 })
            .acquire_timeout(timeout)
            // A dead connection surfaces as an error on the query itself; pinging before every
            // acquire would double the round trips of every check.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| e.to_string())?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| format!("migration failed: {e}"))?;
        Ok(pool)
    }
}

/// Creates the database file, if it does not exist yet, readable and writable by its owner only:
/// it holds password hashes. SQLite gives the `-wal` and `-shm` files the same permissions. An
/// existing file is left as it is; any other failure is left for SQLite to report.
fn create_private(path: &std::path::Path) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let _ = options.open(path);
}
