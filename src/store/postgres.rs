//! PostgreSQL store: users, revocations, used refresh tokens and login throttling, shared by
//! every instance that connects. An optional schema lets several applications share a database.

use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool, Row};

use super::bounded::{DEFAULT_TIMEOUT, bounded, prune_due};
use super::sql::sql_store;
use super::url_redaction::redact_url;
use super::{
    Admission, ImportMode, ImportReport, Issuance, LoginThrottle, RevocationQuery,
    RevocationStatus, StoreError, ThrottlePolicy, TokenRevocation, User, UserLookup, UserStore,
};
use crate::password::PasswordHash;
use crate::token::Scopes;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

sql_store!(PostgresStore, sqlx::Postgres, "PostgreSQL store");
super::sql_provider::sql_provider_store!(PostgresStore, sqlx::Postgres);

/// All three store traits on one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    timeout: Duration,
    writes: std::sync::Arc<AtomicU64>,
}

fn valid_schema(schema: &str) -> bool {
    (1..=63).contains(&schema.len())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit())
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host/db`), creates `schema` if given (its
    /// tables then live there, so several applications can share a database) and applies the
    /// embedded migrations. Every later call fails with `Unavailable` after 2 s instead of hanging.
    pub async fn open(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        Self::open_with_timeout(url, schema, DEFAULT_TIMEOUT).await
    }

    /// [`Self::open`] with an explicit per-call timeout.
    pub async fn open_with_timeout(
        url: &str,
        schema: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let shown = redact_url(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Config(format!("{NAME}: invalid URL {shown}")))?;
        if let Some(schema) = schema
            && !valid_schema(schema)
        {
            return Err(StoreError::Config(format!(
                "{NAME}: schema must be 1 to 63 of a-z 0-9 _, not starting with a digit"
            )));
        }
        let schema = schema.map(str::to_owned);
        let search_path = schema.clone();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(timeout)
            // A dead connection surfaces as an error on the query itself; pinging before every
            // acquire would double the round trips of every check.
            .test_before_acquire(false)
            .after_connect(move |connection, _| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(schema) = search_path {
                        connection
                            .execute(format!("SET search_path TO {schema}").as_str())
                            .await?;
                    }
                    Ok(())
                })
            });
        let pool = bounded(NAME, timeout, async {
            pool.connect_with(options).await.map_err(|e| {
                StoreError::Unavailable(format!("{NAME}: cannot connect to {shown}: {e}"))
            })
        })
        .await?;
        if let Some(schema) = &schema {
            pool.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await
                .map_err(unavailable)?;
        }
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("{NAME}: migration failed: {e}")))?;
        let store = Self {
            pool,
            timeout,
            writes: Default::default(),
        };
        store.establish_epoch().await?;
        Ok(store)
    }
}
