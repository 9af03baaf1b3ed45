//! Every way a token stops working before it expires: `/revoke`, a disabled user, a password
//! change, logout-all. Side by side so that the cut-off rules (what goes with the token, what
//! stays valid) read as one set.

use std::path::Path;

use serde_json::json;
use tokenward::store::UserStore;

use crate::client::{Client, Tokens, tokens};
use crate::error_shapes::{assert_invalid_token, assert_oauth_error};
use crate::fixture::{Fixture, open_store};

pub async fn revocation_endpoint(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);

    let pair = client.login(&fixture.alice).await;
    let reply = client
        .form("/revoke", &format!("token={}", pair.access))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.body.is_empty());
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "revoked access token",
    );
    assert_eq!(
        client
            .form("/revoke", &format!("token={}", pair.access))
            .await
            .status,
        200,
        "already revoked"
    );
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        assert_eq!(
            client
                .form("/revoke", &format!("token={garbage}"))
                .await
                .status,
            200
        );
    }
    assert_oauth_error(
        &client.form("/revoke", "").await,
        400,
        "invalid_request",
        "no token",
    );

    // A wrong hint does not stop it.
    let pair = client.login(&fixture.alice).await;
    let reply = client
        .form(
            "/revoke",
            &format!("token={}&token_type_hint=refresh_token", pair.access),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "revoked with wrong hint",
    );

    // Revoking a refresh token revokes its family's access tokens too.
    let pair = client.login(&fixture.alice).await;
    let reply = client
        .form(
            "/revoke",
            &format!("token={}&token_type_hint=refresh_token", pair.refresh),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_oauth_error(
        &client.refresh_grant(&pair.refresh, None).await,
        400,
        "invalid_grant",
        "revoked refresh token",
    );
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "family of a revoked refresh",
    );
}

pub async fn disabled_user_loses_access(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.dave).await;
    let store = open_store(&fixture).await;
    let dave = store
        .find_by_username(&fixture.dave.username)
        .await
        .unwrap()
        .unwrap();
    store.set_disabled(&dave.id, true).await.unwrap();
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "disabled user's token",
    );
    assert_oauth_error(
        &client.refresh_grant(&pair.refresh, None).await,
        400,
        "invalid_grant",
        "disabled user's refresh",
    );
    assert_oauth_error(
        &client
            .password_grant(&fixture.dave.username, fixture.dave.password, None)
            .await,
        400,
        "invalid_grant",
        "disabled user's login",
    );
}

pub async fn password_change_cuts_off_earlier_tokens(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let alice = &fixture.alice;
    let old = client.login(alice).await;
    let other = client.login(alice).await;

    let wrong = client
        .post_json(
            "/users/me/password",
            &old.access,
            &json!({"current_password": "not it", "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_oauth_error(&wrong, 400, "invalid_grant", "wrong current password");
    let weak = client
        .post_json(
            "/users/me/password",
            &old.access,
            &json!({"current_password": alice.password, "new_password": "short"}),
        )
        .await;
    assert_oauth_error(&weak, 400, "invalid_request", "weak new password");
    assert!(!weak.text().contains(alice.password));

    let new_password = "a brand new passphrase";
    let changed = client
        .post_json(
            "/users/me/password",
            &old.access,
            &json!({"current_password": alice.password, "new_password": new_password}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text());
    // A login right after (same second) works; every earlier token is cut off.
    let fresh = tokens(
        client
            .password_grant(&alice.username, new_password, None)
            .await,
    );
    assert_eq!(client.get("/users/me", &fresh.access).await.status, 200);
    for (what, token) in [("old", &old), ("other", &other)] {
        assert_invalid_token(&client.get("/users/me", &token.access).await, what);
        assert_oauth_error(
            &client.refresh_grant(&token.refresh, None).await,
            400,
            "invalid_grant",
            what,
        );
    }
    assert_oauth_error(
        &client
            .password_grant(&alice.username, alice.password, None)
            .await,
        400,
        "invalid_grant",
        "old password",
    );
}

pub async fn logout_all_cuts_off_every_token(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let first = client.login(&fixture.alice).await;
    let second = client.login(&fixture.alice).await;
    let bystander = client.login(&fixture.dave).await;
    let reply = client
        .post_empty("/users/me/logout-all", &first.access)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    let fresh: Tokens = client.login(&fixture.alice).await;
    for (what, pair) in [("first", &first), ("second", &second)] {
        assert_invalid_token(&client.get("/users/me", &pair.access).await, what);
        assert_oauth_error(
            &client.refresh_grant(&pair.refresh, None).await,
            400,
            "invalid_grant",
            what,
        );
    }
    assert_eq!(
        client.get("/users/me", &fresh.access).await.status,
        200,
        "login right after"
    );
    assert_eq!(
        client.get("/users/me", &bystander.access).await.status,
        200,
        "other users"
    );
}
