//! The issuer's promises under concurrency and hostile timing (issue #12), with in-memory stores.
//! What depends on the backend (atomic throttling, epochs, entry lifetimes) is in
//! `store_conformance.rs`, run against every backend.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHash, PasswordHasher};
use tokenward::store::memory::{MemoryRevocation, MemoryThrottle, MemoryUserStore};
use tokenward::store::{StoreError, ThrottlePolicy, User, UserStore};
use tokenward::token::{Scopes, TokenCodec};
use tokenward::{Error, Rejection, TokenIssuer};
use tokio::sync::Notify;

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn scopes(s: &str) -> Scopes {
    Scopes::parse(s).unwrap()
}

fn cheap_hasher() -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap()
}

fn user(name: &str, hash: PasswordHash) -> User {
    User {
        id: String::new(),
        username: name.into(),
        password_hash: hash,
        scopes: scopes("items:read items:write"),
        disabled: false,
        full_name: None,
        email: None,
    }
}

fn codec(clock: Arc<ManualClock>) -> TokenCodec {
    TokenCodec::builder(KeySet::generate(KeyAlgorithm::HS256).unwrap(), "iss", "aud")
        .clock(clock)
        .build()
        .unwrap()
}

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

/// An issuer over `users` with a manual clock and a throttle of `max_failures` per 60 s.
fn issuer(
    users: Arc<dyn UserStore>,
    hasher: PasswordHasher,
    max_failures: u32,
) -> (TokenIssuer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let issuer = TokenIssuer::builder(
        codec(clock.clone()),
        users,
        Arc::new(MemoryRevocation::new()),
    )
    .password_hasher(hasher)
    .throttle(
        Arc::new(MemoryThrottle::new()),
        ThrottlePolicy {
            max_failures,
            window_secs: 60,
        },
    )
    .build()
    .unwrap();
    (issuer, clock)
}

async fn with_alice(hasher: &PasswordHasher) -> (Arc<MemoryUserStore>, String) {
    let users = Arc::new(MemoryUserStore::new());
    let alice = users
        .upsert(user(
            "alice",
            hasher.hash(&secret("alice password")).unwrap(),
        ))
        .await
        .unwrap();
    (users, alice.id)
}

/// #12.1: 50 guesses at once with a limit of 5 verify at most 5 passwords; the rest are 429,
/// and so is the right password until the window ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_guesses_verify_at_most_the_limit() {
    let hasher = cheap_hasher();
    let (users, _) = with_alice(&hasher).await;
    let (issuer, clock) = issuer(users, hasher.clone(), 5);
    let before = hasher.stats().verifications;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let issuer = issuer.clone();
        tasks.push(tokio::spawn(async move {
            issuer
                .login("alice", &secret(&format!("guess {i}")), None)
                .await
        }));
    }
    let (mut refused, mut throttled) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Err(Error::InvalidCredentials) => refused += 1,
            Err(Error::Throttled { .. }) => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    let verified = hasher.stats().verifications - before;
    assert!(verified <= 5, "{verified} passwords verified");
    assert_eq!((refused, throttled), (5, 45));
    assert!(matches!(
        issuer.login("alice", &secret("alice password"), None).await,
        Err(Error::Throttled { .. })
    ));
    clock.advance(Duration::seconds(61));
    issuer
        .login("alice", &secret("alice password"), None)
        .await
        .unwrap();
}

/// #12.1: the current-password check of a password change is counted the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_password_change_guesses_verify_at_most_the_limit() {
    let hasher = cheap_hasher();
    let (users, alice) = with_alice(&hasher).await;
    let (issuer, _) = issuer(users, hasher.clone(), 5);
    let before = hasher.stats().verifications;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (issuer, alice) = (issuer.clone(), alice.clone());
        tasks.push(tokio::spawn(async move {
            issuer
                .change_password(
                    &alice,
                    &secret(&format!("guess {i}")),
                    &secret("a new passphrase 9"),
                )
                .await
        }));
    }
    let mut throttled = 0;
    for task in tasks {
        match task.await.unwrap() {
            Err(Error::InvalidCredentials) => {}
            Err(Error::Throttled { .. }) => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(hasher.stats().verifications - before <= 5);
    assert_eq!(throttled, 45);
}

/// #12.2: one client address cannot spray usernames past its own limit; other addresses are
/// unaffected; IPv6 addresses count per /64.
#[tokio::test]
async fn a_client_address_is_limited_across_usernames() {
    let hasher = cheap_hasher();
    let (users, _) = with_alice(&hasher).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let issuer = TokenIssuer::builder(codec(clock), users, Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .client_throttle(ThrottlePolicy {
            max_failures: 3,
            window_secs: 60,
        })
        .build()
        .unwrap();
    let attacker: IpAddr = "203.0.113.7".parse().unwrap();
    for name in ["u1", "u2", "u3"] {
        assert!(matches!(
            issuer
                .login_from(attacker, name, &secret("guess"), None)
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        issuer
            .login_from(attacker, "u4", &secret("guess"), None)
            .await,
        Err(Error::Throttled { .. })
    ));
    let neighbour: IpAddr = "203.0.113.8".parse().unwrap();
    issuer
        .login_from(neighbour, "alice", &secret("alice password"), None)
        .await
        .unwrap();

    let (a, b, other): (IpAddr, IpAddr, IpAddr) = (
        "2001:db8::1".parse().unwrap(),
        "2001:db8::ffff".parse().unwrap(),
        "2001:db8:0:1::1".parse().unwrap(),
    );
    for client in [a, b, a] {
        let _ = issuer
            .login_from(client, "nobody", &secret("guess"), None)
            .await;
    }
    assert!(matches!(
        issuer
            .login_from(b, "nobody2", &secret("guess"), None)
            .await,
        Err(Error::Throttled { .. })
    ));
    assert!(matches!(
        issuer
            .login_from(other, "nobody3", &secret("guess"), None)
            .await,
        Err(Error::InvalidCredentials)
    ));
}

/// Issue 27 item 12: failed logins lock a username per (username, address); only the larger
/// per-username budget locks it everywhere, so one address guessing cannot lock the user out.
#[tokio::test]
async fn guessing_from_one_address_locks_the_username_only_there() {
    let hasher = cheap_hasher();
    let (users, _) = with_alice(&hasher).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let per_pair = ThrottlePolicy {
        max_failures: 3,
        window_secs: 60,
    };
    let issuer = TokenIssuer::builder(codec(clock), users, Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .throttle(Arc::new(MemoryThrottle::new()), per_pair)
        .username_throttle(ThrottlePolicy {
            max_failures: 6,
            window_secs: 60,
        })
        .build()
        .unwrap();
    let right = secret("alice password");
    let attacker: IpAddr = "203.0.113.7".parse().unwrap();
    for _ in 0..3 {
        assert!(matches!(
            issuer
                .login_from(attacker, "alice", &secret("guess"), None)
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        issuer.login_from(attacker, "alice", &right, None).await,
        Err(Error::Throttled { .. })
    ));
    let home: IpAddr = "198.51.100.1".parse().unwrap();
    issuer
        .login_from(home, "alice", &right, None)
        .await
        .unwrap();

    // Across addresses the username's own budget (6) binds: then it is locked everywhere.
    for address in ["203.0.113.8", "203.0.113.9"] {
        let address: IpAddr = address.parse().unwrap();
        for _ in 0..3 {
            assert!(matches!(
                issuer
                    .login_from(address, "alice", &secret("guess"), None)
                    .await,
                Err(Error::InvalidCredentials)
            ));
        }
    }
    assert!(matches!(
        issuer.login_from(home, "alice", &right, None).await,
        Err(Error::Throttled { .. })
    ));
}

/// Issue 27 item 12: an address's budget counts failures; successful logins give their attempt
/// back (up to as many successes again), so an office behind one NAT address does not lock
/// itself out at its morning peak, and one valid account cannot keep the hasher busy for ever.
#[tokio::test]
async fn successful_logins_do_not_use_up_the_address_budget() {
    let hasher = cheap_hasher();
    let (users, _) = with_alice(&hasher).await;
    let new_issuer = || {
        let clock = Arc::new(ManualClock::new(t0()));
        TokenIssuer::builder(
            codec(clock),
            users.clone(),
            Arc::new(MemoryRevocation::new()),
        )
        .password_hasher(hasher.clone())
        .client_throttle(ThrottlePolicy {
            max_failures: 3,
            window_secs: 60,
        })
        .build()
        .unwrap()
    };
    let office: IpAddr = "192.0.2.44".parse().unwrap();
    let right = secret("alice password");

    // Three successes give their attempts back: three failures still fit.
    let issuer = new_issuer();
    for _ in 0..3 {
        issuer
            .login_from(office, "alice", &right, None)
            .await
            .unwrap();
    }
    for name in ["u1", "u2", "u3"] {
        assert!(matches!(
            issuer
                .login_from(office, name, &secret("guess"), None)
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        issuer.login_from(office, "alice", &right, None).await,
        Err(Error::Throttled { .. })
    ));

    // Past as many successes again, successes count like any attempt.
    let issuer = new_issuer();
    for _ in 0..6 {
        issuer
            .login_from(office, "alice", &right, None)
            .await
            .unwrap();
    }
    assert!(matches!(
        issuer.login_from(office, "alice", &right, None).await,
        Err(Error::Throttled { .. })
    ));
}

/// Review finding: no username is another throttle key. Guesses for a username spelled like a
/// per-address key must not lock the real user at that address.
#[tokio::test]
async fn no_username_stands_for_another_users_key() {
    let hasher = cheap_hasher();
    let (users, _) = with_alice(&hasher).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let issuer = TokenIssuer::builder(codec(clock), users, Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .build()
        .unwrap();
    let victim: IpAddr = "198.51.100.1".parse().unwrap();
    let attacker: IpAddr = "203.0.113.99".parse().unwrap();
    for spelled in [
        "alice|client:198.51.100.1",
        "at:client:198.51.100.1|alice",
        "-at:client:198.51.100.1|alice",
    ] {
        for _ in 0..6 {
            let _ = issuer
                .login_from(attacker, spelled, &secret("guess"), None)
                .await;
            let _ = issuer.login(spelled, &secret("guess"), None).await;
        }
    }
    issuer
        .login_from(victim, "alice", &secret("alice password"), None)
        .await
        .unwrap();
}

/// Which user lookup [`PausingUsers`] stops after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PauseAt {
    ByUsername,
    ById,
}

/// A user store that, once armed, stops right after one lookup has read the user (its hash
/// included) until the test releases it: the login then verifies against what it read while
/// the test changes the account underneath.
struct PausingUsers {
    inner: MemoryUserStore,
    armed: AtomicBool,
    at: PauseAt,
    reached: Notify,
    release: Notify,
}

impl PausingUsers {
    fn new(at: PauseAt) -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryUserStore::new(),
            armed: AtomicBool::new(false),
            at,
            reached: Notify::new(),
            release: Notify::new(),
        })
    }

    async fn pause(&self, at: PauseAt) {
        if self.at == at && self.armed.swap(false, Ordering::SeqCst) {
            self.reached.notify_one();
            self.release.notified().await;
        }
    }
}

#[async_trait]
impl UserStore for PausingUsers {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let found = self.inner.find_by_username(username).await;
        self.pause(PauseAt::ByUsername).await;
        found
    }
    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let found = self.inner.find_by_id(id).await;
        self.pause(PauseAt::ById).await;
        found
    }
    async fn upsert(&self, user: User) -> Result<User, StoreError> {
        self.inner.upsert(user).await
    }
    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError> {
        self.inner.update_password_hash(id, hash).await
    }
    async fn upgrade_password_hash(
        &self,
        id: &str,
        current: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, StoreError> {
        self.inner.upgrade_password_hash(id, current, new).await
    }
    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        self.inner.set_disabled(id, disabled).await
    }
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        self.inner.list(after, limit).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

#[derive(Clone, Copy, Debug)]
enum Change {
    SetPassword,
    LogoutAll,
}

/// #12.4: a login whose password check overlaps a password change or a logout-all does not
/// outlive it; and the hash upgrade of such a login (alice has a bcrypt hash, so it upgrades)
/// never writes the old password back. A logout-all that lands before the login has read the
/// user's generation (paused after the username lookup) is simply earlier than that login,
/// which then stands, as any login after a logout-all does; a password change there makes the
/// login read the new hash and fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_racing_a_cutoff_is_cut_off() {
    for (at, change) in [
        (PauseAt::ByUsername, Change::SetPassword),
        (PauseAt::ById, Change::SetPassword),
        (PauseAt::ById, Change::LogoutAll),
    ] {
        {
            let users = PausingUsers::new(at);
            let legacy = bcrypt::hash("alice password", 4).unwrap();
            let alice = users
                .upsert(user("alice", PasswordHash::parse(legacy).unwrap()))
                .await
                .unwrap()
                .id;
            let (issuer, _) = issuer(users.clone(), cheap_hasher(), 100);

            users.armed.store(true, Ordering::SeqCst);
            let racing = {
                let issuer = issuer.clone();
                tokio::spawn(
                    async move { issuer.login("alice", &secret("alice password"), None).await },
                )
            };
            tokio::time::timeout(std::time::Duration::from_secs(10), users.reached.notified())
                .await
                .expect("the login reaches the pause");
            match change {
                Change::SetPassword => issuer
                    .set_password(&alice, &secret("a brand new passphrase 42"))
                    .await
                    .unwrap(),
                Change::LogoutAll => issuer.logout_all(&alice).await.unwrap(),
            }
            users.release.notify_one();
            let case = format!("{change:?} while paused {at:?}");
            match racing.await.unwrap() {
                // Verified against the hash it had read: its tokens must be dead already.
                Ok(pair) => {
                    let access = issuer.validate(pair.access_token.expose_secret()).await;
                    assert!(
                        matches!(access, Err(Error::InvalidToken(Rejection::CutOff))),
                        "{case}: {access:?}"
                    );
                    let refresh = issuer
                        .refresh(pair.refresh_token.expose_secret(), None)
                        .await;
                    assert!(
                        matches!(refresh, Err(Error::InvalidGrant(Rejection::CutOff))),
                        "{case}: {refresh:?}"
                    );
                }
                // Or it read the new hash and the old password failed: as good.
                Err(Error::InvalidCredentials) => {}
                Err(other) => panic!("{case}: {other:?}"),
            }
            if let Change::SetPassword = change {
                assert!(
                    matches!(
                        issuer.login("alice", &secret("alice password"), None).await,
                        Err(Error::InvalidCredentials)
                    ),
                    "{case}: the old password came back"
                );
                issuer
                    .login("alice", &secret("a brand new passphrase 42"), None)
                    .await
                    .unwrap();
            }
        }
    }
}

/// #12.6a: input no password can be (NUL, over 1024 bytes, empty) and names no account can
/// have (NUL, control characters, too long) are refused before any store is asked, for known
/// and unknown names alike: the user store here is down, and the answer is still 400.
#[tokio::test]
async fn impossible_input_is_refused_before_any_store_call() {
    let (issuer, _) = issuer(Arc::new(DownUsers), cheap_hasher(), 5);
    for (name, password) in [
        ("alice", "has\0nul"),
        ("alice", &"p".repeat(1025) as &str),
        ("alice", ""),
        ("ali\0ce", "alice password"),
        ("ali\nce", "alice password"),
        (&"u".repeat(300) as &str, "alice password"),
        ("", "alice password"),
    ] {
        let result = issuer.login(name, &secret(password), None).await;
        assert!(
            matches!(result, Err(Error::InvalidCredentials)),
            "{name:?}: {result:?}"
        );
    }
    // The control: a plausible login does reach the (down) store.
    assert!(matches!(
        issuer.login("alice", &secret("alice password"), None).await,
        Err(Error::Unavailable(_))
    ));
}

struct DownUsers;

fn down<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable("test user store".into()))
}

#[async_trait]
impl UserStore for DownUsers {
    async fn find_by_username(&self, _: &str) -> Result<Option<User>, StoreError> {
        down()
    }
    async fn find_by_id(&self, _: &str) -> Result<Option<User>, StoreError> {
        down()
    }
    async fn upsert(&self, _: User) -> Result<User, StoreError> {
        down()
    }
    async fn update_password_hash(&self, _: &str, _: &PasswordHash) -> Result<(), StoreError> {
        down()
    }
    async fn upgrade_password_hash(
        &self,
        _: &str,
        _: &PasswordHash,
        _: &PasswordHash,
    ) -> Result<bool, StoreError> {
        down()
    }
    async fn set_disabled(&self, _: &str, _: bool) -> Result<(), StoreError> {
        down()
    }
    async fn list(&self, _: Option<&str>, _: usize) -> Result<Vec<User>, StoreError> {
        down()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        down()
    }
}

/// A user store that can be switched off and on.
struct Flaky {
    inner: MemoryUserStore,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            down()
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl UserStore for Flaky {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.check()?;
        self.inner.find_by_username(username).await
    }
    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.check()?;
        self.inner.find_by_id(id).await
    }
    async fn upsert(&self, user: User) -> Result<User, StoreError> {
        self.check()?;
        self.inner.upsert(user).await
    }
    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError> {
        self.check()?;
        self.inner.update_password_hash(id, hash).await
    }
    async fn upgrade_password_hash(
        &self,
        id: &str,
        current: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.upgrade_password_hash(id, current, new).await
    }
    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        self.check()?;
        self.inner.set_disabled(id, disabled).await
    }
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        self.check()?;
        self.inner.list(after, limit).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.check()
    }
}

/// #12.7: a refresh that fails because a store is briefly down does not burn the token, so the
/// client's retry works instead of revoking an honest session.
#[tokio::test]
async fn a_refresh_during_an_outage_can_be_retried() {
    let hasher = cheap_hasher();
    let users = Arc::new(Flaky {
        inner: MemoryUserStore::new(),
        down: AtomicBool::new(false),
    });
    users
        .upsert(user(
            "alice",
            hasher.hash(&secret("alice password")).unwrap(),
        ))
        .await
        .unwrap();
    let (issuer, _) = issuer(users.clone(), hasher, 5);
    let pair = issuer
        .login("alice", &secret("alice password"), None)
        .await
        .unwrap();
    users.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        issuer
            .refresh(pair.refresh_token.expose_secret(), None)
            .await,
        Err(Error::Unavailable(_))
    ));
    users.down.store(false, Ordering::SeqCst);
    let next = issuer
        .refresh(pair.refresh_token.expose_secret(), None)
        .await
        .unwrap();
    issuer
        .validate(next.access_token.expose_secret())
        .await
        .unwrap();
}

/// #12.7: a scope taken away from a user stops working at once on every path that reads the
/// user, not when the token expires.
#[tokio::test]
async fn validation_narrows_scopes_to_what_the_user_still_has() {
    let hasher = cheap_hasher();
    let (users, _) = with_alice(&hasher).await;
    let (issuer, _) = issuer(users.clone(), hasher.clone(), 5);
    let pair = issuer
        .login("alice", &secret("alice password"), None)
        .await
        .unwrap();
    let mut demoted = users.find_by_username("alice").await.unwrap().unwrap();
    demoted.scopes = scopes("items:read");
    users.upsert(demoted).await.unwrap();
    let claims = issuer
        .validate(pair.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(claims.scope, scopes("items:read"));
    let (claims, _) = issuer
        .validate_user(pair.access_token.expose_secret())
        .await
        .unwrap();
    assert!(claims.scope.require(&scopes("items:write")).is_err());
}

/// #12.7: lifetimes and windows that would overflow or outlive any sane deployment are
/// configuration errors, not panics later.
#[test]
fn unbounded_durations_are_refused_by_the_builder() {
    let build = |session: Duration, refresh: Duration, window: u64| {
        let clock = Arc::new(ManualClock::new(t0()));
        TokenIssuer::builder(
            codec(clock),
            Arc::new(MemoryUserStore::new()),
            Arc::new(MemoryRevocation::new()),
        )
        .session_lifetime(session)
        .refresh_ttl(refresh)
        .throttle(
            Arc::new(MemoryThrottle::new()),
            ThrottlePolicy {
                max_failures: 5,
                window_secs: window,
            },
        )
        .build()
    };
    assert!(build(Duration::days(30), Duration::days(14), 60).is_ok());
    assert!(build(Duration::days(3650), Duration::days(14), 60).is_err());
    assert!(build(Duration::MAX, Duration::MAX, 60).is_err());
    assert!(build(Duration::days(30), Duration::days(14), 2 * 86_400).is_err());
    assert!(build(Duration::days(30), Duration::days(14), u64::MAX).is_err());
}

/// #12.7: a stored hash above the configured limits costs nothing and fails like a wrong
/// password (logged), even with the right password.
#[tokio::test]
async fn hashes_above_the_limits_are_refused_without_work() {
    let users = Arc::new(MemoryUserStore::new());
    // Cost 15 parses (the hard ceiling is 16) but is above the default limit of 14.
    let expensive = format!("$2b$15${}.{}.", "C".repeat(21), "C".repeat(30));
    users
        .upsert(user("heavy", PasswordHash::parse(expensive).unwrap()))
        .await
        .unwrap();
    let hasher = cheap_hasher();
    let (issuer, _) = issuer(users, hasher.clone(), 5);
    assert!(matches!(
        issuer.login("heavy", &secret("anything"), None).await,
        Err(Error::InvalidCredentials)
    ));
    assert_eq!(hasher.stats().verifications, 0, "nothing was hashed");
}

/// A Django `pbkdf2_sha256$` hash, as Django writes it.
fn django_hash(password: &str, iterations: u32) -> PasswordHash {
    let salt = "pT27yKTxrsAhQ9Xm";
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    let encoded = base64::engine::general_purpose::STANDARD.encode(out);
    PasswordHash::parse(format!("pbkdf2_sha256${iterations}${salt}${encoded}")).unwrap()
}

/// #12.6b: a failed login takes as long whether the user is unknown, disabled, or has an
/// argon2id, a bcrypt-12 or a Django PBKDF2 hash (median durations within 10 % of each other).
/// Real parameters: OWASP argon2id, bcrypt cost 12, Django 5's 720,000 PBKDF2 iterations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_take_as_long_whatever_the_stored_hash() {
    let hasher = PasswordHasher::builder().build().unwrap();
    let users = Arc::new(MemoryUserStore::new());
    let argon2 = hasher.hash(&secret("right password")).unwrap();
    let bcrypt12 = PasswordHash::parse(bcrypt::hash("right password", 12).unwrap()).unwrap();
    for (name, hash, disabled) in [
        ("argon2", argon2.clone(), false),
        ("bcrypt", bcrypt12, false),
        ("django", django_hash("right password", 720_000), false),
        ("disabled", argon2, true),
    ] {
        users
            .upsert(User {
                disabled,
                ..user(name, hash)
            })
            .await
            .unwrap();
    }
    let (issuer, _) = issuer(users, hasher, 10_000);
    let cases = [
        ("unknown", "wrong password"),
        ("argon2", "wrong password"),
        ("bcrypt", "wrong password"),
        ("django", "wrong password"),
        ("disabled", "right password"),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    // One round to warm up, then interleaved rounds so drift hits every case alike.
    for round in 0..8 {
        for (i, (name, password)) in cases.iter().enumerate() {
            let started = Instant::now();
            let result = issuer.login(name, &secret(password), None).await;
            let took = started.elapsed().as_secs_f64();
            assert!(matches!(result, Err(Error::InvalidCredentials)), "{name}");
            if round > 0 {
                samples[i].push(took);
            }
        }
    }
    let medians: Vec<f64> = samples
        .iter_mut()
        .map(|s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect();
    let (low, high) = medians
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &m| (lo.min(m), hi.max(m)));
    let report: Vec<String> = cases
        .iter()
        .zip(&medians)
        .map(|((name, _), m)| format!("{name} {:.1} ms", m * 1e3))
        .collect();
    eprintln!("failed-login medians: {}", report.join(", "));
    assert!(
        high <= low * 1.10,
        "failed-login medians differ by more than 10 %: {}",
        report.join(", ")
    );
}

/// #13.1: importing a users file never changes an existing user unless asked (`--update`), and
/// then the changed users' earlier tokens stop working.
#[tokio::test]
async fn an_update_import_cuts_off_changed_users_and_a_plain_one_changes_nothing() {
    use tokenward::store::{ImportMode, import_users};
    let hasher = cheap_hasher();
    let (users, _) = with_alice(&hasher).await;
    let revocation = Arc::new(MemoryRevocation::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let issuer = TokenIssuer::builder(codec(clock), users.clone(), revocation.clone())
        .password_hasher(hasher.clone())
        .build()
        .unwrap();
    let pair = issuer
        .login("alice", &secret("alice password"), None)
        .await
        .unwrap();
    let file = vec![user(
        "alice",
        hasher.hash(&secret("replaced password")).unwrap(),
    )];

    let report = import_users(
        users.as_ref(),
        revocation.as_ref(),
        file.clone(),
        ImportMode::InsertMissing,
    )
    .await
    .unwrap();
    assert_eq!((report.created, report.unchanged), (0, 1));
    issuer
        .validate(pair.access_token.expose_secret())
        .await
        .unwrap();
    issuer
        .login("alice", &secret("alice password"), None)
        .await
        .unwrap();

    let report = import_users(
        users.as_ref(),
        revocation.as_ref(),
        file,
        ImportMode::Update,
    )
    .await
    .unwrap();
    assert_eq!(report.security_changed.len(), 1);
    assert!(matches!(
        issuer.validate(pair.access_token.expose_secret()).await,
        Err(Error::InvalidToken(Rejection::CutOff))
    ));
    assert!(matches!(
        issuer.login("alice", &secret("alice password"), None).await,
        Err(Error::InvalidCredentials)
    ));
    issuer
        .login("alice", &secret("replaced password"), None)
        .await
        .unwrap();
}

/// Review finding: a password change verified against a hash that an administrator replaced
/// meanwhile does not overwrite the administrator's password (compare-and-set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_racing_a_reset_does_not_win() {
    let users = PausingUsers::new(PauseAt::ById);
    let hasher = cheap_hasher();
    let alice = users
        .upsert(user(
            "alice",
            hasher.hash(&secret("alice password")).unwrap(),
        ))
        .await
        .unwrap()
        .id;
    let (issuer, _) = issuer(users.clone(), hasher, 100);
    users.armed.store(true, Ordering::SeqCst);
    let change = {
        let (issuer, alice) = (issuer.clone(), alice.clone());
        tokio::spawn(async move {
            issuer
                .change_password(
                    &alice,
                    &secret("alice password"),
                    &secret("the attacker's passphrase 1"),
                )
                .await
        })
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), users.reached.notified())
        .await
        .expect("the change reaches the pause");
    issuer
        .set_password(&alice, &secret("the administrator's reset 2"))
        .await
        .unwrap();
    users.release.notify_one();
    let result = change.await.unwrap();
    assert!(
        matches!(result, Err(Error::InvalidCredentials)),
        "{result:?}"
    );
    issuer
        .login("alice", &secret("the administrator's reset 2"), None)
        .await
        .unwrap();
}

/// Review finding: a store outage answers an unknown username as it answers a known one (503),
/// since both make the same store calls.
#[tokio::test]
async fn an_outage_does_not_tell_unknown_users_from_known_ones() {
    use tokenward::store::{Issuance, RevocationQuery, RevocationStatus, TokenRevocation};
    struct DownRevocation;
    #[async_trait]
    impl TokenRevocation for DownRevocation {
        async fn revoke_token(&self, _: &str, _: i64) -> Result<(), StoreError> {
            down()
        }
        async fn revoke_session(&self, _: &str, _: i64) -> Result<(), StoreError> {
            down()
        }
        async fn bump_user_generation(&self, _: &str) -> Result<u64, StoreError> {
            down()
        }
        async fn issuance(&self, _: &str) -> Result<Issuance, StoreError> {
            down()
        }
        async fn consume_refresh(&self, _: &str, _: i64) -> Result<bool, StoreError> {
            down()
        }
        async fn check(&self, _: RevocationQuery<'_>) -> Result<RevocationStatus, StoreError> {
            down()
        }
        async fn ping(&self) -> Result<(), StoreError> {
            down()
        }
    }
    let hasher = cheap_hasher();
    let (users, _) = with_alice(&hasher).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let issuer = TokenIssuer::builder(codec(clock), users, Arc::new(DownRevocation))
        .password_hasher(hasher)
        .build()
        .unwrap();
    for name in ["alice", "nobody"] {
        let result = issuer.login(name, &secret("some password"), None).await;
        assert!(
            matches!(result, Err(Error::Unavailable(_))),
            "{name}: {result:?}"
        );
    }
}
