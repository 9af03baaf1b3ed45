//! One conformance suite for every store backend: the same assertions against memory, SQLite,
//! and (when their URLs are set) PostgreSQL and Redis.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokenward::clock::{Clock, ManualClock};
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, HashFormat, PasswordHash, PasswordHasher};
use tokenward::store::memory::MemoryUserStore;
use tokenward::store::{
    Admission, ImportMode, LoginThrottle, RevocationQuery, StoreError, ThrottlePolicy,
    TokenRevocation, User, UserLookup, UserStore,
};
use tokenward::token::Scopes;
use tokenward::token::{MAX_LEEWAY, TokenCodec};
use tokenward::{Error, Rejection, TokenIssuer, TokenPair};

fn hash(password: &str) -> PasswordHash {
    PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap()
        .hash(&SecretString::from(password.to_owned()))
        .unwrap()
}

fn user(name: &str) -> User {
    User {
        id: String::new(),
        username: name.into(),
        password_hash: hash("first password"),
        scopes: Scopes::parse("items:read").unwrap(),
        disabled: false,
        full_name: Some(format!("{name} Example")),
        email: None,
    }
}

/// A unique prefix per test, so tests sharing a database or Redis never see each other's keys.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", tokenward_test_id())
}

fn tokenward_test_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    )
}

pub async fn users_crud(users: Arc<dyn UserStore>) {
    let name = unique("alice");
    let created = users.upsert(user(&name)).await.unwrap();
    assert!(!created.id.is_empty(), "the store assigns an id");
    let by_name = users.find_by_username(&name).await.unwrap().unwrap();
    let by_id = users.find_by_id(&created.id).await.unwrap().unwrap();
    assert_eq!(by_name.id, created.id);
    assert_eq!(by_id.username, name);
    assert_eq!(by_id.scopes, Scopes::parse("items:read").unwrap());
    assert_eq!(
        by_id.full_name.as_deref(),
        Some(format!("{name} Example").as_str())
    );
    assert_eq!(by_id.email, None);
    assert_eq!(by_id.password_hash.format(), HashFormat::Argon2id);

    // Upsert by username keeps the id and replaces the rest.
    let mut changed = user(&name);
    changed.scopes = Scopes::parse("items:read items:write").unwrap();
    changed.email = Some("a@example.com".into());
    let updated = users.upsert(changed).await.unwrap();
    assert_eq!(updated.id, created.id);
    let reread = users.find_by_id(&created.id).await.unwrap().unwrap();
    assert_eq!(reread.scopes.to_string(), "items:read items:write");
    assert_eq!(reread.email.as_deref(), Some("a@example.com"));

    assert!(
        users
            .find_by_username(&unique("nobody"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(users.find_by_id("no-such-id").await.unwrap().is_none());
}

pub async fn users_list_in_pages(users: Arc<dyn UserStore>) {
    users.ping().await.unwrap();
    let prefix = unique("list");
    for name in ["c", "a", "b"] {
        users
            .upsert(user(&format!("{prefix}-{name}")))
            .await
            .unwrap();
    }
    // Page through everything two at a time; other tests may share the store.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = users.list(after.as_deref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.username.clone());
        seen.extend(page.into_iter().map(|u| u.username));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "pages come in username order");
    let ours: Vec<&String> = seen.iter().filter(|n| n.starts_with(&prefix)).collect();
    assert_eq!(
        ours,
        ["a", "b", "c"]
            .map(|n| format!("{prefix}-{n}"))
            .iter()
            .collect::<Vec<_>>()
    );
    assert!(users.list(None, 0).await.unwrap().is_empty());

    // By email (the upstream login's verified-email match): exact bytes, at most `limit`.
    let email = format!("{prefix}@example.com");
    for name in ["a", "b"] {
        let mut with_email = user(&format!("{prefix}-{name}"));
        with_email.email = Some(email.clone());
        users.upsert(with_email).await.unwrap();
    }
    let found = users.find_by_email(&email, 5).await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.username.clone()).collect::<Vec<_>>(),
        [format!("{prefix}-a"), format!("{prefix}-b")]
    );
    assert_eq!(users.find_by_email(&email, 1).await.unwrap().len(), 1);
    assert!(
        users
            .find_by_email(&email.to_uppercase(), 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(users.find_by_email("", 5).await.unwrap().is_empty());
}

/// A store holding both users and revocations answers the user question in the same check.
pub async fn check_with_user_answers_for_its_own_users<S: UserStore + TokenRevocation>(store: S) {
    let created = store.upsert(user(&unique("erin"))).await.unwrap();
    let jti = unique("jti");
    let query = |user_id| RevocationQuery {
        jti: &jti,
        session_id: "no-such-session",
        user_id,
    };
    let (status, lookup) = store.check_with_user(query(&created.id)).await.unwrap();
    let UserLookup::Found(found) = lookup else {
        panic!("user not found: {lookup:?}")
    };
    assert_eq!(found.username, created.username);
    assert_eq!(found.scopes, created.scopes);
    assert!(!found.disabled);
    assert!(!status.token_revoked);
    store.revoke_token(&jti, 4_000_000_000).await.unwrap();
    store.bump_user_generation(&created.id).await.unwrap();
    store.set_disabled(&created.id, true).await.unwrap();
    let (status, lookup) = store.check_with_user(query(&created.id)).await.unwrap();
    assert!(
        matches!(lookup, UserLookup::Found(ref user) if user.disabled),
        "{lookup:?}"
    );
    assert!(status.token_revoked);
    assert_eq!(status.user_generation, 1);
    assert_eq!(store.check(query(&created.id)).await.unwrap(), status);
    let (_, lookup) = store.check_with_user(query("no-such-user")).await.unwrap();
    assert!(matches!(lookup, UserLookup::Missing), "{lookup:?}");
}

pub async fn users_rehash_and_disable(users: Arc<dyn UserStore>) {
    let created = users.upsert(user(&unique("bob"))).await.unwrap();
    let bcrypt = PasswordHash::parse(bcrypt::hash("second password", 4).unwrap()).unwrap();
    users
        .update_password_hash(&created.id, &bcrypt)
        .await
        .unwrap();
    let reread = users.find_by_id(&created.id).await.unwrap().unwrap();
    assert_eq!(reread.password_hash.format(), HashFormat::Bcrypt);
    assert_eq!(reread.password_hash.expose_secret(), bcrypt.expose_secret());

    users.set_disabled(&created.id, true).await.unwrap();
    assert!(
        users
            .find_by_id(&created.id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    users.set_disabled(&created.id, false).await.unwrap();
    assert!(
        !users
            .find_by_id(&created.id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    assert_eq!(
        users.update_password_hash("no-such-id", &bcrypt).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        users.set_disabled("no-such-id", true).await,
        Err(StoreError::NotFound)
    );
}

pub async fn revocation_by_jti_sid_and_generation(rev: Arc<dyn TokenRevocation>) {
    let (jti, sid, user) = (unique("jti"), unique("sid"), unique("user"));
    let query = RevocationQuery {
        jti: &jti,
        session_id: &sid,
        user_id: &user,
    };
    let far = 4_000_000_000;
    let clean = rev.check(query).await.unwrap();
    assert!(!clean.token_revoked && !clean.session_revoked);
    assert_eq!(clean.user_generation, 0);

    rev.revoke_token(&jti, far).await.unwrap();
    rev.revoke_token(&jti, far).await.unwrap(); // idempotent
    let status = rev.check(query).await.unwrap();
    assert!(status.token_revoked && !status.session_revoked);

    rev.revoke_session(&sid, far).await.unwrap();
    assert!(rev.check(query).await.unwrap().session_revoked);

    assert_eq!(rev.issuance(&user).await.unwrap().generation, 0);
    assert_eq!(rev.bump_user_generation(&user).await.unwrap(), 1);
    assert_eq!(rev.bump_user_generation(&user).await.unwrap(), 2);
    let issuance = rev.issuance(&user).await.unwrap();
    assert_eq!(issuance.generation, 2);
    let status = rev.check(query).await.unwrap();
    assert_eq!(status.user_generation, 2);
    // The epoch tokens get is the one every check reports.
    assert_ne!(issuance.epoch, 0);
    assert_eq!(status.epoch, Some(issuance.epoch));

    // Other ids are untouched.
    let (other_jti, other_sid, other_user) = (unique("jti"), unique("sid"), unique("user"));
    let other = rev
        .check(RevocationQuery {
            jti: &other_jti,
            session_id: &other_sid,
            user_id: &other_user,
        })
        .await
        .unwrap();
    assert!(!other.token_revoked && !other.session_revoked);
    assert_eq!(other.user_generation, 0);
}

pub async fn revocation_ping(revocation: Arc<dyn TokenRevocation>) {
    revocation.ping().await.unwrap();
}

pub async fn refresh_consumed_once(rev: Arc<dyn TokenRevocation>) {
    let jti = unique("refresh");
    assert!(rev.consume_refresh(&jti, 4_000_000_000).await.unwrap());
    assert!(!rev.consume_refresh(&jti, 4_000_000_000).await.unwrap());
    assert!(!rev.consume_refresh(&jti, 4_000_000_000).await.unwrap());
}

pub async fn hundred_concurrent_consumes_one_wins(rev: Arc<dyn TokenRevocation>) {
    let jti = unique("race");
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (rev, jti) = (rev.clone(), jti.clone());
        tasks.push(tokio::spawn(async move {
            rev.consume_refresh(&jti, 4_000_000_000).await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

pub async fn throttle_windows(throttle: Arc<dyn LoginThrottle>) {
    let policy = ThrottlePolicy {
        max_failures: 3,
        window_secs: 60,
    };
    let (key, other) = (unique("user"), unique("user"));
    let t0 = 1_800_000_000;
    assert_eq!(throttle.locked_for(&key, t0, policy).await.unwrap(), None);
    for i in 0..3 {
        assert_eq!(
            throttle.attempt(&key, t0 + i, policy).await.unwrap(),
            Admission::Admitted
        );
    }
    assert_eq!(
        throttle.locked_for(&key, t0 + 10, policy).await.unwrap(),
        Some(50)
    );
    // Refused attempts do not extend the window.
    for _ in 0..3 {
        assert_eq!(
            throttle.attempt(&key, t0 + 10, policy).await.unwrap(),
            Admission::Locked {
                retry_after_secs: 50
            }
        );
    }
    assert_eq!(
        throttle.locked_for(&other, t0 + 10, policy).await.unwrap(),
        None
    );
    // The window ends: unlocked, and the next attempt starts a new window.
    assert_eq!(
        throttle.locked_for(&key, t0 + 60, policy).await.unwrap(),
        None
    );
    for t in [61, 62, 63] {
        assert_eq!(
            throttle.attempt(&key, t0 + t, policy).await.unwrap(),
            Admission::Admitted
        );
    }
    assert_eq!(
        throttle.locked_for(&key, t0 + 64, policy).await.unwrap(),
        Some(57)
    );
    throttle.clear(&key).await.unwrap();
    assert_eq!(
        throttle.locked_for(&key, t0 + 64, policy).await.unwrap(),
        None
    );
    assert_eq!(
        throttle.attempt(&key, t0 + 64, policy).await.unwrap(),
        Admission::Admitted
    );

    // A success gives its attempt back while the window runs: one more attempt fits.
    let key = unique("released");
    for _ in 0..3 {
        assert_eq!(
            throttle.attempt(&key, t0, policy).await.unwrap(),
            Admission::Admitted
        );
    }
    throttle.release(&key, t0 + 1, policy).await.unwrap();
    assert_eq!(
        throttle.locked_for(&key, t0 + 1, policy).await.unwrap(),
        None
    );
    assert_eq!(
        throttle.attempt(&key, t0 + 1, policy).await.unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        throttle.attempt(&key, t0 + 1, policy).await.unwrap(),
        Admission::Locked {
            retry_after_secs: 59
        }
    );
    // Never below zero: releases of nothing give nothing extra.
    let empty = unique("released");
    for _ in 0..5 {
        throttle.release(&empty, t0, policy).await.unwrap();
    }
    for _ in 0..3 {
        assert_eq!(
            throttle.attempt(&empty, t0, policy).await.unwrap(),
            Admission::Admitted
        );
    }
    assert!(matches!(
        throttle.attempt(&empty, t0, policy).await.unwrap(),
        Admission::Locked { .. }
    ));
    // After its window a release changes nothing: the next window starts afresh anyway.
    throttle.release(&empty, t0 + 60, policy).await.unwrap();
    assert_eq!(
        throttle.locked_for(&empty, t0 + 59, policy).await.unwrap(),
        Some(1)
    );
}

/// Issue #12.1: 50 attempts at once for one key, limit 5: exactly 5 admitted, whatever the
/// interleaving (a read-then-write throttle admits all 50).
pub async fn concurrent_attempts_admit_exactly_the_limit(throttle: Arc<dyn LoginThrottle>) {
    let policy = ThrottlePolicy {
        max_failures: 5,
        window_secs: 60,
    };
    let key = unique("storm");
    let now = 1_800_000_000;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (throttle, key) = (throttle.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            throttle.attempt(&key, now, policy).await
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Admission::Admitted => admitted += 1,
            Admission::Locked { retry_after_secs } => assert_eq!(retry_after_secs, 60),
        }
    }
    assert_eq!(admitted, 5);
}

/// Issue #12.5: an entry is kept until the time it was given, not dropped at some earlier
/// point; `prune` is the backend's own clean-up as of a unix time.
pub async fn entries_live_until_their_expiry<F, Fut>(rev: Arc<dyn TokenRevocation>, prune: F)
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (jti, sid, used) = (unique("jti"), unique("sid"), unique("used"));
    rev.revoke_token(&jti, now + 30).await.unwrap();
    rev.revoke_session(&sid, now + 30).await.unwrap();
    assert!(rev.consume_refresh(&used, now + 30).await.unwrap());
    prune(now + 29).await;
    let query = RevocationQuery {
        jti: &jti,
        session_id: &sid,
        user_id: "u",
    };
    let status = rev.check(query).await.unwrap();
    assert!(status.token_revoked && status.session_revoked);
    assert!(!rev.consume_refresh(&used, now + 30).await.unwrap());
}

/// Issue #13.1: an import creates missing users and leaves existing ones exactly as they are,
/// unless asked to update them; then it reports which changed in a way that must cut off their
/// tokens.
pub async fn import_inserts_missing_and_updates_only_when_asked(users: Arc<dyn UserStore>) {
    let (a, b) = (unique("import-a"), unique("import-b"));
    let report = users
        .import(vec![user(&a), user(&b)], ImportMode::InsertMissing)
        .await
        .unwrap();
    assert_eq!((report.created, report.unchanged), (2, 0));
    let stored_a = users.find_by_username(&a).await.unwrap().unwrap();
    let stored_b = users.find_by_username(&b).await.unwrap().unwrap();

    // The file changes a's hash and b's email: a restart's import changes nothing.
    let mut new_a = stored_a.clone();
    new_a.password_hash = hash("second password");
    let mut new_b = stored_b.clone();
    new_b.email = Some("b@example.com".into());
    let file = vec![new_a.clone(), new_b.clone()];
    let report = users
        .import(file.clone(), ImportMode::InsertMissing)
        .await
        .unwrap();
    assert_eq!((report.created, report.unchanged), (0, 2));
    let kept = users.find_by_username(&a).await.unwrap().unwrap();
    assert_eq!(
        kept.password_hash.expose_secret(),
        stored_a.password_hash.expose_secret(),
        "an existing user's hash is never replaced without --update"
    );

    let report = users
        .import(file.clone(), ImportMode::Update)
        .await
        .unwrap();
    assert_eq!(report.security_changed, vec![stored_a.id.clone()]);
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 0)
    );
    let updated = users.find_by_username(&a).await.unwrap().unwrap();
    assert_eq!(updated.id, stored_a.id, "the id is kept");
    assert_eq!(
        updated.password_hash.expose_secret(),
        new_a.password_hash.expose_secret()
    );
    assert_eq!(
        users.find_by_username(&b).await.unwrap().unwrap().email,
        new_b.email
    );
    // The same file again: nothing to do.
    let report = users.import(file, ImportMode::Update).await.unwrap();
    assert_eq!((report.unchanged, report.updated), (2, 0));
    assert!(report.security_changed.is_empty());
}

/// Issue #13.1: two imports of one file at once (two instances starting together) end with one
/// row per user and one id each.
pub async fn concurrent_imports_make_one_row_per_user(
    first: Arc<dyn UserStore>,
    second: Arc<dyn UserStore>,
) {
    let prefix = unique("race");
    let file: Vec<User> = (0..20).map(|i| user(&format!("{prefix}-{i:02}"))).collect();
    let (one, two) = tokio::join!(
        first.import(file.clone(), ImportMode::InsertMissing),
        second.import(file, ImportMode::InsertMissing)
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.created + two.created, 20);
    assert_eq!(one.unchanged + two.unchanged, 20);
    let listed: Vec<User> = first
        .list(Some(&prefix), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.username.starts_with(&prefix))
        .collect();
    assert_eq!(listed.len(), 20);
}

/// An issuer over `rev`, with users in memory (alice, password "alice password"), HS256 keys,
/// the maximum leeway, and 15-minute access, refresh and session lifetimes.
struct IssuerEnv {
    issuer: TokenIssuer,
    users: Arc<MemoryUserStore>,
    keys: KeySet,
    clock: Arc<ManualClock>,
    alice: String,
}

async fn issuer_env(rev: Arc<dyn TokenRevocation>) -> IssuerEnv {
    let clock = Arc::new(ManualClock::starting_now());
    let keys = KeySet::generate(KeyAlgorithm::HS256).unwrap();
    let users = Arc::new(MemoryUserStore::new());
    let alice = users.upsert(user("alice")).await.unwrap().id;
    let issuer = issuer_with(&keys, &clock, users.clone(), rev);
    IssuerEnv {
        issuer,
        users,
        keys,
        clock,
        alice,
    }
}

fn issuer_with(
    keys: &KeySet,
    clock: &Arc<ManualClock>,
    users: Arc<MemoryUserStore>,
    rev: Arc<dyn TokenRevocation>,
) -> TokenIssuer {
    let codec = TokenCodec::builder(keys.clone(), "iss", "aud")
        .clock(clock.clone())
        .leeway(MAX_LEEWAY)
        .access_ttl(time::Duration::minutes(15))
        .build()
        .unwrap();
    TokenIssuer::builder(codec, users, rev)
        .password_hasher(
            PasswordHasher::builder()
                .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
                .build()
                .unwrap(),
        )
        .refresh_ttl(time::Duration::minutes(15))
        .session_lifetime(time::Duration::minutes(15))
        .build()
        .unwrap()
}

async fn alice_login(issuer: &TokenIssuer) -> TokenPair {
    issuer
        .login("alice", &SecretString::from("first password"), None)
        .await
        .unwrap()
}

fn refused(result: Result<(), Error>) -> Rejection {
    match result {
        Err(Error::InvalidToken(r) | Error::InvalidGrant(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn validate(issuer: &TokenIssuer, pair: &TokenPair) -> Result<(), Error> {
    issuer
        .validate(pair.access_token.expose_secret())
        .await
        .map(drop)
}

async fn refresh(issuer: &TokenIssuer, pair: &TokenPair) -> Result<TokenPair, Error> {
    issuer
        .refresh(pair.refresh_token.expose_secret(), None)
        .await
}

/// Issue #12.3: the revocation store loses its state (`lose` flushes or replaces it and returns
/// the store to use from then on). No token issued before works afterwards: not the revoked
/// one, not the used refresh token, not the cut-off one, and not the ones that were still
/// valid, since whether they were revoked is no longer known. Logins afterwards work at once.
pub async fn lost_state_refuses_every_earlier_token<F, Fut>(
    before: Arc<dyn TokenRevocation>,
    lose: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn TokenRevocation>>,
{
    let env = issuer_env(before).await;
    let issuer = &env.issuer;
    let revoked = alice_login(issuer).await;
    issuer
        .revoke(revoked.access_token.expose_secret(), None)
        .await
        .unwrap();
    let used = alice_login(issuer).await;
    let rotated = refresh(issuer, &used).await.unwrap();
    let live = alice_login(issuer).await;
    validate(issuer, &live).await.unwrap();
    issuer.logout_all(&env.alice).await.unwrap();
    let after_cutoff = alice_login(issuer).await;
    validate(issuer, &after_cutoff).await.unwrap();

    let after = lose().await;
    let issuer = issuer_with(&env.keys, &env.clock, env.users.clone(), after);
    for (what, pair) in [
        ("revoked", &revoked),
        ("rotated", &rotated),
        ("live", &live),
        ("after cutoff", &after_cutoff),
    ] {
        assert_eq!(
            refused(validate(&issuer, pair).await),
            Rejection::StoreEpoch,
            "{what} access token"
        );
    }
    for (what, pair) in [("used", &used), ("rotated", &rotated), ("live", &live)] {
        assert_eq!(
            refused(refresh(&issuer, pair).await.map(drop)),
            Rejection::StoreEpoch,
            "{what} refresh token"
        );
    }
    let fresh = alice_login(&issuer).await;
    validate(&issuer, &fresh).await.unwrap();
    let next = refresh(&issuer, &fresh).await.unwrap();
    validate(&issuer, &next).await.unwrap();
}

/// Issue #12.5: tokens are accepted until `exp + leeway`, so revocations and used-refresh
/// markers are kept at least that long; and an access token never outlives its session.
/// `prune` is the backend's own clean-up as of a unix time.
pub async fn revocations_outlive_the_leeway<F, Fut>(rev: Arc<dyn TokenRevocation>, prune: F)
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let env = issuer_env(rev).await;
    let issuer = &env.issuer;
    let pair = alice_login(issuer).await;
    let session_end = pair.access_claims.exp;
    issuer
        .revoke(pair.access_token.expose_secret(), None)
        .await
        .unwrap();
    env.clock.advance(time::Duration::minutes(5));
    let next = refresh(issuer, &pair).await.unwrap();
    assert_eq!(
        next.access_claims.exp, session_end,
        "an access token issued 5 minutes into a 15-minute session ends with the session"
    );
    // Past expiry, within the leeway every validator still grants.
    env.clock.set(
        time::OffsetDateTime::from_unix_timestamp(session_end + MAX_LEEWAY.whole_seconds() / 2)
            .unwrap(),
    );
    prune(env.clock.now().unix_timestamp()).await;
    assert_eq!(refused(validate(issuer, &pair).await), Rejection::Revoked);
    assert_eq!(
        refused(refresh(issuer, &pair).await.map(drop)),
        Rejection::RefreshReused,
        "a used refresh token is still known as used"
    );
}

/// Instantiates the suite for one backend: the user-store part if `users` is given, the
/// revocation and throttle parts always. The arguments are async expressions building fresh
/// store handles; `attr`s (an `#[ignore = ...]` for backends that need a service) go on every
/// generated test.
macro_rules! conformance {
    ($backend:ident, $(#[$attr:meta])* users: $users:expr, revocation: $rev:expr, throttle: $throttle:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn users_crud() {
                super::users_crud($users).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn users_list_in_pages() {
                super::users_list_in_pages($users).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn users_rehash_and_disable() {
                super::users_rehash_and_disable($users).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn import_inserts_missing_and_updates_only_when_asked() {
                super::import_inserts_missing_and_updates_only_when_asked($users).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revocation_by_jti_sid_and_generation() {
                super::revocation_by_jti_sid_and_generation($rev).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revocation_ping() {
                super::revocation_ping($rev).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refresh_consumed_once() {
                super::refresh_consumed_once($rev).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn hundred_concurrent_consumes_one_wins() {
                super::hundred_concurrent_consumes_one_wins($rev).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn throttle_windows() {
                super::throttle_windows($throttle).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_attempts_admit_exactly_the_limit() {
                super::concurrent_attempts_admit_exactly_the_limit($throttle).await
            }
        }
    };
    ($backend:ident, $(#[$attr:meta])* revocation: $rev:expr, throttle: $throttle:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revocation_by_jti_sid_and_generation() {
                super::revocation_by_jti_sid_and_generation($rev).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revocation_ping() {
                super::revocation_ping($rev).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refresh_consumed_once() {
                super::refresh_consumed_once($rev).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn hundred_concurrent_consumes_one_wins() {
                super::hundred_concurrent_consumes_one_wins($rev).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn throttle_windows() {
                super::throttle_windows($throttle).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_attempts_admit_exactly_the_limit() {
                super::concurrent_attempts_admit_exactly_the_limit($throttle).await
            }
        }
    };
}

mod memory_backend {
    use super::*;
    use tokenward::store::memory::{MemoryRevocation, MemoryThrottle};

    fn users() -> Arc<dyn UserStore> {
        Arc::new(MemoryUserStore::new())
    }
    fn rev() -> Arc<dyn TokenRevocation> {
        Arc::new(MemoryRevocation::new())
    }
    fn throttle() -> Arc<dyn LoginThrottle> {
        Arc::new(MemoryThrottle::new())
    }

    conformance!(memory, users: users(), revocation: rev(), throttle: throttle());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_imports_make_one_row_per_user() {
        let store = users();
        super::concurrent_imports_make_one_row_per_user(store.clone(), store).await;
    }

    #[tokio::test]
    async fn restart_refuses_every_earlier_token() {
        let before: Arc<dyn TokenRevocation> = Arc::new(MemoryRevocation::new());
        lost_state_refuses_every_earlier_token(before, || async {
            Arc::new(MemoryRevocation::new()) as Arc<dyn TokenRevocation>
        })
        .await;
    }

    /// After restoring a backup, the operator rotates the epoch (`tokenward users
    /// rotate-epoch`): the same store, every earlier token refused.
    #[tokio::test]
    async fn rotating_the_epoch_refuses_every_earlier_token() {
        let store: Arc<dyn TokenRevocation> = Arc::new(MemoryRevocation::new());
        let same = store.clone();
        lost_state_refuses_every_earlier_token(store, || async move {
            same.rotate_epoch().await.unwrap();
            same
        })
        .await;
    }

    #[tokio::test]
    async fn revocations_outlive_the_leeway() {
        let store = Arc::new(MemoryRevocation::new());
        let pruned = store.clone();
        super::revocations_outlive_the_leeway(store, |now| {
            let pruned = pruned.clone();
            async move {
                pruned.prune_expired(now).unwrap();
            }
        })
        .await;
    }

    #[tokio::test]
    async fn separate_stores_leave_the_user_question_to_the_user_store() {
        let query = RevocationQuery {
            jti: "j",
            session_id: "s",
            user_id: "u",
        };
        let (_, user) = MemoryRevocation::new()
            .check_with_user(query)
            .await
            .unwrap();
        assert!(matches!(user, UserLookup::NotHeld));
    }
}

#[cfg(feature = "sqlite")]
mod sqlite_backend {
    use super::*;
    use tokenward::store::sqlite::SqliteStore;

    /// A fresh database file per test (kept alive by leaking its directory for the test's life).
    async fn store() -> SqliteStore {
        let dir = tempfile::tempdir().unwrap().keep();
        SqliteStore::open(&format!("sqlite://{}", dir.join("tokenward.db").display()))
            .await
            .unwrap()
    }
    async fn users() -> Arc<dyn UserStore> {
        Arc::new(store().await)
    }
    async fn rev() -> Arc<dyn TokenRevocation> {
        Arc::new(store().await)
    }
    async fn throttle() -> Arc<dyn LoginThrottle> {
        Arc::new(store().await)
    }

    conformance!(sqlite, users: users().await, revocation: rev().await, throttle: throttle().await);

    /// Two store objects on one file, as two server processes have.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_imports_make_one_row_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("tokenward.db").display());
        let first = Arc::new(SqliteStore::open(&url).await.unwrap());
        let second = Arc::new(SqliteStore::open(&url).await.unwrap());
        super::concurrent_imports_make_one_row_per_user(first, second).await;
    }

    /// Issue #13.4: the database file holds password hashes: created owner-only, and SQLite
    /// gives its WAL the same permissions.
    #[cfg(unix)]
    #[tokio::test]
    async fn database_files_are_created_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenward.db");
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.upsert(user("someone")).await.unwrap();
        for file in [path.clone(), dir.path().join("tokenward.db-wal")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode & 0o077, 0, "{}: mode {mode:o}", file.display());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replaced_database_refuses_every_earlier_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenward.db");
        let url = format!("sqlite://{}", path.display());
        let before = Arc::new(SqliteStore::open(&url).await.unwrap());
        lost_state_refuses_every_earlier_token(before, || async {
            // A restored backup, a new volume: the file is gone and a new one is created.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Arc::new(SqliteStore::open(&url).await.unwrap()) as Arc<dyn TokenRevocation>
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rotating_the_epoch_refuses_every_earlier_token() {
        let store: Arc<dyn TokenRevocation> = Arc::new(store().await);
        let same = store.clone();
        lost_state_refuses_every_earlier_token(store, || async move {
            same.rotate_epoch().await.unwrap();
            same
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revocations_outlive_the_leeway() {
        let store = Arc::new(store().await);
        let pruned = store.clone();
        super::revocations_outlive_the_leeway(store, |now| {
            let pruned = pruned.clone();
            async move {
                pruned.prune_expired(now).await.unwrap();
            }
        })
        .await;
    }

    /// Issue #12.7: a row whose hash cannot be parsed answers a login like an unknown user
    /// (400), not with a 500 that tells the account exists.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_corrupt_hash_answers_like_an_unknown_user() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("tokenward.db").display());
        let store = Arc::new(SqliteStore::open(&url).await.unwrap());
        store.upsert(user("broken")).await.unwrap();
        let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("UPDATE users SET password_hash = 'not a hash' WHERE username = 'broken'")
            .execute(&raw)
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::HS256).unwrap(), "i", "a")
            .clock(clock)
            .build()
            .unwrap();
        let issuer = TokenIssuer::builder(codec, store.clone(), store)
            .build()
            .unwrap();
        for name in ["broken", "nobody"] {
            let result = issuer
                .login(name, &SecretString::from("first password"), None)
                .await;
            assert!(
                matches!(result, Err(Error::InvalidCredentials)),
                "{name}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn check_with_user_in_one_statement() {
        super::check_with_user_answers_for_its_own_users(store().await).await;
    }

    /// The issuer over one SQLite store takes the one-statement path; a disabled or re-enabled
    /// user is seen on the next validation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issuer_on_one_store_sees_user_state() {
        use tokenward::keys::{KeyAlgorithm, KeySet};
        use tokenward::token::TokenCodec;
        use tokenward::{Error, Rejection, TokenIssuer};

        let store = Arc::new(store().await);
        let alice = store.upsert(user("alice")).await.unwrap();
        let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::HS256).unwrap(), "i", "a")
            .build()
            .unwrap();
        let issuer = TokenIssuer::builder(codec, store.clone(), store.clone())
            .password_hasher(
                PasswordHasher::builder()
                    .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let pair = issuer
            .login("alice", &SecretString::from("first password"), None)
            .await
            .unwrap();
        let token = secrecy::ExposeSecret::expose_secret(&pair.access_token).to_owned();
        assert!(issuer.validate(&token).await.is_ok());
        let (_, user) = issuer.validate_user(&token).await.unwrap();
        assert_eq!(user.id, alice.id);
        store.set_disabled(&alice.id, true).await.unwrap();
        assert!(matches!(
            issuer.validate(&token).await,
            Err(Error::InvalidToken(Rejection::UserDisabled))
        ));
        store.set_disabled(&alice.id, false).await.unwrap();
        assert!(issuer.validate(&token).await.is_ok());
        issuer.revoke(&token, None).await.unwrap();
        assert!(matches!(
            issuer.validate(&token).await,
            Err(Error::InvalidToken(Rejection::Revoked))
        ));
    }

    #[tokio::test]
    async fn everything_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("persist.db").display());
        let policy = ThrottlePolicy {
            max_failures: 1,
            window_secs: 60,
        };
        let id = {
            let store = SqliteStore::open(&url).await.unwrap();
            let created = store.upsert(user("persistent")).await.unwrap();
            store.revoke_token("jti-1", 4_000_000_000).await.unwrap();
            store.revoke_session("sid-1", 4_000_000_000).await.unwrap();
            assert!(
                store
                    .consume_refresh("refresh-1", 4_000_000_000)
                    .await
                    .unwrap()
            );
            store.bump_user_generation(&created.id).await.unwrap();
            for _ in 0..policy.max_failures {
                store
                    .attempt("persistent", 1_800_000_000, policy)
                    .await
                    .unwrap();
            }
            created.id
        };
        let store = SqliteStore::open(&url).await.unwrap();
        assert_eq!(
            store.find_by_id(&id).await.unwrap().unwrap().username,
            "persistent"
        );
        let status = store
            .check(RevocationQuery {
                jti: "jti-1",
                session_id: "sid-1",
                user_id: &id,
            })
            .await
            .unwrap();
        assert!(status.token_revoked && status.session_revoked);
        assert_eq!(status.user_generation, 1);
        assert!(
            !store
                .consume_refresh("refresh-1", 4_000_000_000)
                .await
                .unwrap()
        );
        assert!(
            store
                .locked_for("persistent", 1_800_000_001, policy)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn expired_rows_are_pruned() {
        let store = store().await;
        store.revoke_token("old", 100).await.unwrap();
        store.revoke_token("new", 4_000_000_000).await.unwrap();
        assert!(store.consume_refresh("old-refresh", 100).await.unwrap());
        store
            .attempt("old-user", 100, ThrottlePolicy::default())
            .await
            .unwrap();
        let removed = store.prune_expired(1_800_000_000).await.unwrap();
        assert_eq!(removed, 3);
        let query = |jti| RevocationQuery {
            jti,
            session_id: "s",
            user_id: "u",
        };
        assert!(!store.check(query("old")).await.unwrap().token_revoked);
        assert!(store.check(query("new")).await.unwrap().token_revoked);
        // A pruned refresh id had expired, so its token could not be presented any more anyway.
        assert!(store.consume_refresh("old-refresh", 100).await.unwrap());
    }

    #[tokio::test]
    async fn open_errors_name_the_problem() {
        let err = SqliteStore::open("sqlite:///nonexistent-dir/sub/tokenward.db")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)));
        assert!(err.to_string().contains("nonexistent-dir"), "{err}");
        let err = SqliteStore::open("mysql://nope").await.unwrap_err();
        assert!(matches!(err, StoreError::Config(_)), "{err:?}");
        assert!(err.to_string().contains("mysql://nope"), "{err}");
    }
}

#[cfg(feature = "redis")]
mod redis_backend {
    use std::net::TcpListener;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use super::*;
    use tokenward::store::redis::RedisStore;

    /// The Redis these tests use. They are `#[ignore]`d by default, so reaching here means they
    /// were asked for: a missing URL is a failure, not a silent pass.
    fn url() -> String {
        std::env::var("TOKENWARD_TEST_REDIS_URL")
            .expect("set TOKENWARD_TEST_REDIS_URL (redis://127.0.0.1:6379) to run the Redis tests")
    }

    async fn store() -> RedisStore {
        RedisStore::open(&url(), &unique("tokenward-test"))
            .await
            .unwrap()
    }
    async fn rev() -> Arc<dyn TokenRevocation> {
        Arc::new(store().await)
    }
    async fn throttle() -> Arc<dyn LoginThrottle> {
        Arc::new(store().await)
    }

    // Redis holds no users: only the revocation and throttle parts apply.
    conformance!(redis, #[ignore = "needs Redis: set TOKENWARD_TEST_REDIS_URL, run with --ignored"]
        revocation: rev().await, throttle: throttle().await);

    /// Deletes every key under `prefix`: what `FLUSHALL` does to this store, without touching
    /// the keys of tests running beside it.
    async fn flush_prefix(url: &str, prefix: &str) {
        let client = ::redis::Client::open(url).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: i64 = ::redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut connection)
                .await
                .unwrap();
        }
    }

    #[ignore = "needs Redis: set TOKENWARD_TEST_REDIS_URL, run with --ignored"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flush_refuses_every_earlier_token() {
        let url = url();
        let prefix = unique("tokenward-test");
        let store: Arc<dyn TokenRevocation> =
            Arc::new(RedisStore::open(&url, &prefix).await.unwrap());
        let same = store.clone();
        lost_state_refuses_every_earlier_token(store, || async move {
            flush_prefix(&url, &prefix).await;
            same
        })
        .await;
    }

    #[ignore = "needs redis-server on PATH, run with --ignored"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn restart_without_persistence_refuses_every_earlier_token() {
        let port = free_port();
        let server = PrivateRedis::start(port).expect("start a private redis-server");
        let store: Arc<dyn TokenRevocation> =
            Arc::new(RedisStore::open(&server.url(), "restart").await.unwrap());
        let same = store.clone();
        let restarted = Arc::new(std::sync::Mutex::new(None));
        let keep = restarted.clone();
        lost_state_refuses_every_earlier_token(store, || async move {
            drop(server);
            let server = PrivateRedis::start(port).expect("restart redis-server");
            *keep.lock().unwrap() = Some(server);
            // The same store object reconnects by itself.
            let deadline = Instant::now() + Duration::from_secs(10);
            while same.ping().await.is_err() {
                assert!(Instant::now() < deadline, "no reconnection");
                tokio::task::yield_now().await;
            }
            same
        })
        .await;
    }

    #[ignore = "needs Redis: set TOKENWARD_TEST_REDIS_URL, run with --ignored"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revocations_outlive_the_leeway() {
        let url = url();
        let prefix = unique("tokenward-test");
        let store = Arc::new(RedisStore::open(&url, &prefix).await.unwrap());
        // Redis expires keys by itself, in real time: check the expiry it was given.
        let env = issuer_env(store.clone()).await;
        let pair = alice_login(&env.issuer).await;
        env.issuer
            .revoke(pair.access_token.expose_secret(), None)
            .await
            .unwrap();
        refresh(&env.issuer, &pair).await.unwrap();
        let client = ::redis::Client::open(url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let leeway = MAX_LEEWAY.whole_seconds();
        let refresh_jti = env
            .issuer
            .codec()
            .validate_refresh(pair.refresh_token.expose_secret())
            .unwrap()
            .jti
            .clone();
        for (key, exp) in [
            (
                format!("{prefix}:revoked:{}", pair.access_claims.jti),
                pair.access_claims.exp,
            ),
            (
                format!("{prefix}:used:{refresh_jti}"),
                pair.access_claims.exp,
            ),
        ] {
            let expires: i64 = ::redis::cmd("EXPIRETIME")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap();
            assert!(
                expires >= exp + leeway,
                "{key}: {expires} < {exp} + {leeway}"
            );
        }
        super::revocations_outlive_the_leeway(store, |_| async {}).await;
    }

    #[ignore = "needs Redis: set TOKENWARD_TEST_REDIS_URL, run with --ignored"]
    #[tokio::test]
    async fn two_store_objects_see_each_others_writes_at_once() {
        let url = url();
        let prefix = unique("tokenward-shared");
        let a = RedisStore::open(&url, &prefix).await.unwrap();
        let b = RedisStore::open(&url, &prefix).await.unwrap();
        let query = RevocationQuery {
            jti: "j",
            session_id: "s",
            user_id: "u",
        };
        a.revoke_token("j", 4_000_000_000).await.unwrap();
        assert!(b.check(query).await.unwrap().token_revoked);
        b.revoke_session("s", 4_000_000_000).await.unwrap();
        a.bump_user_generation("u").await.unwrap();
        let status = b.check(query).await.unwrap();
        assert!(status.session_revoked);
        assert_eq!(status.user_generation, 1);
        assert!(a.consume_refresh("r", 4_000_000_000).await.unwrap());
        assert!(!b.consume_refresh("r", 4_000_000_000).await.unwrap());
        let policy = ThrottlePolicy {
            max_failures: 2,
            window_secs: 60,
        };
        a.attempt("user", 1_800_000_000, policy).await.unwrap();
        b.attempt("user", 1_800_000_001, policy).await.unwrap();
        assert!(
            a.locked_for("user", 1_800_000_002, policy)
                .await
                .unwrap()
                .is_some()
        );
        // A different prefix is a different namespace.
        let other = RedisStore::open(&url, &unique("tokenward-other"))
            .await
            .unwrap();
        assert!(!other.check(query).await.unwrap().token_revoked);
    }

    /// A private redis-server on a free port, killed on drop.
    struct PrivateRedis {
        child: Child,
        port: u16,
    }

    impl PrivateRedis {
        fn start(port: u16) -> Option<Self> {
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let started = Instant::now();
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if started.elapsed() > Duration::from_secs(10) {
                    return None;
                }
                std::thread::yield_now();
            }
            Some(Self { child, port })
        }

        fn url(&self) -> String {
            format!("redis://127.0.0.1:{}", self.port)
        }
    }

    impl Drop for PrivateRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[ignore = "needs redis-server on PATH, run with --ignored"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn outage_fails_closed_in_bounded_time_and_recovers() {
        let port = free_port();
        let server = PrivateRedis::start(port).expect("start a private redis-server");
        let timeout = Duration::from_millis(500);
        let store = RedisStore::open_with_timeout(&server.url(), "outage", timeout)
            .await
            .unwrap();
        store.revoke_token("j", 4_000_000_000).await.unwrap();
        let query = RevocationQuery {
            jti: "j",
            session_id: "s",
            user_id: "u",
        };
        assert!(store.check(query).await.unwrap().token_revoked);

        drop(server);
        let started = Instant::now();
        let down = store.check(query).await;
        assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
        assert!(matches!(
            store.consume_refresh("r", 4_000_000_000).await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            store.ping().await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );

        // Back on the same port (empty: this server keeps nothing), the same object works again.
        let _server = PrivateRedis::start(port).expect("restart redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        let recovered = loop {
            match store.check(query).await {
                Ok(status) => break status,
                Err(_) if Instant::now() < deadline => tokio::task::yield_now().await,
                Err(err) => panic!("no recovery: {err}"),
            }
        };
        assert!(
            !recovered.token_revoked,
            "a fresh server has no revocations"
        );
        assert_eq!(
            recovered.epoch, None,
            "nor the epoch, so no token issued before can match"
        );
        assert!(store.consume_refresh("r", 4_000_000_000).await.unwrap());

        // Nothing listening at all: open fails with an error naming the URL.
        let err = RedisStore::open_with_timeout(
            &format!("redis://127.0.0.1:{}", free_port()),
            "x",
            timeout,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
    }
}

#[cfg(feature = "postgres")]
mod postgres_backend {
    use std::time::{Duration, Instant};

    use super::*;
    use tokenward::store::postgres::PostgresStore;

    /// The PostgreSQL these tests use. They are `#[ignore]`d by default, so reaching here
    /// means they were asked for: a missing URL is a failure, not a silent pass.
    fn url() -> String {
        std::env::var("TOKENWARD_TEST_POSTGRES_URL").expect(
            "set TOKENWARD_TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests",
        )
    }

    /// A schema of its own per test: tests run in parallel against one database.
    fn schema() -> String {
        unique("tw_test").replace('-', "_").to_lowercase()
    }

    async fn store() -> PostgresStore {
        PostgresStore::open(&url(), Some(&schema())).await.unwrap()
    }
    async fn users() -> Arc<dyn UserStore> {
        Arc::new(store().await)
    }
    async fn rev() -> Arc<dyn TokenRevocation> {
        Arc::new(store().await)
    }
    async fn throttle() -> Arc<dyn LoginThrottle> {
        Arc::new(store().await)
    }

    conformance!(postgres, #[ignore = "needs PostgreSQL: set TOKENWARD_TEST_POSTGRES_URL, run with --ignored"]
        users: users().await, revocation: rev().await, throttle: throttle().await);

    #[ignore = "needs PostgreSQL: set TOKENWARD_TEST_POSTGRES_URL, run with --ignored"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_imports_make_one_row_per_user() {
        let schema = schema();
        let first = Arc::new(PostgresStore::open(&url(), Some(&schema)).await.unwrap());
        let second = Arc::new(PostgresStore::open(&url(), Some(&schema)).await.unwrap());
        super::concurrent_imports_make_one_row_per_user(first, second).await;
    }

    #[ignore = "needs PostgreSQL: set TOKENWARD_TEST_POSTGRES_URL, run with --ignored"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replaced_database_refuses_every_earlier_token() {
        let before = store().await;
        lost_state_refuses_every_earlier_token(Arc::new(before), || async {
            // A restored backup or a new cluster: the same code against an empty schema.
            Arc::new(store().await) as Arc<dyn TokenRevocation>
        })
        .await;
    }

    #[ignore = "needs PostgreSQL: set TOKENWARD_TEST_POSTGRES_URL, run with --ignored"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revocations_outlive_the_leeway() {
        let store = store().await;
        let store = Arc::new(store);
        let pruned = store.clone();
        super::revocations_outlive_the_leeway(store, |now| {
            let pruned = pruned.clone();
            async move {
                pruned.prune_expired(now).await.unwrap();
            }
        })
        .await;
    }

    #[ignore = "needs PostgreSQL: set TOKENWARD_TEST_POSTGRES_URL, run with --ignored"]
    #[tokio::test]
    async fn check_with_user_in_one_statement() {
        super::check_with_user_answers_for_its_own_users(store().await).await;
    }

    #[ignore = "needs PostgreSQL: set TOKENWARD_TEST_POSTGRES_URL, run with --ignored"]
    #[tokio::test]
    async fn two_store_objects_share_state_and_survive_a_reopen() {
        let url = url();
        let schema = schema();
        let a = PostgresStore::open(&url, Some(&schema)).await.unwrap();
        let b = PostgresStore::open(&url, Some(&schema)).await.unwrap();
        let created = a.upsert(user("shared")).await.unwrap();
        assert_eq!(
            b.find_by_username("shared").await.unwrap().unwrap().id,
            created.id
        );
        a.revoke_token("j", 4_000_000_000).await.unwrap();
        b.bump_user_generation(&created.id).await.unwrap();
        assert!(a.consume_refresh("r", 4_000_000_000).await.unwrap());
        assert!(!b.consume_refresh("r", 4_000_000_000).await.unwrap());
        drop((a, b));
        let reopened = PostgresStore::open(&url, Some(&schema)).await.unwrap();
        let status = reopened
            .check(RevocationQuery {
                jti: "j",
                session_id: "s",
                user_id: &created.id,
            })
            .await
            .unwrap();
        assert!(status.token_revoked);
        assert_eq!(status.user_generation, 1);
        // Another schema is another namespace.
        let other = PostgresStore::open(&url, Some(&super::postgres_backend::schema()))
            .await
            .unwrap();
        assert!(other.find_by_username("shared").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn unreachable_database_fails_in_bounded_time_without_leaking_the_password() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = Instant::now();
        let err = PostgresStore::open_with_timeout(
            &format!("postgres://app:s3cret@127.0.0.1:{port}/db"),
            None,
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        let text = err.to_string();
        assert!(matches!(err, StoreError::Unavailable(_)));
        assert!(
            text.contains("127.0.0.1") && !text.contains("s3cret"),
            "{text}"
        );
        // The schema is checked before connecting.
        assert!(
            PostgresStore::open(
                &format!("postgres://app@127.0.0.1:{port}/db"),
                Some("Bad-Schema")
            )
            .await
            .is_err()
        );
    }
}

mod open_from_url {
    use tokenward::store;

    #[tokio::test]
    async fn memory_and_sqlite_urls_open() {
        let stores = store::open("memory:", None).await.unwrap();
        assert!(stores.users.find_by_username("x").await.unwrap().is_none());
        #[cfg(feature = "sqlite")]
        {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("new.db").display());
            let stores = store::open(&url, None).await.unwrap();
            stores
                .revocation
                .revoke_token("j", 4_000_000_000)
                .await
                .unwrap();
            assert!(dir.path().join("new.db").exists(), "created if missing");
        }
    }

    #[tokio::test]
    async fn bad_urls_are_named_without_passwords() {
        for (database, redis, expected) in [
            (
                "mysql://root:hunter2@db/app",
                None,
                "mysql://root:***@db/app",
            ),
            ("tokenward.db", None, "tokenward.db"),
            (
                "memory:",
                Some("http://user:hunter2@cache"),
                "http://user:***@cache",
            ),
        ] {
            let err = store::open(database, redis).await.unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
