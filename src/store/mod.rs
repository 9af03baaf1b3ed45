//! The storage the issuer and the authorization server need, as traits any backend can
//! implement: [`UserStore`], [`TokenRevocation`] and [`LoginThrottle`] for the issuer,
//! [`ClientStore`] and [`AuthorizationStore`] for the authorization server, with in-memory
//! implementations in [`memory`] and SQL and Redis ones behind features. The traits (ports)
//! live here, below everything that uses them: nothing in `store` knows the issuer or the
//! provider.
//!
//! Every method can fail with [`StoreError::Unavailable`]; the issuer then fails closed: a
//! revocation it could not check is never treated as "not revoked".

mod authorization;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
mod bounded;
mod client;
mod expiring_map;
pub mod memory;
mod memory_provider;
mod open;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
mod revocation_switch;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_provider;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
mod traits;
mod url_redaction;
pub use url_redaction::redact_url;
mod users_file;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
pub use bounded::DEFAULT_TIMEOUT;

pub use authorization::{
    AuthorizationStore, BrowserSession, ClientStore, CodeGrant, CodeRedemption, IdentityLink,
    PendingAuthorization, PendingLink, UpstreamLoginState, secret_digest,
};
pub use client::{Client, GrantType};
pub use open::{
    REVOCATION_IN_DATABASE, REVOCATION_IN_REDIS, REVOCATION_STORE_SETTING, Stores, open,
};
pub use revocation_switch::{RevocationStoreChange, RevocationStoreKind, open_for_serving};
pub use traits::{
    Admission, ImportMode, ImportReport, Issuance, LoginThrottle, MAX_USERNAME_BYTES,
    RevocationQuery, RevocationStatus, ThrottlePolicy, TokenRevocation, User, UserLookup,
    UserStore,
};
pub use users_file::{MAX_USERS_FILE_BYTES, UsersFileError, import_users, parse_users_file};

/// A storage failure. Messages name the store and the operation, never a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer (down, timed out, connection refused). Retry later.
    #[error("{0} is unavailable")]
    Unavailable(String),
    /// The store cannot be opened as configured (an unsupported or malformed URL, a feature
    /// this build lacks): retrying will not help.
    #[error("{0}")]
    Config(String),
    /// The record to change does not exist.
    #[error("not found")]
    NotFound,
    /// The store answered with data it should never hold (a malformed hash, a bad scope).
    #[error("corrupt record: {0}")]
    Corrupt(String),
}
