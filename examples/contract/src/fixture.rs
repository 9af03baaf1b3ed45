//! The users every clause starts with, written as a `--users` file.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use secrecy::SecretString;
use serde_json::json;
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::store::sqlite::SqliteStore;

use crate::server::{Server, Workdir};

/// The `--issuer` of fixture servers (the default, `http://<bound address>`, changes with the
/// port at every restart).
pub const ISSUER: &str = "http://tokenward.test";

/// One imported user.
pub struct TestUser {
    /// Unique per fixture, so tests sharing a Redis never share a throttle counter.
    pub username: String,
    /// Its password.
    pub password: &'static str,
}

/// A work directory with a users file, and the users in it.
pub struct Fixture {
    /// Database, key file and users file live here.
    pub dir: Workdir,
    /// argon2id (cheap parameters), scopes `items:read items:write`.
    pub alice: TestUser,
    /// bcrypt cost 4, scope `items:read`.
    pub bob: TestUser,
    /// Disabled.
    pub carol: TestUser,
    /// argon2id, scope `items:read` only.
    pub dave: TestUser,
}

fn unique(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Fixture {
    /// Writes the users file into a fresh directory.
    pub fn new() -> Self {
        let fixture = Self {
            dir: Workdir::new(),
            alice: TestUser {
                username: unique("alice"),
                password: "alice's long passphrase",
            },
            bob: TestUser {
                username: unique("bob"),
                password: "bob's bcrypt passphrase",
            },
            carol: TestUser {
                username: unique("carol"),
                password: "carol's passphrase here",
            },
            dave: TestUser {
                username: unique("dave"),
                password: "dave's reading passphrase",
            },
        };
        let argon2 = PasswordHasher::builder()
            .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
            .build()
            .unwrap();
        let hash = |password: &str| {
            argon2
                .hash(&SecretString::from(password.to_owned()))
                .unwrap()
                .expose_secret()
                .to_owned()
        };
        let users = json!([
            {"username": fixture.alice.username, "password_hash": hash(fixture.alice.password),
             "scopes": ["items:read", "items:write"], "full_name": "Alice Example",
             "email": "alice@example.com"},
            {"username": fixture.bob.username,
             "password_hash": bcrypt::hash(fixture.bob.password, 4).unwrap(),
             "scopes": ["items:read"]},
            {"username": fixture.carol.username, "password_hash": hash(fixture.carol.password),
             "scopes": ["items:read"], "disabled": true},
            {"username": fixture.dave.username, "password_hash": hash(fixture.dave.password),
             "scopes": ["items:read"]},
        ]);
        std::fs::write(fixture.users_file(), users.to_string()).unwrap();
        fixture
    }

    /// The users file's path.
    pub fn users_file(&self) -> std::path::PathBuf {
        self.dir.path("users.json")
    }

    /// `--database-url` (SQLite in the work directory) and `--users`, plus `extra`.
    pub fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            // Restarts and second instances listen on other ports: one issuer for all of them.
            "--issuer".to_owned(),
            ISSUER.to_owned(),
            // Not a loopback host: allowed in plain http only explicitly.
            "--allow-insecure-http-issuer".to_owned(),
            "--database-url".to_owned(),
            self.dir.sqlite_url(),
            "--users".to_owned(),
            self.users_file().display().to_string(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    /// Starts `bin` on this fixture's SQLite database.
    pub async fn start(&self, bin: &Path, extra: &[&str]) -> Server {
        Server::start(bin, &self.args(extra)).await
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens the SQLite database of a server started from `fixture`, for the clauses that look at or
/// change what the server stored behind its back.
pub async fn open_store(fixture: &Fixture) -> SqliteStore {
    SqliteStore::open(&fixture.dir.sqlite_url())
        .await
        .expect("open the server's SQLite database")
}
