//! A deployment that moves its revocations to another store refuses the tokens issued before,
//! for an application that embeds the library (no example server): stores opened with
//! `store::open_for_serving` on a SQLite file, tokens issued and checked by a `TokenIssuer`.
#![cfg(feature = "sqlite")]

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::store::memory::{MemoryRevocation, MemoryThrottle};
use tokenward::store::{
    self, Issuance, REVOCATION_IN_DATABASE, REVOCATION_IN_REDIS, REVOCATION_STORE_SETTING,
    RevocationQuery, RevocationStatus, RevocationStoreChange, RevocationStoreKind, StoreError,
    Stores, TokenRevocation, User,
};
use tokenward::token::{Scopes, TokenCodec};
use tokenward::{Error, Rejection, TokenIssuer, TokenPair};

const PASSWORD: &str = "alice password";

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("app.db").display())
}

fn hasher() -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap()
}

/// The issuer a server would build on `stores`; `keys` survive restarts, as a key file does.
fn issuer(keys: &KeySet, stores: &Stores) -> TokenIssuer {
    let codec = TokenCodec::builder(keys.clone(), "https://issuer.test", "api")
        .build()
        .unwrap();
    TokenIssuer::builder(codec, stores.users.clone(), stores.revocation.clone())
        .password_hasher(hasher())
        .build()
        .unwrap()
}

async fn add_alice(stores: &Stores) -> String {
    stores
        .users
        .upsert(User {
            id: String::new(),
            username: "alice".into(),
            password_hash: hasher().hash(&SecretString::from(PASSWORD)).unwrap(),
            scopes: Scopes::parse("items:read").unwrap(),
            disabled: false,
            full_name: None,
            email: None,
        })
        .await
        .unwrap()
        .id
}

async fn login(issuer: &TokenIssuer) -> TokenPair {
    issuer
        .login("alice", &SecretString::from(PASSWORD), None)
        .await
        .unwrap()
}

async fn validate(issuer: &TokenIssuer, pair: &TokenPair) -> Result<(), Error> {
    issuer
        .validate(pair.access_token.expose_secret())
        .await
        .map(drop)
}

async fn refresh(issuer: &TokenIssuer, pair: &TokenPair) -> Result<(), Error> {
    issuer
        .refresh(pair.refresh_token.expose_secret(), None)
        .await
        .map(drop)
}

fn refused(result: Result<(), Error>) -> Rejection {
    match result {
        Err(Error::InvalidToken(r) | Error::InvalidGrant(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn recorded(stores: &Stores) -> Option<String> {
    stores
        .users
        .setting(REVOCATION_STORE_SETTING)
        .await
        .unwrap()
}

/// The stores a start with `--redis-url` gets, with an in-memory revocation store standing in
/// for Redis: what matters is that it is another store than the database.
async fn open_with_stand_in_for_redis(url: &str) -> Stores {
    let mut stores = store::open(url, None).await.unwrap();
    stores.revocation = Arc::new(MemoryRevocation::new());
    stores.throttle = Arc::new(MemoryThrottle::new());
    stores
}

#[test]
fn only_another_recorded_store_is_a_switch() {
    use RevocationStoreKind::{Database, Redis};
    for (recorded, now, switch) in [
        (None, Database, false),
        (None, Redis, false),
        (Some(REVOCATION_IN_DATABASE), Database, false),
        (Some(REVOCATION_IN_REDIS), Redis, false),
        (Some(REVOCATION_IN_REDIS), Database, true),
        (Some(REVOCATION_IN_DATABASE), Redis, true),
        (Some("something newer"), Database, true),
    ] {
        assert_eq!(
            now.switches_from(recorded),
            switch,
            "{recorded:?} recorded, now {now}"
        );
    }
    assert_eq!(RevocationStoreKind::for_redis_url(None), Database);
    assert_eq!(
        RevocationStoreKind::for_redis_url(Some("redis://127.0.0.1:6379")),
        Redis
    );
    assert_eq!(Database.setting_value(), "database");
    assert_eq!(Redis.setting_value(), "redis");
}

/// Database, then Redis (a logout-all lands there only), then the database again: the token
/// from the first period is refused, though the database never saw it revoked.
#[tokio::test]
async fn moving_back_to_the_database_refuses_tokens_issued_before() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let keys = KeySet::generate(KeyAlgorithm::HS256).unwrap();

    let first = store::open_for_serving(&url, None).await.unwrap();
    assert_eq!(
        recorded(&first).await.as_deref(),
        Some(REVOCATION_IN_DATABASE)
    );
    let alice = add_alice(&first).await;
    let before = login(&issuer(&keys, &first)).await;
    validate(&issuer(&keys, &first), &before).await.unwrap();

    let on_redis = open_with_stand_in_for_redis(&url).await;
    let change = on_redis
        .adopt_revocation_store(RevocationStoreKind::Redis)
        .await
        .unwrap();
    assert!(
        matches!(
            &change,
            RevocationStoreChange::Switched { from, to: RevocationStoreKind::Redis, .. }
                if from == REVOCATION_IN_DATABASE
        ),
        "{change:?}"
    );
    assert_eq!(
        recorded(&on_redis).await.as_deref(),
        Some(REVOCATION_IN_REDIS)
    );
    issuer(&keys, &on_redis).logout_all(&alice).await.unwrap();

    // Without the rule the database still accepts the logged-out token: what the rule is for.
    // Plain `open` (the tools') must not apply it, nor change the record.
    let tool = store::open(&url, None).await.unwrap();
    validate(&issuer(&keys, &tool), &before).await.unwrap();
    assert_eq!(recorded(&tool).await.as_deref(), Some(REVOCATION_IN_REDIS));

    let back = store::open_for_serving(&url, None).await.unwrap();
    assert_eq!(
        recorded(&back).await.as_deref(),
        Some(REVOCATION_IN_DATABASE)
    );
    let served = issuer(&keys, &back);
    assert_eq!(
        refused(validate(&served, &before).await),
        Rejection::StoreEpoch
    );
    assert_eq!(
        refused(refresh(&served, &before).await),
        Rejection::StoreEpoch
    );
    let after = login(&served).await;
    validate(&served, &after).await.unwrap();
    refresh(&served, &after).await.unwrap();

    // The tools' opening sees the rotated epoch too: it is the database's, not the process's.
    let tool = store::open(&url, None).await.unwrap();
    let tool_issuer = issuer(&keys, &tool);
    assert_eq!(
        refused(validate(&tool_issuer, &before).await),
        Rejection::StoreEpoch
    );
    validate(&tool_issuer, &after).await.unwrap();
}

#[tokio::test]
async fn reopening_with_the_same_store_keeps_earlier_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let keys = KeySet::generate(KeyAlgorithm::HS256).unwrap();

    let first = store::open_for_serving(&url, None).await.unwrap();
    add_alice(&first).await;
    let before = login(&issuer(&keys, &first)).await;
    drop(first);

    for _ in 0..2 {
        let again = store::open_for_serving(&url, None).await.unwrap();
        validate(&issuer(&keys, &again), &before).await.unwrap();
        assert_eq!(
            recorded(&again).await.as_deref(),
            Some(REVOCATION_IN_DATABASE)
        );
    }
    let again = store::open(&url, None).await.unwrap();
    assert_eq!(
        again
            .adopt_revocation_store(RevocationStoreKind::Database)
            .await
            .unwrap(),
        RevocationStoreChange::Unchanged
    );
    refresh(&issuer(&keys, &again), &before).await.unwrap();
}

/// Nothing recorded (a new database, or one only tools have opened) is no switch.
#[tokio::test]
async fn the_first_record_refuses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let keys = KeySet::generate(KeyAlgorithm::HS256).unwrap();

    let tool = store::open(&url, None).await.unwrap();
    add_alice(&tool).await;
    let before = login(&issuer(&keys, &tool)).await;
    assert_eq!(recorded(&tool).await, None);

    let served = open_with_stand_in_for_redis(&url).await;
    let revocation = served.revocation.clone();
    let epoch = revocation.issuance("nobody").await.unwrap().epoch;
    assert_eq!(
        served
            .adopt_revocation_store(RevocationStoreKind::Redis)
            .await
            .unwrap(),
        RevocationStoreChange::FirstRecord
    );
    assert_eq!(revocation.issuance("nobody").await.unwrap().epoch, epoch);
    assert_eq!(
        recorded(&served).await.as_deref(),
        Some(REVOCATION_IN_REDIS)
    );

    // The database's own epoch was not touched either.
    let tool = store::open(&url, None).await.unwrap();
    validate(&issuer(&keys, &tool), &before).await.unwrap();
}

/// A revocation store that cannot rotate its epoch (the trait's default).
struct CannotRotate(MemoryRevocation);

#[async_trait]
impl TokenRevocation for CannotRotate {
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        self.0.revoke_token(jti, expires_at).await
    }
    async fn revoke_session(&self, session_id: &str, expires_at: i64) -> Result<(), StoreError> {
        self.0.revoke_session(session_id, expires_at).await
    }
    async fn bump_user_generation(&self, user_id: &str) -> Result<u64, StoreError> {
        self.0.bump_user_generation(user_id).await
    }
    async fn issuance(&self, user_id: &str) -> Result<Issuance, StoreError> {
        self.0.issuance(user_id).await
    }
    async fn consume_refresh(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        self.0.consume_refresh(jti, expires_at).await
    }
    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, StoreError> {
        self.0.check(query).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

/// A switch whose rotation fails is an error and leaves the old record, so the next start
/// rotates instead of trusting the earlier tokens.
#[tokio::test]
async fn a_failed_rotation_keeps_the_old_record() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    store::open_for_serving(&url, None).await.unwrap();

    let mut stores = store::open(&url, None).await.unwrap();
    stores.revocation = Arc::new(CannotRotate(MemoryRevocation::new()));
    let err = stores
        .adopt_revocation_store(RevocationStoreKind::Redis)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Config(_)), "{err:?}");
    assert_eq!(
        recorded(&stores).await.as_deref(),
        Some(REVOCATION_IN_DATABASE)
    );

    let retried = open_with_stand_in_for_redis(&url).await;
    assert!(matches!(
        retried
            .adopt_revocation_store(RevocationStoreKind::Redis)
            .await
            .unwrap(),
        RevocationStoreChange::Switched { .. }
    ));
}

/// The same with a real Redis (`TOKENWARD_TEST_REDIS_URL`). The servers' opener always uses
/// the key prefix `tokenward`, whose epoch this rotates, so the test works in a logical
/// database of its own (14) rather than beside other tests' servers. Both directions.
#[cfg(feature = "redis")]
#[tokio::test]
#[ignore = "needs a private Redis: TOKENWARD_TEST_REDIS_URL=redis://..."]
async fn switching_between_the_database_and_redis_refuses_tokens_issued_before() {
    let redis = std::env::var("TOKENWARD_TEST_REDIS_URL")
        .expect("TOKENWARD_TEST_REDIS_URL names a Redis this test may write to");
    let mut redis = url::Url::parse(&redis).expect("TOKENWARD_TEST_REDIS_URL is a URL");
    redis.set_path("/14");
    let redis = redis.to_string();
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let keys = KeySet::generate(KeyAlgorithm::HS256).unwrap();

    let on_database = store::open_for_serving(&url, None).await.unwrap();
    let alice = add_alice(&on_database).await;
    let from_database = login(&issuer(&keys, &on_database)).await;

    let on_redis = store::open_for_serving(&url, Some(&redis)).await.unwrap();
    assert_eq!(
        recorded(&on_redis).await.as_deref(),
        Some(REVOCATION_IN_REDIS)
    );
    let redis_issuer = issuer(&keys, &on_redis);
    let from_redis = login(&redis_issuer).await;
    validate(&redis_issuer, &from_redis).await.unwrap();
    redis_issuer.logout_all(&alice).await.unwrap();
    let from_redis_after_logout = login(&redis_issuer).await;

    let back = store::open_for_serving(&url, None).await.unwrap();
    let back_issuer = issuer(&keys, &back);
    assert_eq!(
        refused(validate(&back_issuer, &from_database).await),
        Rejection::StoreEpoch
    );
    let on_database_again = login(&back_issuer).await;
    validate(&back_issuer, &on_database_again).await.unwrap();

    // And to Redis again: its epoch survived, but it missed the second database period.
    let to_redis = store::open_for_serving(&url, Some(&redis)).await.unwrap();
    let redis_issuer = issuer(&keys, &to_redis);
    assert_eq!(
        refused(validate(&redis_issuer, &from_redis_after_logout).await),
        Rejection::StoreEpoch
    );
    let fresh = login(&redis_issuer).await;
    validate(&redis_issuer, &fresh).await.unwrap();

    // Restarting on Redis as it is keeps its tokens.
    let same = store::open_for_serving(&url, Some(&redis)).await.unwrap();
    validate(&issuer(&keys, &same), &fresh).await.unwrap();
}
