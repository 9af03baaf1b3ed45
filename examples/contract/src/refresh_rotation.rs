//! Refresh tokens: each is redeemed once and replaced, a replay revokes its whole login, and
//! neither kind of token passes for the other. Kept together because the one-redemption rule is
//! what the shared-store clauses and the soak test lean on.

use std::path::Path;
use std::sync::Arc;

use crate::client::{Client, tokens};
use crate::error_shapes::{assert_invalid_token, assert_oauth_error};
use crate::fixture::Fixture;

pub async fn refresh_rotation_and_replay_revokes_the_family(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let first = client.login(&fixture.alice).await;
    let other_login = client.login(&fixture.alice).await;

    let second = tokens(client.refresh_grant(&first.refresh, None).await);
    assert_ne!(
        second.refresh, first.refresh,
        "each refresh returns a new refresh token"
    );
    assert_ne!(second.access, first.access);
    assert_eq!(client.get("/users/me", &second.access).await.status, 200);

    let replay = client.refresh_grant(&first.refresh, None).await;
    assert_oauth_error(&replay, 400, "invalid_grant", "replayed refresh token");
    assert_invalid_token(
        &client.get("/users/me", &second.access).await,
        "access token of the replayed family",
    );
    assert_invalid_token(
        &client.get("/users/me", &first.access).await,
        "first access token of the replayed family",
    );
    assert_oauth_error(
        &client.refresh_grant(&second.refresh, None).await,
        400,
        "invalid_grant",
        "newest refresh token of the replayed family",
    );
    // The same user's other login is untouched.
    assert_eq!(
        client.get("/users/me", &other_login.access).await.status,
        200
    );
    tokens(client.refresh_grant(&other_login.refresh, None).await);
}

pub async fn concurrent_refreshes_exactly_one_wins(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Arc::new(Client::new(&server));
    let pair = client.login(&fixture.alice).await;
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, refresh) = (client.clone(), pair.refresh.clone());
        racers.spawn(async move { client.refresh_grant(&refresh, None).await.status });
    }
    let statuses = racers.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

pub async fn access_and_refresh_tokens_are_not_interchangeable(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.alice).await;
    assert_invalid_token(
        &client.get("/users/me", &pair.refresh).await,
        "refresh token as Bearer",
    );
    assert_oauth_error(
        &client.refresh_grant(&pair.access, None).await,
        400,
        "invalid_grant",
        "access token as refresh token",
    );
    // Neither attempt burned anything.
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);
    tokens(client.refresh_grant(&pair.refresh, None).await);
}
