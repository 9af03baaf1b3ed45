//! TokenIssuer flows and attacks with in-memory stores and a manual clock.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHash, PasswordHasher};
use tokenward::store::memory::{MemoryRevocation, MemoryThrottle, MemoryUserStore};
use tokenward::store::{
    Admission, Issuance, LoginThrottle, RevocationQuery, RevocationStatus, StoreError,
    ThrottlePolicy, TokenRevocation, User, UserStore,
};
use tokenward::token::{Scopes, TokenCodec, TokenError, TokenSubject};
use tokenward::{Error, Rejection, TokenIssuer, TokenTypeHint};

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn scopes(s: &str) -> Scopes {
    Scopes::parse(s).unwrap()
}

struct Env {
    issuer: TokenIssuer,
    users: Arc<MemoryUserStore>,
    revocation: Arc<MemoryRevocation>,
    clock: Arc<ManualClock>,
    alice: String,
}

fn cheap_hasher() -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap()
}

async fn env() -> Env {
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    ));
    let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::HS256).unwrap(), "iss", "aud")
        .clock(clock.clone())
        .build()
        .unwrap();
    let users = Arc::new(MemoryUserStore::new());
    let hasher = cheap_hasher();
    let mut alice = None;
    for (name, scope, disabled) in [
        ("alice", "items:read items:write", false),
        ("bob", "items:read", false),
        ("mallory", "items:read", true),
    ] {
        let user = users
            .upsert(User {
                id: String::new(),
                username: name.into(),
                password_hash: hasher.hash(&secret(&format!("{name} password"))).unwrap(),
                scopes: scopes(scope),
                disabled,
                full_name: None,
                email: None,
            })
            .await
            .unwrap();
        if name == "alice" {
            alice = Some(user.id);
        }
    }
    let revocation = Arc::new(MemoryRevocation::new());
    let issuer = TokenIssuer::builder(codec, users.clone(), revocation.clone())
        .password_hasher(hasher)
        .throttle(
            Arc::new(MemoryThrottle::new()),
            ThrottlePolicy {
                max_failures: 3,
                window_secs: 60,
            },
        )
        .session_lifetime(Duration::days(30))
        .build()
        .unwrap();
    Env {
        issuer,
        users,
        revocation,
        clock,
        alice: alice.unwrap(),
    }
}

async fn login(e: &Env, user: &str) -> tokenward::TokenPair {
    e.issuer
        .login(user, &secret(&format!("{user} password")), None)
        .await
        .unwrap()
}

async fn validate(e: &Env, token: &SecretString) -> Result<(), Error> {
    e.issuer.validate(token.expose_secret()).await.map(|_| ())
}

fn rejection(result: Result<(), Error>) -> Rejection {
    match result {
        Err(Error::InvalidToken(r)) | Err(Error::InvalidGrant(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn login_grants_all_or_requested_scopes() {
    let e = env().await;
    let pair = login(&e, "alice").await;
    assert_eq!(pair.scope, scopes("items:read items:write"));
    assert_eq!(pair.expires_in, 900);
    let claims = e
        .issuer
        .validate(pair.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(
        claims.sub, e.alice,
        "sub is the stable id, not the username"
    );

    let narrow = e
        .issuer
        .login(
            "alice",
            &secret("alice password"),
            Some(&scopes("items:read")),
        )
        .await
        .unwrap();
    assert_eq!(narrow.scope, scopes("items:read"));
    let empty = e
        .issuer
        .login("alice", &secret("alice password"), Some(&Scopes::empty()))
        .await
        .unwrap();
    assert_eq!(empty.scope, scopes("items:read items:write"));
    match e
        .issuer
        .login(
            "bob",
            &secret("bob password"),
            Some(&scopes("items:write admin")),
        )
        .await
    {
        Err(Error::InvalidScope { missing }) => assert_eq!(missing, scopes("admin items:write")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unknown_wrong_and_disabled_are_indistinguishable() {
    let e = env().await;
    for (user, password) in [
        ("alice", "wrong password"),
        ("nobody", "whatever password"),
        ("mallory", "mallory password"),
        ("", "x"),
        (&"u".repeat(300) as &str, "x"),
        ("alice", ""),
        ("alice", &"p".repeat(5000) as &str),
    ] {
        let result = e.issuer.login(user, &secret(password), None).await;
        assert!(
            matches!(result, Err(Error::InvalidCredentials)),
            "{user}: {result:?}"
        );
    }
}

#[tokio::test]
async fn throttle_locks_a_username_and_expires_with_the_clock() {
    let e = env().await;
    for _ in 0..3 {
        assert!(matches!(
            e.issuer.login("bob", &secret("wrong"), None).await,
            Err(Error::InvalidCredentials)
        ));
    }
    // Locked: even the right password is not checked.
    match e.issuer.login("bob", &secret("bob password"), None).await {
        Err(Error::Throttled { retry_after_secs }) => assert!((1..=60).contains(&retry_after_secs)),
        other => panic!("{other:?}"),
    }
    // Another user is unaffected, and their success does not reset bob.
    login(&e, "alice").await;
    assert!(matches!(
        e.issuer.login("bob", &secret("bob password"), None).await,
        Err(Error::Throttled { .. })
    ));
    e.clock.advance(Duration::seconds(61));
    login(&e, "bob").await;
    // A success clears the counter.
    for _ in 0..2 {
        let _ = e.issuer.login("bob", &secret("wrong"), None).await;
    }
    login(&e, "bob").await;
    let _ = e.issuer.login("bob", &secret("wrong"), None).await;
    login(&e, "bob").await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family_only() {
    let e = env().await;
    let first = login(&e, "alice").await;
    let other_login = login(&e, "alice").await;

    let second = e
        .issuer
        .refresh(first.refresh_token.expose_secret(), None)
        .await
        .unwrap();
    assert_ne!(
        second.refresh_token.expose_secret(),
        first.refresh_token.expose_secret()
    );
    validate(&e, &second.access_token).await.unwrap();

    // Replay of the used refresh token: refused, and the whole family is revoked.
    let replay = e
        .issuer
        .refresh(first.refresh_token.expose_secret(), None)
        .await
        .map(|_| ());
    assert_eq!(rejection(replay), Rejection::RefreshReused);
    assert_eq!(
        rejection(validate(&e, &second.access_token).await),
        Rejection::SessionRevoked
    );
    assert_eq!(
        rejection(validate(&e, &first.access_token).await),
        Rejection::SessionRevoked
    );
    assert_eq!(
        rejection(
            e.issuer
                .refresh(second.refresh_token.expose_secret(), None)
                .await
                .map(|_| ())
        ),
        Rejection::SessionRevoked
    );
    // The same user's other login is untouched.
    validate(&e, &other_login.access_token).await.unwrap();
    e.issuer
        .refresh(other_login.refresh_token.expose_secret(), None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_refreshes_exactly_one_wins() {
    let e = env().await;
    let pair = login(&e, "alice").await;
    let token = pair.refresh_token.expose_secret().to_owned();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (issuer, token) = (e.issuer.clone(), token.clone());
        tasks.push(tokio::spawn(
            async move { issuer.refresh(&token, None).await },
        ));
    }
    let mut wins = Vec::new();
    let mut reused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(pair) => wins.push(pair),
            Err(Error::InvalidGrant(Rejection::RefreshReused))
            | Err(Error::InvalidGrant(Rejection::SessionRevoked)) => reused += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(wins.len(), 1);
    assert_eq!(reused, 99);
    // The losers' reuse revoked the family, the winner's tokens included.
    assert_eq!(
        rejection(validate(&e, &wins[0].access_token).await),
        Rejection::SessionRevoked
    );
}

#[tokio::test]
async fn refresh_scope_may_narrow_never_widen() {
    let e = env().await;
    let pair = e
        .issuer
        .login(
            "alice",
            &secret("alice password"),
            Some(&scopes("items:read")),
        )
        .await
        .unwrap();
    let widened = e
        .issuer
        .refresh(
            pair.refresh_token.expose_secret(),
            Some(&scopes("items:read items:write")),
        )
        .await;
    assert!(
        matches!(widened, Err(Error::InvalidScope { .. })),
        "{widened:?}"
    );
    // The refused request did not burn the token.
    let full = login(&e, "alice").await;
    let narrowed = e
        .issuer
        .refresh(
            full.refresh_token.expose_secret(),
            Some(&scopes("items:write")),
        )
        .await
        .unwrap();
    assert_eq!(narrowed.scope, scopes("items:write"));
    // The next refresh may go back up to the original grant.
    let again = e
        .issuer
        .refresh(narrowed.refresh_token.expose_secret(), None)
        .await
        .unwrap();
    assert_eq!(again.scope, scopes("items:read items:write"));
    e.issuer
        .refresh(pair.refresh_token.expose_secret(), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn token_kinds_never_substitute_for_each_other() {
    let e = env().await;
    let pair = login(&e, "alice").await;
    assert_eq!(
        rejection(validate(&e, &pair.refresh_token).await),
        Rejection::Token(TokenError::WrongType)
    );
    assert_eq!(
        rejection(
            e.issuer
                .refresh(pair.access_token.expose_secret(), None)
                .await
                .map(|_| ())
        ),
        Rejection::Token(TokenError::WrongType)
    );
}

#[tokio::test]
async fn revoke_follows_rfc_7009() {
    let e = env().await;
    let a = login(&e, "alice").await;
    let b = login(&e, "alice").await;
    // An access token alone.
    e.issuer
        .revoke(
            a.access_token.expose_secret(),
            Some(TokenTypeHint::AccessToken),
        )
        .await
        .unwrap();
    assert_eq!(
        rejection(validate(&e, &a.access_token).await),
        Rejection::Revoked
    );
    e.issuer
        .refresh(a.refresh_token.expose_secret(), None)
        .await
        .unwrap();
    // A refresh token, with the wrong hint: its family goes, access tokens included.
    e.issuer
        .revoke(
            b.refresh_token.expose_secret(),
            Some(TokenTypeHint::AccessToken),
        )
        .await
        .unwrap();
    assert_eq!(
        rejection(validate(&e, &b.access_token).await),
        Rejection::SessionRevoked
    );
    assert!(matches!(
        e.issuer
            .refresh(b.refresh_token.expose_secret(), None)
            .await,
        Err(Error::InvalidGrant(Rejection::SessionRevoked))
    ));
    // Garbage, repeated and expired tokens are fine.
    for garbage in ["", "garbage", "a.b.c", &"x".repeat(100_000) as &str] {
        e.issuer.revoke(garbage, None).await.unwrap();
    }
    e.issuer
        .revoke(b.refresh_token.expose_secret(), None)
        .await
        .unwrap();
    e.clock.advance(Duration::days(31));
    e.issuer
        .revoke(
            a.access_token.expose_secret(),
            Some(TokenTypeHint::RefreshToken),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn logout_all_cuts_off_exactly_and_logins_right_after_work() {
    let e = env().await;
    let a = login(&e, "alice").await;
    let b = login(&e, "alice").await;
    let bob = login(&e, "bob").await;
    e.issuer.logout_all(&e.alice).await.unwrap();
    // Same clock second: whole-second iat could not tell these apart; the generation can.
    let after = login(&e, "alice").await;
    for pair in [&a, &b] {
        assert_eq!(
            rejection(validate(&e, &pair.access_token).await),
            Rejection::CutOff
        );
        assert!(matches!(
            e.issuer
                .refresh(pair.refresh_token.expose_secret(), None)
                .await,
            Err(Error::InvalidGrant(Rejection::CutOff))
        ));
    }
    validate(&e, &after.access_token).await.unwrap();
    let refreshed = e
        .issuer
        .refresh(after.refresh_token.expose_secret(), None)
        .await
        .unwrap();
    validate(&e, &refreshed.access_token).await.unwrap();
    validate(&e, &bob.access_token).await.unwrap();
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_cuts_off_old_tokens() {
    let e = env().await;
    let before = login(&e, "alice").await;
    assert!(matches!(
        e.issuer
            .change_password(
                &e.alice,
                &secret("wrong"),
                &secret("a brand new passphrase")
            )
            .await,
        Err(Error::InvalidCredentials)
    ));
    for weak in ["short", "password123", "alice", ""] {
        let result = e
            .issuer
            .change_password(&e.alice, &secret("alice password"), &secret(weak))
            .await;
        assert!(
            matches!(result, Err(Error::WeakPassword(_))),
            "{weak}: {result:?}"
        );
    }
    validate(&e, &before.access_token).await.unwrap();
    e.issuer
        .change_password(
            &e.alice,
            &secret("alice password"),
            &secret("a brand new passphrase"),
        )
        .await
        .unwrap();
    assert_eq!(
        rejection(validate(&e, &before.access_token).await),
        Rejection::CutOff
    );
    assert!(matches!(
        e.issuer
            .login("alice", &secret("alice password"), None)
            .await,
        Err(Error::InvalidCredentials)
    ));
    let after = e
        .issuer
        .login("alice", &secret("a brand new passphrase"), None)
        .await
        .unwrap();
    validate(&e, &after.access_token).await.unwrap();

    e.issuer
        .set_password(&e.alice, &secret("set by an administrator"))
        .await
        .unwrap();
    assert_eq!(
        rejection(validate(&e, &after.access_token).await),
        Rejection::CutOff
    );
    assert!(matches!(
        e.issuer
            .set_password("no-such-id", &secret("whatever it is"))
            .await,
        Err(Error::UnknownUser)
    ));
}

#[tokio::test]
async fn disabled_and_deleted_users_lose_their_tokens() {
    let e = env().await;
    let pair = login(&e, "alice").await;
    let (_, user) = e
        .issuer
        .validate_user(pair.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(
        (user.id.as_str(), user.username.as_str()),
        (e.alice.as_str(), "alice")
    );
    e.users.set_disabled(&e.alice, true).await.unwrap();
    assert_eq!(
        rejection(validate(&e, &pair.access_token).await),
        Rejection::UserDisabled
    );
    assert!(matches!(
        e.issuer
            .validate_user(pair.access_token.expose_secret())
            .await,
        Err(Error::InvalidToken(Rejection::UserDisabled))
    ));
    assert!(matches!(
        e.issuer
            .refresh(pair.refresh_token.expose_secret(), None)
            .await,
        Err(Error::InvalidGrant(Rejection::UserDisabled))
    ));
    // A token for a user id the store does not know.
    let ghost = e
        .issuer
        .codec()
        .issue_access_for(
            TokenSubject {
                user_id: "ghost-id",
                session_id: "s",
                generation: 0,
                epoch: pair.access_claims.epoch,
                session_exp: None,
            },
            &Scopes::empty(),
            &(),
        )
        .unwrap();
    assert_eq!(
        rejection(validate(&e, &ghost.token).await),
        Rejection::UnknownUser
    );
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime() {
    let e = env().await;
    let mut pair = login(&e, "alice").await;
    // Refresh every 10 days: allowed until the 30-day session cap.
    for _ in 0..2 {
        e.clock.advance(Duration::days(10));
        pair = e
            .issuer
            .refresh(pair.refresh_token.expose_secret(), None)
            .await
            .unwrap();
    }
    // Day 30 plus more than the 30 s leeway.
    e.clock.advance(Duration::days(10) + Duration::seconds(31));
    assert!(matches!(
        e.issuer
            .refresh(pair.refresh_token.expose_secret(), None)
            .await,
        Err(Error::InvalidGrant(Rejection::Token(TokenError::Expired)))
    ));
}

#[tokio::test]
async fn outdated_hashes_are_upgraded_on_login() {
    let e = env().await;
    let bcrypt_hash = PasswordHash::parse(bcrypt::hash("legacy password", 4).unwrap()).unwrap();
    let legacy = e
        .users
        .upsert(User {
            id: String::new(),
            username: "legacy".into(),
            password_hash: bcrypt_hash,
            scopes: scopes("items:read"),
            disabled: false,
            full_name: None,
            email: None,
        })
        .await
        .unwrap();
    e.issuer
        .login("legacy", &secret("legacy password"), None)
        .await
        .unwrap();
    let stored = e.users.find_by_id(&legacy.id).await.unwrap().unwrap();
    assert_eq!(
        stored.password_hash.format(),
        tokenward::password::HashFormat::Argon2id
    );
    assert!(!e.issuer.hasher().needs_rehash(&stored.password_hash));
    e.issuer
        .login("legacy", &secret("legacy password"), None)
        .await
        .unwrap();
}

/// Every call fails as a store that is down does.
struct Down;

fn down<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable("test store".into()))
}

#[async_trait]
impl UserStore for Down {
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

#[async_trait]
impl TokenRevocation for Down {
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

#[async_trait]
impl LoginThrottle for Down {
    async fn locked_for(
        &self,
        _: &str,
        _: i64,
        _: ThrottlePolicy,
    ) -> Result<Option<u64>, StoreError> {
        down()
    }
    async fn attempt(&self, _: &str, _: i64, _: ThrottlePolicy) -> Result<Admission, StoreError> {
        down()
    }
    async fn release(&self, _: &str, _: i64, _: ThrottlePolicy) -> Result<(), StoreError> {
        down()
    }
    async fn clear(&self, _: &str) -> Result<(), StoreError> {
        down()
    }
}

type StoreSet = (
    &'static str,
    Arc<dyn UserStore>,
    Arc<dyn TokenRevocation>,
    Arc<dyn LoginThrottle>,
);

#[tokio::test]
async fn every_operation_fails_closed_when_stores_are_down() {
    let healthy = env().await;
    let pair = login(&healthy, "alice").await;
    let codec = healthy.issuer.codec().clone();
    let unavailable = |r: Result<(), Error>| matches!(r, Err(Error::Unavailable(_)));

    // Each store down on its own, then all of them.
    let configs: Vec<StoreSet> = vec![
        (
            "users down",
            Arc::new(Down),
            healthy.revocation.clone(),
            Arc::new(MemoryThrottle::new()),
        ),
        (
            "revocation down",
            healthy.users.clone(),
            Arc::new(Down),
            Arc::new(MemoryThrottle::new()),
        ),
        (
            "throttle down",
            healthy.users.clone(),
            healthy.revocation.clone(),
            Arc::new(Down),
        ),
        ("all down", Arc::new(Down), Arc::new(Down), Arc::new(Down)),
    ];
    for (name, users, revocation, throttle) in configs {
        let issuer = TokenIssuer::builder(codec.clone(), users, revocation.clone())
            .password_hasher(cheap_hasher())
            .throttle(throttle, ThrottlePolicy::default())
            .build()
            .unwrap();
        assert!(
            unavailable(
                issuer
                    .login("alice", &secret("alice password"), None)
                    .await
                    .map(|_| ())
            ),
            "{name}: login"
        );
        if name != "throttle down" {
            assert!(
                unavailable(
                    issuer
                        .validate(pair.access_token.expose_secret())
                        .await
                        .map(|_| ())
                ),
                "{name}: validate"
            );
            assert!(
                unavailable(
                    issuer
                        .refresh(pair.refresh_token.expose_secret(), None)
                        .await
                        .map(|_| ())
                ),
                "{name}: refresh"
            );
        }
        if name != "users down" && name != "throttle down" {
            assert!(
                unavailable(issuer.revoke(pair.access_token.expose_secret(), None).await),
                "{name}: revoke"
            );
            assert!(
                unavailable(issuer.logout_all(&healthy.alice).await),
                "{name}: logout_all"
            );
        }
        assert!(
            unavailable(
                issuer
                    .change_password(
                        &healthy.alice,
                        &secret("alice password"),
                        &secret("a new passphrase")
                    )
                    .await
            ),
            "{name}: change_password"
        );
    }
}
