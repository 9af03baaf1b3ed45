//! PostgreSQL and Redis: two instances sharing them, and Redis going away or losing its data under
//! running servers. These clauses need stores from outside and are `#[ignore]`d by default (see
//! the crate docs), so their setup lives here, apart from the clauses that run everywhere.

use std::path::Path;
use std::sync::Arc;

use tokenward::store::UserStore;

use crate::client::{Client, tokens};
use crate::error_shapes::{assert_invalid_token, assert_oauth_error};
use crate::fixture::{Fixture, open_store};
use crate::login_limits::concurrent_guesses;
use crate::server::{PrivateRedis, Server};

/// The PostgreSQL database and Redis of the shared-state clauses. The clause is `#[ignore]`d
/// by default, so reaching here means it was asked for: missing URLs are a failure.
async fn shared_backends() -> (String, String, DropDatabase) {
    let (Ok(pg), Ok(redis)) = (
        std::env::var("TOKENWARD_TEST_POSTGRES_URL"),
        std::env::var("TOKENWARD_TEST_REDIS_URL"),
    ) else {
        panic!(
            "set TOKENWARD_TEST_POSTGRES_URL and TOKENWARD_TEST_REDIS_URL to run the two-instance clause"
        );
    };
    // A database of its own, so parallel runs never share users.
    let name = format!(
        "tw_contract_{}_{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let admin = sqlx::PgPool::connect(&pg)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create a test database");
    let (base, _) = pg.rsplit_once('/').expect("a database name in the URL");
    (
        format!("{base}/{name}"),
        redis,
        DropDatabase { admin, name },
    )
}

/// The test's database, dropped when the clause passes (`.ci/run` clears what failed runs left).
struct DropDatabase {
    admin: sqlx::PgPool,
    name: String,
}

impl DropDatabase {
    async fn drop_now(self) {
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&self.admin)
        .await;
    }
}

pub async fn two_instances_share_postgres_and_redis(bin: &Path) {
    let (pg, redis, database) = shared_backends().await;
    let fixture = Fixture::new();
    let key_file = fixture.dir.path("shared-key.json").display().to_string();
    let args = |users: bool| {
        let mut args = vec![
            "--issuer".to_owned(),
            crate::fixture::ISSUER.to_owned(),
            "--allow-insecure-http-issuer".to_owned(),
            "--database-url".to_owned(),
            pg.clone(),
            "--redis-url".to_owned(),
            redis.clone(),
            "--key-file".to_owned(),
            key_file.clone(),
            "--max-failed-logins".to_owned(),
            "4".to_owned(),
        ];
        if users {
            args.extend([
                "--users".to_owned(),
                fixture.users_file().display().to_string(),
            ]);
        }
        args
    };
    let a = Server::start(bin, &args(true)).await;
    let b = Server::start(bin, &args(false)).await;
    let (on_a, on_b) = (Client::new(&a), Client::new(&b));

    let pair = on_a.login(&fixture.alice).await;
    assert_eq!(
        on_b.get("/users/me", &pair.access).await.status,
        200,
        "B accepts A's token"
    );
    assert_eq!(
        on_a.form("/revoke", &format!("token={}", pair.access))
            .await
            .status,
        200
    );
    assert_invalid_token(
        &on_b.get("/users/me", &pair.access).await,
        "revoked on A, used on B",
    );

    let pair = on_a.login(&fixture.alice).await;
    let next = tokens(on_b.refresh_grant(&pair.refresh, None).await);
    assert_oauth_error(
        &on_a.refresh_grant(&pair.refresh, None).await,
        400,
        "invalid_grant",
        "used on B, replayed on A",
    );
    assert_invalid_token(
        &on_a.get("/users/me", &next.access).await,
        "family revoked by the replay",
    );

    // Throttling counts attempts on both instances together, even when they arrive at once.
    let both = [Arc::new(Client::new(&a)), Arc::new(Client::new(&b))];
    let (refused, throttled) = concurrent_guesses(&both, &fixture.dave.username, 20).await;
    assert_eq!(
        (refused, throttled),
        (4, 16),
        "4 allowed across both instances"
    );
    assert_eq!(
        on_a.password_grant(&fixture.dave.username, fixture.dave.password, None)
            .await
            .status,
        429
    );
    assert_eq!(
        on_b.password_grant(&fixture.dave.username, fixture.dave.password, None)
            .await
            .status,
        429
    );

    let pair = on_b.login(&fixture.bob).await;
    assert_eq!(
        on_a.post_empty("/users/me/logout-all", &pair.access)
            .await
            .status,
        204
    );
    assert_invalid_token(
        &on_b.get("/users/me", &pair.access).await,
        "logout-all on A",
    );
    let fresh = on_b.login(&fixture.bob).await;
    assert_eq!(on_a.get("/users/me", &fresh.access).await.status, 200);
    drop((a, b));
    database.drop_now().await;
}

pub async fn redis_outage_gives_503_then_recovers(bin: &Path) {
    let mut redis = PrivateRedis::start().expect("redis-server on PATH");
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--redis-url", &redis.url()]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.alice).await;
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);

    redis.stop();
    let me = client.get("/users/me", &pair.access).await;
    assert_oauth_error(
        &me,
        503,
        "temporarily_unavailable",
        "protected call while Redis is down",
    );
    assert!(me.header("retry-after").is_some());
    let login = client
        .password_grant(&fixture.alice.username, fixture.alice.password, None)
        .await;
    assert_oauth_error(
        &login,
        503,
        "temporarily_unavailable",
        "login while Redis is down",
    );
    let health = client.get_anonymous("/health").await;
    assert_eq!(health.status, 503);
    assert!(
        health.text().contains("redis"),
        "names the failing store: {}",
        health.text()
    );
    assert!(!health.text().contains("database"), "{}", health.text());

    assert!(redis.restart(), "redis-server restarted");
    // The same server recovers without a restart; the reconnect takes a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let health = client.get_anonymous("/health").await;
        if health.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no recovery: {}",
            health.text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // This Redis keeps nothing, so the restart lost every revocation: tokens from before it are
    // refused (issue #12.3), and a new login works at once.
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "token from before a restart that lost Redis's state",
    );
    let fresh = client.login(&fixture.alice).await;
    assert_eq!(client.get("/users/me", &fresh.access).await.status, 200);
}

/// Issue #12.3: Redis loses everything (FLUSHALL, then a restart of a server that keeps
/// nothing) under two instances: no token issued before works on either afterwards, revoked,
/// used or live alike, and logins afterwards work at once.
pub async fn redis_data_loss_refuses_earlier_tokens(bin: &Path) {
    let mut redis = PrivateRedis::start().expect("redis-server on PATH");
    let fixture = Fixture::new();
    let key_file = fixture.dir.path("shared-key.json").display().to_string();
    let url = redis.url();
    let a = fixture
        .start(bin, &["--redis-url", &url, "--key-file", &key_file])
        .await;
    let b = fixture
        .start(bin, &["--redis-url", &url, "--key-file", &key_file])
        .await;
    let (on_a, on_b) = (Client::new(&a), Client::new(&b));

    for loss in ["FLUSHALL", "restart"] {
        let revoked = on_a.login(&fixture.alice).await;
        assert_eq!(
            on_b.form("/revoke", &format!("token={}", revoked.access))
                .await
                .status,
            200
        );
        let used = on_a.login(&fixture.alice).await;
        let rotated = tokens(on_b.refresh_grant(&used.refresh, None).await);
        let cut = on_a.login(&fixture.dave).await;
        assert_eq!(
            on_b.post_empty("/users/me/logout-all", &cut.access)
                .await
                .status,
            204
        );
        let live = on_b.login(&fixture.alice).await;
        assert_eq!(on_a.get("/users/me", &live.access).await.status, 200);

        match loss {
            "FLUSHALL" => assert!(redis.flush_all(), "FLUSHALL"),
            _ => assert!(redis.restart(), "redis-server restarted"),
        }
        // The instances reconnect by themselves after a restart.
        for client in [&on_a, &on_b] {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while client.get_anonymous("/health").await.status != 200 {
                assert!(std::time::Instant::now() < deadline, "{loss}: no recovery");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        for client in [&on_a, &on_b] {
            for (what, token) in [
                ("revoked", &revoked.access),
                ("rotated", &rotated.access),
                ("cut off", &cut.access),
                ("live", &live.access),
            ] {
                assert_invalid_token(
                    &client.get("/users/me", token).await,
                    &format!("{loss}: {what}"),
                );
            }
            for (what, token) in [("used", &used.refresh), ("live", &live.refresh)] {
                assert_oauth_error(
                    &client.refresh_grant(token, None).await,
                    400,
                    "invalid_grant",
                    &format!("{loss}: {what} refresh token"),
                );
            }
        }
        let fresh = on_a.login(&fixture.alice).await;
        assert_eq!(
            on_b.get("/users/me", &fresh.access).await.status,
            200,
            "{loss}: fresh login"
        );
        tokens(on_b.refresh_grant(&fresh.refresh, None).await);
    }
    // Issue #13.2: recorded for the CLI, which then refuses cutoffs without --redis-url.
    assert_eq!(
        open_store(&fixture)
            .await
            .setting(tokenward::store::REVOCATION_STORE_SETTING)
            .await
            .unwrap()
            .as_deref(),
        Some(tokenward::store::REVOCATION_IN_REDIS)
    );
}
