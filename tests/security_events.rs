//! Security events (issue #14.2): each operation emits its event with the documented fields, and
//! no event ever carries a password, a hash or a token.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use tokenward::clock::ManualClock;
use tokenward::events;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::store::memory::{MemoryRevocation, MemoryThrottle, MemoryUserStore};
use tokenward::store::{ThrottlePolicy, User, UserStore};
use tokenward::token::{Scopes, TokenCodec};
use tokenward::{Error, TokenIssuer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Fields = BTreeMap<String, String>;

/// Records every event of the security target with its fields as text.
#[derive(Clone, Default)]
struct Capture {
    events: Arc<Mutex<Vec<(tracing::Level, Fields)>>>,
}

struct FieldText<'a>(&'a mut Fields);

impl Visit for FieldText<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() != events::TARGET {
            return;
        }
        let mut fields = Fields::new();
        event.record(&mut FieldText(&mut fields));
        if let Ok(mut events) = self.events.lock() {
            events.push((*event.metadata().level(), fields));
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn named(&self, name: &str) -> Vec<(tracing::Level, Fields)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, fields)| fields.get("event").map(String::as_str) == Some(name))
            .cloned()
            .collect()
    }
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

#[tokio::test(flavor = "current_thread")]
async fn every_operation_reports_its_event_without_secrets() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let hasher = PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap();
    let users = Arc::new(MemoryUserStore::new());
    let hash = hasher.hash(&secret("alice's first passphrase")).unwrap();
    let alice = users
        .upsert(User {
            id: String::new(),
            username: "alice".into(),
            password_hash: hash.clone(),
            scopes: Scopes::parse("items:read").unwrap(),
            disabled: false,
            full_name: None,
            email: None,
        })
        .await
        .unwrap()
        .id;
    let mut keys = KeySet::generate(KeyAlgorithm::HS256).unwrap();
    let new_kid = keys.rotate_generate().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let codec = TokenCodec::builder(keys, "iss", "aud")
        .clock(clock)
        .build()
        .unwrap();
    let issuer = TokenIssuer::builder(codec, users.clone(), Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .throttle(
            Arc::new(MemoryThrottle::new()),
            ThrottlePolicy {
                max_failures: 2,
                window_secs: 60,
            },
        )
        .build()
        .unwrap();
    let client = "192.0.2.10".parse().unwrap();

    let pair = issuer
        .login_from(client, "alice", &secret("alice's first passphrase"), None)
        .await
        .unwrap();
    let wrong = "a wrong guess 123";
    for _ in 0..2 {
        let failed = issuer
            .login_from(client, "alice", &secret(wrong), None)
            .await;
        assert!(matches!(failed, Err(Error::InvalidCredentials)));
    }
    let throttled = issuer
        .login_from(client, "alice", &secret(wrong), None)
        .await;
    assert!(matches!(throttled, Err(Error::Throttled { .. })));
    let rotated = issuer
        .refresh(pair.refresh_token.expose_secret(), None)
        .await
        .unwrap();
    let replayed = issuer
        .refresh(pair.refresh_token.expose_secret(), None)
        .await;
    assert!(
        matches!(
            replayed,
            Err(Error::InvalidGrant(tokenward::Rejection::RefreshReused))
        ),
        "{replayed:?}"
    );
    let other = issuer
        .login("bob-does-not-exist", &secret(wrong), None)
        .await;
    assert!(matches!(other, Err(Error::InvalidCredentials)));
    issuer
        .revoke(rotated.access_token.expose_secret(), None)
        .await
        .unwrap();
    issuer.logout_all(&alice).await.unwrap();
    issuer
        .set_password(&alice, &secret("alice's second passphrase"))
        .await
        .unwrap();

    let succeeded = capture.named(events::LOGIN_SUCCEEDED);
    assert_eq!(succeeded.len(), 1);
    assert_eq!(succeeded[0].1["user_id"], alice);
    assert_eq!(succeeded[0].1["client"], "192.0.2.10");
    let failed = capture.named(events::LOGIN_FAILED);
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert_eq!(failed[0].1["username"], "alice");
    let throttled = capture.named(events::LOGIN_THROTTLED);
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0].0, tracing::Level::WARN);
    assert_eq!(throttled[0].1["limit"], "username");
    assert_eq!(capture.named(events::REFRESH_REUSED).len(), 1);
    let revoked = capture.named(events::TOKEN_REVOKED);
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].1["kind"], "access");
    assert_eq!(capture.named(events::LOGOUT_ALL)[0].1["user_id"], alice);
    assert_eq!(
        capture.named(events::PASSWORD_CHANGED)[0].1["by"],
        "administrator"
    );
    assert_eq!(capture.named(events::KEY_ROTATED)[0].1["kid"], new_kid);

    // No event holds a password, the hash, or any part of a token.
    let secrets = [
        "alice's first passphrase",
        "alice's second passphrase",
        wrong,
        hash.expose_secret(),
        pair.access_token.expose_secret(),
        pair.refresh_token.expose_secret(),
        rotated.access_token.expose_secret(),
        rotated.refresh_token.expose_secret(),
    ];
    for (_, fields) in capture.events.lock().unwrap().iter() {
        for value in fields.values() {
            for secret in secrets {
                assert!(
                    !value.contains(secret),
                    "an event carries a secret: {fields:?}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_store_outage_is_reported() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let clock = Arc::new(ManualClock::starting_now());
    let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::HS256).unwrap(), "i", "a")
        .clock(clock)
        .build()
        .unwrap();
    let down = Arc::new(MemoryRevocation::new());
    let issuer = TokenIssuer::builder(codec, Arc::new(MemoryUserStore::new()), down)
        .throttle(Arc::new(Unanswering), ThrottlePolicy::default())
        .build()
        .unwrap();
    let result = issuer
        .login("alice", &secret("some passphrase"), None)
        .await;
    assert!(matches!(result, Err(Error::Unavailable(_))));
    let reported = capture.named(events::STORE_UNAVAILABLE);
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].0, tracing::Level::ERROR);
    assert_eq!(reported[0].1["operation"], "login");
}

/// A throttle store that is down.
struct Unanswering;

#[async_trait::async_trait]
impl tokenward::store::LoginThrottle for Unanswering {
    async fn locked_for(
        &self,
        _: &str,
        _: i64,
        _: ThrottlePolicy,
    ) -> Result<Option<u64>, tokenward::store::StoreError> {
        Err(tokenward::store::StoreError::Unavailable(
            "test throttle".into(),
        ))
    }
    async fn attempt(
        &self,
        _: &str,
        _: i64,
        _: ThrottlePolicy,
    ) -> Result<tokenward::store::Admission, tokenward::store::StoreError> {
        Err(tokenward::store::StoreError::Unavailable(
            "test throttle".into(),
        ))
    }
    async fn release(
        &self,
        _: &str,
        _: i64,
        _: ThrottlePolicy,
    ) -> Result<(), tokenward::store::StoreError> {
        Err(tokenward::store::StoreError::Unavailable(
            "test throttle".into(),
        ))
    }
    async fn clear(&self, _: &str) -> Result<(), tokenward::store::StoreError> {
        Err(tokenward::store::StoreError::Unavailable(
            "test throttle".into(),
        ))
    }
}
