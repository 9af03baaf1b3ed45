//! # tokenward
//!
//! Authentication for Rust services, correct by default: argon2id password hashing that also
//! verifies (and upgrades) the bcrypt and PBKDF2 hashes services migrate from, and RFC 9068 JWT
//! access tokens with key ids, rotation and a validation path that cannot be told to skip a check.
//!
//! ```
//! use secrecy::{ExposeSecret, SecretString};
//! use tokenward::keys::{KeyAlgorithm, KeySet};
//! use tokenward::password::{Argon2Params, PasswordHasher};
//! use tokenward::token::{Scopes, TokenCodec, TokenError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Passwords: argon2id, policy-checked when chosen, verified in constant time.
//! let hasher = PasswordHasher::builder()
//!     .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1)?) // cheap, for the doctest
//!     .build()?;
//! let hash = hasher.hash_new_password("alice", &SecretString::from("a long passphrase"))?;
//! assert!(hasher.verify(&SecretString::from("a long passphrase"), &hash)?);
//!
//! // Tokens: EdDSA by default, signed with the active key of a rotatable key set.
//! let keys = KeySet::generate(KeyAlgorithm::DEFAULT)?;
//! let codec = TokenCodec::builder(keys, "https://auth.example", "api.example").build()?;
//! let issued = codec.issue_access("user-1", &Scopes::parse("items:read")?, "session-1")?;
//!
//! // Validation returns `Verified<AccessClaims>`: the only way to get claims a handler can trust.
//! let claims = codec.validate_access(issued.token.expose_secret())?;
//! claims.scope.require(&Scopes::parse("items:read")?)?;
//! assert_eq!(claims.sub, "user-1");
//!
//! // A tampered token is refused with a precise reason.
//! let token = issued.token.expose_secret();
//! let (signed, signature) = token.rsplit_once('.').ok_or("not a JWS")?;
//! let forged = format!("{signed}.{}", signature.chars().rev().collect::<String>());
//! assert_eq!(codec.validate_access(&forged).err(), Some(TokenError::BadSignature));
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
//! | [`clock`] | the injected [`clock::Clock`] every time decision uses |
//!
//! ## Crypto backend
//!
//! `jsonwebtoken` runs on its `rust_crypto` backend (RustCrypto's ed25519-dalek, p256, rsa, hmac):
//! pure Rust, so the crate builds without a C toolchain, CMake or a process-wide provider to
//! install. tokenward never calls `CryptoProvider::install_default`; an application that enables
//! `jsonwebtoken`'s `aws_lc_rs` feature as well must install one provider itself.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
pub mod keys;
pub mod password;
pub mod token;
