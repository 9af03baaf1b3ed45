//! Security events: what the issuer did that an operator or a SIEM wants to see, as `tracing`
//! events with target [`TARGET`], a stable `event` field naming what happened, and fields that
//! never hold a secret (no password, hash or token: ids, usernames, client addresses, reasons).
//!
//! | `event` | level | fields |
//! |---|---|---|
//! | [`LOGIN_SUCCEEDED`] | info | `user_id`, `client` |
//! | [`LOGIN_FAILED`] | info | `username`, `client` |
//! | [`LOGIN_THROTTLED`] | warn | `username`, `client`, `limit` (`username` or `client`), `retry_after_secs` |
//! | [`LOGIN_BUSY`] | warn | `username`, `client` (the hashing queue was full) |
//! | [`REFRESH_REUSED`] | warn | `user_id`, `session_id` (the session is revoked) |
//! | [`TOKEN_REVOKED`] | info | `kind` (`access` or `refresh`), `user_id`, `session_id` |
//! | [`LOGOUT_ALL`] | info | `user_id` |
//! | [`PASSWORD_CHANGED`] | info | `user_id`, `by` (`user` or `administrator`) |
//! | [`UPSTREAM_LOGIN_SUCCEEDED`] | info | `user_id`, `issuer`, `linked` (`existing`, `email`, `email_password` or `created`) |
//! | [`UPSTREAM_LINK_NEEDS_PASSWORD`] | info | `user_id`, `issuer` (a link by email waits for the user's password) |
//! | [`UPSTREAM_LOGIN_FAILED`] | warn | `issuer`, `reason` (never a token or claim value) |
//! | [`KEY_ROTATED`] | info | `kid` (the new signing key), `algorithm` |
//! | [`STORE_UNAVAILABLE`] | error | `operation`, `error` (store and reason, never a URL password) |
//!
//! Subscribe with any `tracing` subscriber; filter on the target, for example
//! `RUST_LOG=tokenward::security=info`.

/// The `tracing` target of every security event.
pub const TARGET: &str = "tokenward::security";

/// A password login succeeded.
pub const LOGIN_SUCCEEDED: &str = "login.succeeded";
/// A password login failed (unknown user, wrong password, disabled user or unusable record:
/// deliberately one event, as it is one answer).
pub const LOGIN_FAILED: &str = "login.failed";
/// A login was refused by a throttle without checking the password.
pub const LOGIN_THROTTLED: &str = "login.throttled";
/// A login was refused because too many password checks were waiting.
pub const LOGIN_BUSY: &str = "login.busy";
/// A client presented a wrong secret (or the secret of no registered client) at the token,
/// revocation or introspection endpoint.
pub const CLIENT_AUTH_FAILED: &str = "client_auth.failed";
/// A client authentication was refused by a throttle without checking the secret.
pub const CLIENT_AUTH_THROTTLED: &str = "client_auth.throttled";
/// A used refresh token was presented again; its whole session was revoked.
pub const REFRESH_REUSED: &str = "refresh.reused";
/// An authorization code presented a second time; the tokens issued from it were revoked.
pub const CODE_REPLAYED: &str = "code.replayed";
/// A token was revoked (RFC 7009).
pub const TOKEN_REVOKED: &str = "token.revoked";
/// Every token of a user was cut off.
pub const LOGOUT_ALL: &str = "logout_all";
/// A user's password was changed (by the user, or set by an administrator).
pub const PASSWORD_CHANGED: &str = "password.changed";
/// A login through an upstream OpenID provider succeeded.
pub const UPSTREAM_LOGIN_SUCCEEDED: &str = "upstream_login.succeeded";
/// An upstream identity matched a local user by verified email, and the link waits for that
/// user's password on the login form (`linked` is `email_password` once it is written).
pub const UPSTREAM_LINK_NEEDS_PASSWORD: &str = "upstream_login.link_needs_password";
/// A login through an upstream OpenID provider was refused (bad state, an id_token that fails
/// verification, no matching local user, ...).
pub const UPSTREAM_LOGIN_FAILED: &str = "upstream_login.failed";
/// A new signing key became active.
pub const KEY_ROTATED: &str = "key.rotated";
/// A store did not answer; the operation failed closed.
pub const STORE_UNAVAILABLE: &str = "store.unavailable";
