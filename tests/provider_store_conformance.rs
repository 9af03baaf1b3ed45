//! One conformance suite for the authorization server's stores ([`ClientStore`],
//! [`AuthorizationStore`]) on every backend: memory, SQLite and PostgreSQL (`#[ignore]`d
//! without `TOKENWARD_TEST_POSTGRES_URL`).
#![cfg(feature = "provider")]

use std::sync::Arc;

use tokenward::provider::{
    AuthorizationStore, BrowserSession, Client, ClientStore, CodeGrant, CodeRedemption, GrantType,
    IdentityLink, PendingAuthorization, PendingLink, UpstreamLoginState, secret_digest,
};
use tokenward::store::{StoreError, TokenRevocation};
use tokenward::token::Scopes;

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        secret_hash: None,
        redirect_uris: vec![
            "https://app.example/cb?x=1".into(),
            "http://127.0.0.1/cb".into(),
        ],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: Scopes::parse("items:read items:write").unwrap(),
        name: format!("App {id}"),
        first_party: false,
    }
}

fn grant(user: &str) -> CodeGrant {
    CodeGrant {
        client_id: "app".into(),
        redirect_uri: "https://app.example/cb?x=1".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        scope: Scopes::parse("items:read").unwrap(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        user_id: user.into(),
        auth_time: 1_700_000_000,
        session_id: "sid-1".into(),
        generation: 3,
        epoch: 42,
        expires_at: 1_700_000_060,
    }
}

async fn clients_insert_if_absent_update_remove(store: Arc<dyn ClientStore>) {
    assert!(store.list_clients().await.unwrap().is_empty());
    let mut b = client("b");
    b.secret_hash =
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into());
    b.grant_types.push(GrantType::ClientCredentials);
    b.first_party = true;
    assert!(store.insert_client(&client("a")).await.unwrap());
    assert!(store.insert_client(&b).await.unwrap());
    // Insert-if-absent: an existing client is left exactly as it is.
    let mut changed = client("a");
    changed.name = "changed".into();
    assert!(!store.insert_client(&changed).await.unwrap());
    assert_eq!(store.find_client("a").await.unwrap(), Some(client("a")));
    assert_eq!(store.find_client("b").await.unwrap(), Some(b.clone()));
    assert_eq!(store.find_client("c").await.unwrap(), None);
    let ids: Vec<_> = store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["a", "b"]);
    store.update_client(&changed).await.unwrap();
    assert_eq!(store.find_client("a").await.unwrap(), Some(changed));
    assert_eq!(
        store.update_client(&client("zz")).await,
        Err(StoreError::NotFound)
    );
    assert!(store.remove_client("a").await.unwrap());
    assert!(!store.remove_client("a").await.unwrap());
    assert_eq!(store.find_client("a").await.unwrap(), None);
}

async fn codes_redeem_once_then_replay(store: Arc<dyn AuthorizationStore>) {
    let digest = secret_digest("the-code");
    store.put_code(&digest, &grant("u1")).await.unwrap();
    assert_eq!(
        store.redeem_code(&digest).await.unwrap(),
        CodeRedemption::Redeemed(grant("u1"))
    );
    for _ in 0..2 {
        assert_eq!(
            store.redeem_code(&digest).await.unwrap(),
            CodeRedemption::Replayed(grant("u1"))
        );
    }
    assert_eq!(
        store.redeem_code(&secret_digest("other")).await.unwrap(),
        CodeRedemption::Unknown
    );
}

async fn hundred_concurrent_redemptions_one_wins(store: Arc<dyn AuthorizationStore>) {
    let digest = secret_digest("raced-code");
    store.put_code(&digest, &grant("u2")).await.unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let store = store.clone();
            let digest = digest.clone();
            tokio::spawn(async move { store.redeem_code(&digest).await })
        })
        .collect();
    let mut redeemed = 0;
    let mut replayed = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            CodeRedemption::Redeemed(_) => redeemed += 1,
            CodeRedemption::Replayed(_) => replayed += 1,
            CodeRedemption::Unknown => panic!("the code exists"),
        }
    }
    assert_eq!((redeemed, replayed), (1, 99));
}

async fn sessions_pending_and_consent(store: Arc<dyn AuthorizationStore>) {
    let session = BrowserSession {
        user_id: "u3".into(),
        auth_time: 10,
        generation: 1,
        epoch: 7,
        expires_at: 4_000_000_000,
        confirmed_clients: vec!["cli".into()],
    };
    let digest = secret_digest("session-cookie");
    assert_eq!(store.find_session(&digest).await.unwrap(), None);
    let mut confirmed = session.clone();
    confirmed.confirm_client("other-cli");
    assert!(
        !store.update_session(&digest, &confirmed).await.unwrap(),
        "no session: nothing to update, nothing written"
    );
    assert_eq!(store.find_session(&digest).await.unwrap(), None);
    store.put_session(&digest, &session).await.unwrap();
    assert_eq!(store.find_session(&digest).await.unwrap(), Some(session));
    assert!(store.update_session(&digest, &confirmed).await.unwrap());
    assert_eq!(
        store.find_session(&digest).await.unwrap(),
        Some(confirmed.clone())
    );
    store.delete_session(&digest).await.unwrap();
    assert!(!store.update_session(&digest, &confirmed).await.unwrap());
    assert_eq!(store.find_session(&digest).await.unwrap(), None);

    let pending = PendingAuthorization {
        query: "response_type=code&client_id=app".into(),
        browser: secret_digest("browser"),
        csrf: secret_digest("csrf"),
        user_id: None,
        auth_time: None,
        upstream_link: None,
        expires_at: 4_000_000_000,
    };
    let digest = secret_digest("pending-id");
    store.put_pending(&digest, &pending).await.unwrap();
    assert_eq!(
        store.find_pending(&digest).await.unwrap(),
        Some(pending.clone())
    );
    // Re-put (a new CSRF token after a failed login) replaces it.
    let renewed = PendingAuthorization {
        csrf: secret_digest("csrf-2"),
        ..pending.clone()
    };
    store.put_pending(&digest, &renewed).await.unwrap();
    assert_eq!(store.find_pending(&digest).await.unwrap(), Some(renewed));
    store.delete_pending(&digest).await.unwrap();
    assert_eq!(store.find_pending(&digest).await.unwrap(), None);
    // A password check before an upstream link keeps the link it is for.
    let linking = PendingAuthorization {
        upstream_link: Some(PendingLink {
            issuer: "https://idp.example".into(),
            subject: "idp-bob".into(),
            user_id: "u3".into(),
        }),
        ..pending
    };
    store.put_pending(&digest, &linking).await.unwrap();
    assert_eq!(store.find_pending(&digest).await.unwrap(), Some(linking));

    assert!(
        store
            .consented_scopes("u3", "app")
            .await
            .unwrap()
            .is_empty()
    );
    let read = Scopes::parse("items:read").unwrap();
    let write = Scopes::parse("items:write").unwrap();
    store.add_consent("u3", "app", &read).await.unwrap();
    store.add_consent("u3", "app", &write).await.unwrap();
    assert_eq!(
        store.consented_scopes("u3", "app").await.unwrap(),
        read.union(&write),
        "consent accumulates"
    );
    assert!(
        store
            .consented_scopes("u3", "other")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .consented_scopes("u4", "app")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn upstream_logins_are_taken_once(store: Arc<dyn AuthorizationStore>) {
    let login = UpstreamLoginState {
        query: "response_type=code&client_id=app".into(),
        browser: secret_digest("browser"),
        pkce_verifier: "verifier".into(),
        nonce: "nonce".into(),
        started_at: 3_999_999_400,
        expires_at: 4_000_000_000,
    };
    let digest = secret_digest("upstream-state");
    assert!(store.take_upstream_login(&digest).await.unwrap().is_none());
    store.put_upstream_login(&digest, &login).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let digest = digest.clone();
            tokio::spawn(async move { store.take_upstream_login(&digest).await })
        })
        .collect();
    let mut taken = Vec::new();
    for task in tasks {
        if let Some(login) = task.await.unwrap().unwrap() {
            taken.push(login);
        }
    }
    assert_eq!(taken.len(), 1, "one callback takes the state");
    assert_eq!(taken[0].query, login.query);
    assert_eq!(taken[0].pkce_verifier, "verifier");
    assert_eq!(taken[0].nonce, "nonce");
    assert_eq!(taken[0].browser, login.browser);
    assert_eq!(taken[0].started_at, login.started_at);
    assert!(store.take_upstream_login(&digest).await.unwrap().is_none());
}

async fn identity_links_first_wins(store: Arc<dyn AuthorizationStore>) {
    let iss = "https://idp.example";
    assert_eq!(store.find_identity_link(iss, "s1").await.unwrap(), None);
    assert!(store.link_identity(iss, "s1", "u1", 10).await.unwrap());
    assert!(!store.link_identity(iss, "s1", "u2", 11).await.unwrap());
    assert_eq!(
        store
            .find_identity_link(iss, "s1")
            .await
            .unwrap()
            .as_deref(),
        Some("u1")
    );
    // The key is the pair: the same subject at another issuer is another identity.
    assert_eq!(
        store
            .find_identity_link("https://other.example", "s1")
            .await
            .unwrap(),
        None
    );
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let user = format!("racer-{i}");
                let won = store.link_identity(iss, "raced", &user, 12).await;
                (user, won)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (user, won) = task.await.unwrap();
        if won.unwrap() {
            winners.push(user);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one link wins");
    assert_eq!(
        store.find_identity_link(iss, "raced").await.unwrap(),
        winners.pop()
    );
}

async fn identity_links_list_and_unlink(store: Arc<dyn AuthorizationStore>) {
    let (a, b) = ("https://a.example", "https://b.example");
    assert!(store.identity_links("u1").await.unwrap().is_empty());
    assert!(store.link_identity(b, "s2", "u1", 30).await.unwrap());
    assert!(store.link_identity(a, "s1", "u1", 20).await.unwrap());
    assert!(store.link_identity(a, "s3", "u2", 40).await.unwrap());
    let link = |issuer: &str, subject: &str, user: &str, at: i64| IdentityLink {
        issuer: issuer.into(),
        subject: subject.into(),
        user_id: user.into(),
        created_at: at,
    };
    assert_eq!(
        store.identity_links("u1").await.unwrap(),
        vec![link(a, "s1", "u1", 20), link(b, "s2", "u1", 30)],
        "a user's links, by issuer then subject, with when they were made"
    );
    assert_eq!(
        store.identity_links("u2").await.unwrap(),
        vec![link(a, "s3", "u2", 40)]
    );
    // Unlinking names the user: another user's link is left alone.
    assert!(!store.unlink_identity("u1", a, "s3").await.unwrap());
    assert_eq!(
        store.find_identity_link(a, "s3").await.unwrap().as_deref(),
        Some("u2")
    );
    assert!(!store.unlink_identity("u1", a, "nope").await.unwrap());
    assert!(store.unlink_identity("u1", a, "s1").await.unwrap());
    assert!(!store.unlink_identity("u1", a, "s1").await.unwrap(), "gone");
    assert_eq!(store.find_identity_link(a, "s1").await.unwrap(), None);
    assert_eq!(
        store.identity_links("u1").await.unwrap(),
        vec![link(b, "s2", "u1", 30)]
    );
    // Unlinked, the identity may be linked again (to anyone).
    assert!(store.link_identity(a, "s1", "u2", 50).await.unwrap());
    assert_eq!(store.identity_links("u2").await.unwrap().len(), 2);
}

async fn used_refresh_tokens_are_visible(store: Arc<dyn TokenRevocation>) {
    assert!(!store.refresh_used("jti-1").await.unwrap());
    assert!(store.consume_refresh("jti-1", 4_000_000_000).await.unwrap());
    assert!(store.refresh_used("jti-1").await.unwrap());
    assert!(!store.refresh_used("jti-2").await.unwrap());
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! conformance {
    ($backend:ident, $(#[$attr:meta])* store: $store:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn clients_insert_if_absent_update_remove() {
                super::clients_insert_if_absent_update_remove(Arc::new($store)).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn codes_redeem_once_then_replay() {
                super::codes_redeem_once_then_replay(Arc::new($store)).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn hundred_concurrent_redemptions_one_wins() {
                super::hundred_concurrent_redemptions_one_wins(Arc::new($store)).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sessions_pending_and_consent() {
                super::sessions_pending_and_consent(Arc::new($store)).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn upstream_logins_are_taken_once() {
                super::upstream_logins_are_taken_once(Arc::new($store)).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn identity_links_first_wins() {
                super::identity_links_first_wins(Arc::new($store)).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn identity_links_list_and_unlink() {
                super::identity_links_list_and_unlink(Arc::new($store)).await
            }
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn used_refresh_tokens_are_visible() {
                super::used_refresh_tokens_are_visible(Arc::new($store)).await
            }
        }
    };
}

mod memory_backend {
    use tokenward::store::memory::{MemoryAuthorizationStore, MemoryClientStore, MemoryRevocation};

    use super::*;

    #[tokio::test]
    async fn clients() {
        clients_insert_if_absent_update_remove(Arc::new(MemoryClientStore::new())).await;
    }
    #[tokio::test]
    async fn codes() {
        codes_redeem_once_then_replay(Arc::new(MemoryAuthorizationStore::new())).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_redemptions() {
        hundred_concurrent_redemptions_one_wins(Arc::new(MemoryAuthorizationStore::new())).await;
    }
    #[tokio::test]
    async fn sessions() {
        sessions_pending_and_consent(Arc::new(MemoryAuthorizationStore::new())).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn upstream_logins() {
        upstream_logins_are_taken_once(Arc::new(MemoryAuthorizationStore::new())).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn identity_links() {
        identity_links_first_wins(Arc::new(MemoryAuthorizationStore::new())).await;
    }
    #[tokio::test]
    async fn identity_links_listed_and_unlinked() {
        identity_links_list_and_unlink(Arc::new(MemoryAuthorizationStore::new())).await;
    }
    #[tokio::test]
    async fn used_refresh() {
        used_refresh_tokens_are_visible(Arc::new(MemoryRevocation::new())).await;
    }
}

#[cfg(feature = "sqlite")]
mod sqlite_backend {
    use tokenward::store::sqlite::SqliteStore;

    use super::*;

    async fn store() -> SqliteStore {
        let dir = tempfile::tempdir().unwrap().keep();
        SqliteStore::open(&format!("sqlite://{}", dir.join("tokenward.db").display()))
            .await
            .unwrap()
    }

    conformance!(sqlite, store: store().await);
}

#[cfg(feature = "postgres")]
mod postgres_backend {
    use tokenward::store::postgres::PostgresStore;

    use super::*;

    async fn store() -> PostgresStore {
        let url = std::env::var("TOKENWARD_TEST_POSTGRES_URL").expect(
            "set TOKENWARD_TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests",
        );
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let schema = format!(
            "tw_test_provider_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000
        );
        PostgresStore::open(&url, Some(&schema)).await.unwrap()
    }

    conformance!(postgres, #[ignore = "needs PostgreSQL: set TOKENWARD_TEST_POSTGRES_URL, run with --ignored"]
        store: store().await);
}
