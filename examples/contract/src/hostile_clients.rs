//! Clients that send too much, garbage, or too slowly: the server refuses them with a 4xx or
//! closes the connection, and keeps serving everyone else. Some of these speak raw TCP, since an
//! HTTP client library will not misbehave the way an attacker does.

use std::path::Path;

use serde_json::json;

use crate::client::{Client, Reply};
use crate::error_shapes::assert_oauth_error;
use crate::fixture::Fixture;

pub async fn hostile_input_never_yields_5xx(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::unpooled(&server);
    let pair = client.login(&fixture.alice).await;
    let big = "a".repeat(1024 * 1024);

    // A server may answer 413 and close without reading the rest of the body, in which case
    // the client can see the reset before the answer; either way the body was refused.
    let refused = |what: &str, result: Result<Reply, reqwest::Error>| match result {
        Ok(reply) => assert_eq!(reply.status, 413, "{what}: {}", reply.text()),
        Err(err) => assert!(err.is_request() || err.is_body(), "{what}: {err}"),
    };
    let huge_form = client
        .request(reqwest::Method::POST, "/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=password&username={big}&password=x"));
    refused("1 MiB form", client.try_execute(huge_form).await);
    let huge_json = client
        .request(reqwest::Method::POST, "/items")
        .header("authorization", format!("Bearer {}", pair.access))
        .json(&json!({"name": big}));
    refused("1 MiB JSON", client.try_execute(huge_json).await);
    let long_name = client
        .password_grant(&"u".repeat(10_000), "password", None)
        .await;
    assert_oauth_error(&long_name, 400, "invalid_grant", "10 kB username");
    let huge_token = client.get("/users/me", &"x".repeat(100_000)).await;
    assert!(
        (400..500).contains(&huge_token.status),
        "100 kB bearer token: {}",
        huge_token.status
    );
    let huge_header = client
        .execute(
            client
                .request(reqwest::Method::GET, "/health")
                .header("x-padding", "p".repeat(512 * 1024)),
        )
        .await;
    assert!(
        (400..500).contains(&huge_header.status),
        "512 KiB header: {}",
        huge_header.status
    );
    let binary = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(vec![0xff, 0xfe, b'=', 0x00, b'&', 0x80]),
        )
        .await;
    assert_eq!(binary.status, 400, "binary form");
    let bad_escape = client
        .form("/token", "grant_type=password&username=%ZZ&password=%")
        .await;
    assert!((400..500).contains(&bad_escape.status));
    let deep = client
        .execute(
            client
                .request(reqwest::Method::POST, "/items")
                .header("authorization", format!("Bearer {}", pair.access))
                .header("content-type", "application/json")
                .body("[".repeat(10_000)),
        )
        .await;
    assert_eq!(deep.status, 400, "deeply nested JSON");
    // Still alive and well.
    assert_eq!(client.get_anonymous("/health").await.status, 200);
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);
}

/// A client that announces a body and never sends it is answered (503) once the request timeout
/// passes, and the server keeps serving others meanwhile.
pub async fn slow_body_is_cut_off(bin: &Path) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--request-timeout", "1"]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 100\r\n\r\ngrant_type=pass",
    )
    .await
    .unwrap();
    // Others are served while the slow request waits.
    let client = Client::new(&server);
    assert_eq!(client.get_anonymous("/health").await.status, 200);
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut buffer = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match slow.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a stalled body within 20 s");
    let head = String::from_utf8_lossy(&answer);
    assert!(
        head.starts_with("HTTP/1.1 503") || head.starts_with("HTTP/1.1 408"),
        "stalled body: {head:?}"
    );
    assert_eq!(client.get_anonymous("/health").await.status, 200);
}

/// Opens a connection to `address` and sends `request` one byte every 250 ms; returns how long
/// until the server closed the connection (or answered it), or `None` if it took everything
/// without doing either.
async fn dribble(address: String, request: &'static [u8]) -> Option<std::time::Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(&address).await.ok()?;
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 256];
    for byte in request {
        if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
            return Some(started.elapsed());
        }
        // Anything from the server (a 408, or the end of the stream) means it cut us off.
        let pace = std::time::Duration::from_millis(250);
        if tokio::time::timeout(pace, stream.read(&mut buffer))
            .await
            .is_ok()
        {
            return Some(started.elapsed());
        }
    }
    None
}

/// Issue #13.3: 200 connections sending their headers a byte at a time do not keep a normal
/// client from an answer within 1 s, and are closed within the header timeout; a kept-alive
/// connection that goes idle is closed too.
pub async fn slow_and_idle_connections_are_closed(bin: &Path) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const REQUEST: &[u8] = b"GET /health HTTP/1.1\r\nHost: tokenward.test\r\nAccept: */*\r\n\r\n";
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--header-timeout", "2"]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let slow: Vec<_> = (0..200)
        .map(|_| tokio::spawn(dribble(address.clone(), REQUEST)))
        .collect();
    // Let the slow connections take their places first.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let client = Client::new(&server);
    let reply = client
        .try_execute(
            client
                .request(reqwest::Method::GET, "/health")
                .timeout(std::time::Duration::from_secs(1)),
        )
        .await
        .expect("a normal client is answered within 1 s during the slow storm");
    assert_eq!(reply.status, 200);
    for task in slow {
        let cut = task.await.expect("dribbling task");
        let took = cut.expect("a slow client sent its whole request without being cut off");
        assert!(
            took < std::time::Duration::from_secs(5),
            "slow client cut off only after {took:?} (header timeout 2 s)"
        );
    }

    // Idle: one request answered, then silence.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    idle.write_all(REQUEST).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(6), async {
        loop {
            match idle.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        closed.is_ok(),
        "an idle kept-alive connection stayed open past 6 s"
    );
}
