//! Limits on password guessing and on login load: per username, per client address (and who may
//! claim an address through a proxy), counted before any password is checked, and the bound on
//! the hashing queue. They protect the server rather than a token, and share
//! `concurrent_guesses` with the two-instance clause, which checks the same count across servers.

use std::path::Path;
use std::sync::Arc;

use crate::client::Client;
use crate::error_shapes::assert_oauth_error;
use crate::fixture::Fixture;

pub async fn throttling_after_failed_logins(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture
        .start(
            bin,
            &["--max-failed-logins", "3", "--throttle-window", "600"],
        )
        .await;
    let client = Client::new(&server);
    let alice = &fixture.alice;
    for attempt in 0..3 {
        let reply = client
            .password_grant(&alice.username, "wrong password!", None)
            .await;
        assert_oauth_error(&reply, 400, "invalid_grant", &format!("failure {attempt}"));
    }
    let locked = client
        .password_grant(&alice.username, alice.password, None)
        .await;
    assert_eq!(locked.status, 429, "{}", locked.text());
    assert_eq!(locked.error(), "too_many_attempts");
    let retry_after: u64 = locked
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    // Another user's counter is separate, and their success does not unlock alice.
    client.login(&fixture.dave).await;
    let still = client
        .password_grant(&alice.username, alice.password, None)
        .await;
    assert_eq!(still.status, 429);
}

/// Sends `count` wrong-password logins for `username` at once through `clients` (round robin)
/// and returns how many got 400 and how many 429.
pub(crate) async fn concurrent_guesses(
    clients: &[Arc<Client>],
    username: &str,
    count: usize,
) -> (usize, usize) {
    let mut tasks = Vec::new();
    for i in 0..count {
        let client = clients[i % clients.len()].clone();
        let username = username.to_owned();
        tasks.push(tokio::spawn(async move {
            client
                .password_grant(&username, &format!("wrong guess {i}"), None)
                .await
        }));
    }
    let (mut refused, mut throttled) = (0, 0);
    for task in tasks {
        let reply = task.await.expect("guess task");
        match reply.status {
            400 => refused += 1,
            429 => {
                assert!(
                    reply.header("retry-after").is_some(),
                    "429 without Retry-After"
                );
                throttled += 1;
            }
            other => panic!("guess answered {other}: {}", reply.text()),
        }
    }
    (refused, throttled)
}

/// Issue #12.1: guesses sent at once are counted before any password is checked, so no more
/// than the limit are checked however many arrive together.
pub async fn concurrent_guesses_are_counted_before_checking(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture
        .start(
            bin,
            &["--max-failed-logins", "5", "--throttle-window", "600"],
        )
        .await;
    let client = Arc::new(Client::new(&server));
    let (refused, throttled) =
        concurrent_guesses(std::slice::from_ref(&client), &fixture.alice.username, 40).await;
    assert_eq!((refused, throttled), (5, 35));
    let locked = client
        .password_grant(&fixture.alice.username, fixture.alice.password, None)
        .await;
    assert_eq!(locked.status, 429, "the right password while locked");
}

/// Issue #12.2: one client address cannot spray usernames past its own limit; behind a trusted
/// proxy the forwarded address counts, and a forwarded address from an untrusted peer does not.
pub async fn client_address_limit_spans_usernames(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture
        .start(
            bin,
            &[
                "--max-logins-per-client",
                "3",
                "--trusted-proxy",
                "127.0.0.1",
            ],
        )
        .await;
    let client = Client::new(&server);
    let from = |address: &'static str, username: String| {
        client
            .request(reqwest::Method::POST, "/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", address)
            .body(format!(
                "grant_type=password&username={}&password=wrong",
                crate::client::enc(&username)
            ))
    };
    for i in 0..3 {
        let reply = client
            .execute(from("198.51.100.1", format!("sprayed-{i}")))
            .await;
        assert_oauth_error(&reply, 400, "invalid_grant", &format!("guess {i}"));
    }
    let reply = client
        .execute(from("198.51.100.1", "sprayed-3".into()))
        .await;
    assert_eq!(
        reply.status,
        429,
        "fourth username from one client: {}",
        reply.text()
    );
    // Another client behind the same proxy is not affected.
    let reply = client
        .execute(from("198.51.100.2", fixture.alice.username.clone()))
        .await;
    assert_oauth_error(&reply, 400, "invalid_grant", "another forwarded client");

    // Without --trusted-proxy the header is the client's own claim and changes nothing.
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--max-logins-per-client", "3"]).await;
    let client = Client::new(&server);
    for (i, forwarded) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let reply = client
            .execute(
                client
                    .request(reqwest::Method::POST, "/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-forwarded-for", *forwarded)
                    .body(format!(
                        "grant_type=password&username=spoofer-{i}&password=wrong"
                    )),
            )
            .await;
        assert_eq!(reply.status, 400, "guess {i}: {}", reply.text());
    }
    let reply = client
        .password_grant(&fixture.alice.username, fixture.alice.password, None)
        .await;
    assert_eq!(
        reply.status,
        429,
        "spoofed X-Forwarded-For was counted: {}",
        reply.text()
    );
}

/// Issue #12.2: logins past the hashing queue's bound are answered at once (503 with
/// Retry-After) instead of queueing, and protected calls keep working during the storm.
pub async fn login_storm_past_the_queue_bound_gets_503(bin: &Path) {
    let fixture = Fixture::new();
    // No waiting at all: a login that finds every hashing slot busy is refused.
    let server = fixture.start(bin, &["--max-queued-logins", "0"]).await;
    let client = Arc::new(Client::new(&server));
    let pair = client.login(&fixture.alice).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let client = client.clone();
        // Distinct unknown usernames: the per-username throttle never interferes.
        tasks.push(tokio::spawn(async move {
            client
                .password_grant(&format!("storm-{i}"), "wrong password", None)
                .await
        }));
    }
    let me = client.get("/users/me", &pair.access).await;
    assert_eq!(me.status, 200, "protected call during the storm");
    let (mut refused, mut busy) = (0, 0);
    for task in tasks {
        let reply = task.await.expect("storm task");
        match reply.status {
            400 => refused += 1,
            503 => {
                assert_eq!(reply.error(), "temporarily_unavailable");
                assert!(
                    reply.header("retry-after").is_some(),
                    "503 without Retry-After"
                );
                busy += 1;
            }
            other => panic!("storm login answered {other}: {}", reply.text()),
        }
    }
    assert!(refused >= 1 && busy >= 1, "{refused} refused, {busy} busy");
}
