//! What an operator or a tool sees of a running server, rather than what a client does with
//! tokens: `/health` and the answers for unknown paths and methods, the JSON logs, `/metrics`,
//! the OpenAPI document.

use std::path::Path;

use serde_json::{Value, json};
use tokenward::store::UserStore;

use crate::client::Client;
use crate::fixture::{Fixture, open_store};

pub async fn health_unknown_paths_and_methods(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let health = client.get_anonymous("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "ok"}));
    assert_eq!(client.get_anonymous("/no/such/path").await.status, 404);
    // The load script's unauthenticated baseline route is never there in a normal run.
    let baseline = client
        .execute(
            client
                .request(reqwest::Method::GET, "/baseline/users/me")
                .header("x-user-id", "x"),
        )
        .await;
    assert_eq!(baseline.status, 404);
    for (method, path, allowed) in [
        (reqwest::Method::GET, "/token", vec!["POST"]),
        (reqwest::Method::DELETE, "/items", vec!["GET", "POST"]),
        (reqwest::Method::POST, "/health", vec!["GET"]),
    ] {
        let reply = client.execute(client.request(method.clone(), path)).await;
        assert_eq!(reply.status, 405, "{method} {path}");
        let allow = reply.header("allow").unwrap_or_default();
        for m in allowed {
            assert!(allow.contains(m), "{method} {path}: Allow {allow:?}");
        }
    }
}

/// Issue #14.2: with `--log-format json` every request is logged with an id that the response
/// carries back, a failed login is a `login.failed` security event inside that request's span,
/// and no log line holds a password, a hash or a token.
pub async fn logs_carry_request_ids_and_no_secrets(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--log-format", "json"]).await;
    let client = Client::new(&server);
    let wrong = "a-distinctive-wrong-password-42";
    let failed = client
        .password_grant(&fixture.alice.username, wrong, None)
        .await;
    assert_eq!(failed.status, 400);
    let request_id = failed
        .header("x-request-id")
        .expect("x-request-id on the answer");
    let pair = client.login(&fixture.alice).await;
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);
    assert_eq!(
        client
            .form("/revoke", &format!("token={}", pair.refresh))
            .await
            .status,
        200
    );
    let hash = open_store(&fixture)
        .await
        .find_by_username(&fixture.alice.username)
        .await
        .unwrap()
        .expect("alice")
        .password_hash;

    // The lines arrive asynchronously; wait (bounded) for the revocation's event.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let lines = loop {
        let lines = server.stderr.lock().unwrap().clone();
        if lines.iter().any(|l| l.contains("token.revoked")) {
            break lines;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no token.revoked event logged: {lines:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let events: Vec<Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let failed_event = events
        .iter()
        .find(|e| e["fields"]["event"] == "login.failed")
        .expect("a login.failed event");
    assert_eq!(failed_event["target"], "tokenward::security");
    assert_eq!(
        failed_event["fields"]["username"],
        fixture.alice.username.as_str()
    );
    assert_eq!(failed_event["span"]["request_id"], request_id.as_str());
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["event"] == "login.succeeded"),
        "{lines:?}"
    );
    for secret in [
        wrong,
        fixture.alice.password,
        hash.expose_secret(),
        pair.access.as_str(),
        pair.refresh.as_str(),
    ] {
        assert!(
            !lines.iter().any(|line| line.contains(secret)),
            "a log line holds a secret"
        );
    }
}

/// Issue #14.3: `/metrics` is off unless `--metrics` is given; then it serves the Prometheus
/// text format with login outcomes, validations, the hashing queue and store latency.
pub async fn metrics_are_served_only_when_asked(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    assert_eq!(client.get_anonymous("/metrics").await.status, 404);
    drop(server);

    let server = fixture.start(bin, &["--metrics"]).await;
    let client = Client::new(&server);
    let failed = client
        .password_grant(&fixture.alice.username, "a wrong password", None)
        .await;
    assert_eq!(failed.status, 400);
    let pair = client.login(&fixture.alice).await;
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);
    let metrics = client.get_anonymous("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "{:?}",
        metrics.header("content-type")
    );
    let text = metrics.text();
    for line in [
        "tokenward_logins_total{outcome=\"failed\"} 1",
        "tokenward_logins_total{outcome=\"succeeded\"} 1",
        "tokenward_token_validations_total{result=\"valid\"} 1",
        "tokenward_hasher_running 0",
        "tokenward_hasher_waiting 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    assert!(
        text.contains("tokenward_store_call_seconds_count{store=\"SQLite store\",outcome=\"ok\"}"),
        "{text}"
    );
    assert!(text.contains("tokenward_hash_wait_seconds_count"), "{text}");
    assert!(!text.contains(&pair.access) && !text.contains(fixture.alice.password));
}

pub async fn openapi_document_describes_every_route(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let reply = client.get_anonymous("/openapi.json").await;
    assert_eq!(reply.status, 200);
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations: Vec<String> = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            operations.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations.sort();
    let mut expected = vec![
        "POST /token",
        "POST /revoke",
        "GET /.well-known/jwks.json",
        "GET /users/me",
        "GET /items",
        "POST /items",
        "POST /users/me/password",
        "POST /users/me/logout-all",
        "GET /health",
    ];
    expected.sort_unstable();
    assert_eq!(operations, expected);
    // What the server answers is what the document says it answers.
    let documented = |method: &str, path: &str, status: u16| {
        document["paths"][path][method]["responses"]
            .get(status.to_string())
            .is_some()
    };
    let pair = client.login(&fixture.alice).await;
    assert!(documented("post", "/token", 200));
    let me = client.get("/users/me", &pair.access).await;
    assert!(documented("get", "/users/me", me.status));
    let anonymous = client.get_anonymous("/items").await;
    assert!(documented("get", "/items", anonymous.status));
    let wrong = client
        .password_grant(&fixture.alice.username, "a wrong password", None)
        .await;
    assert!(documented("post", "/token", wrong.status));
    assert!(documented("get", "/health", 200) && documented("get", "/health", 503));
}
