//! # tokenward
//!
//! Authentication for Rust services, correct by default: argon2id password hashing that also
//! verifies (and upgrades) the bcrypt and PBKDF2 hashes services migrate from, RFC 9068 JWT
//! access tokens with key ids and rotation, single-use refresh tokens with reuse detection,
//! revocation and logout-everywhere behind pluggable store traits, and the OAuth2 request and
//! response handling a server needs, without a web framework.
//!
//! ```
//! use std::sync::Arc;
//!
//! use secrecy::{ExposeSecret, SecretString};
//! use tokenward::keys::{KeyAlgorithm, KeySet};
//! use tokenward::password::{Argon2Params, PasswordHasher};
//! use tokenward::store::memory::{MemoryRevocation, MemoryUserStore};
//! use tokenward::store::{User, UserStore};
//! use tokenward::token::{Scopes, TokenCodec};
//! use tokenward::{Error, Rejection, TokenIssuer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let hasher = PasswordHasher::builder()
//!     .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1)?) // cheap, for the doctest
//!     .build()?;
//! let users = Arc::new(MemoryUserStore::new());
//! users.upsert(User {
//!     id: String::new(), // the store assigns a stable id
//!     username: "alice".into(),
//!     password_hash: hasher.hash_new_password("alice", &SecretString::from("a long passphrase"))?,
//!     scopes: Scopes::parse("items:read items:write")?,
//!     disabled: false,
//!     full_name: None,
//!     email: None,
//! }).await?;
//!
//! // EdDSA keys by default; the issuer, audience and stores are all it needs.
//! let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::DEFAULT)?, "https://auth.example", "api")
//!     .build()?;
//! let issuer = TokenIssuer::builder(codec, users, Arc::new(MemoryRevocation::new()))
//!     .password_hasher(hasher)
//!     .build()?;
//!
//! let pair = issuer.login("alice", &SecretString::from("a long passphrase"), None).await?;
//! // `validate` returns `Verified<AccessClaims>`: the only way to hold claims a handler can trust.
//! let claims = issuer.validate(pair.access_token.expose_secret()).await?;
//! claims.scope.require(&Scopes::parse("items:read")?)?;
//!
//! // Refresh tokens are single use: the second use revokes the whole login.
//! issuer.refresh(pair.refresh_token.expose_secret(), None).await?;
//! let replay = issuer.refresh(pair.refresh_token.expose_secret(), None).await;
//! assert!(matches!(replay, Err(Error::InvalidGrant(Rejection::RefreshReused))));
//! # Ok(())
//! # }
//! ```
//!
//! ## Modules
//!
//! | module | what it holds |
//! |---|---|
//! | [`password`] | argon2id hashing, legacy-format verification, policy, bounded async pool |
//! | [`keys`] | signing keys, the key file, rotation, JWKS |
//! | [`token`] | access-token claims, issuing, validation, [`token::Verified`], [`token::Scopes`] |
//! | [`store`] | the `UserStore`, `TokenRevocation` and `LoginThrottle` traits, in-memory stores |
//! | [`oauth2`] | the OAuth vocabulary: form rules, RFC 6749 responses, Bearer auth, challenges |
//! | [`provider`] | the authorization server: `/authorize`, login and consent, clients, the token endpoint's grants, OpenID Connect (feature `provider`, default) |
//! | [`endpoints`] | the route table every integration mounts, and [`endpoints::Endpoints`] that answers it (feature `provider`) |
//! | [`clock`] | the injected [`clock::Clock`] every time decision uses |
//! | [`TokenIssuer`] | login, validate, refresh rotation with reuse detection, revoke, logout-all |
//!
//! ## Layers
//!
//! Each module uses only those below it, so a reader (or a resource server that needs
//! validation alone) can stop at any line:
//!
//! ```text
//! endpoints   the route table and Endpoints: what integration crates mount
//! provider    the authorization server: /authorize, login and consent, the token endpoint
//!             (provider::token: one dispatcher, one module per grant), client authentication
//! oauth2      the HTTP vocabulary: form rules, RFC 6749 responses, Bearer authentication
//! issuer      TokenIssuer, one module per flow: login, validate, refresh, revoke, password
//! store       every store trait (the provider's included) and the backends
//! token       claims, the codec, scopes, refresh tokens
//! keys        signing keys, the key file, JWKS  |  password: hashing on a bounded pool
//! clock, events, metrics
//! ```
//!
//! The top two layers, with the templates and cookie handling only they use, are the `provider`
//! feature (on by default): `default-features = false` leaves a library of the layers below,
//! for a service that writes its own login route around [`TokenIssuer`].
//!
//! ## Crypto backend
//!
//! Tokens are signed and checked with aws-lc-rs: keys are parsed once and sign through it
//! directly, and `jsonwebtoken` verifies on its `aws_lc_rs` backend. Its RSA signing is constant
//! time, which the pure-Rust `rsa` crate's is not (RUSTSEC-2023-0071, "Marvin"), and OpenID
//! Connect requires RS256 for id_tokens. It needs a C compiler at build time (no CMake on common
//! Linux targets). Building a codec or a `JwksVerifier` installs aws-lc as `jsonwebtoken`'s
//! process-wide provider unless the application installed one before, so a build that enables
//! `jsonwebtoken`'s `rust_crypto` feature as well still verifies instead of panicking.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
#[cfg(feature = "provider")]
#[cfg_attr(docsrs, doc(cfg(feature = "provider")))]
pub mod endpoints;
mod error;
pub mod events;
mod issuer;
pub mod keys;
pub mod metrics;
pub mod oauth2;
pub mod password;
#[cfg(feature = "provider")]
#[cfg_attr(docsrs, doc(cfg(feature = "provider")))]
pub mod provider;
pub mod store;
pub mod token;

pub use error::{Error, Rejection};
pub use issuer::{
    MAX_SESSION_LIFETIME, MAX_THROTTLE_WINDOW_SECS, MAX_USERNAME_BYTES, TokenIssuer,
    TokenIssuerBuilder, TokenPair, TokenTypeHint,
};
