//! The contract's "The user's own account" section: a third-party client's token reaches
//! `/users/me` and the routes under it only as far as its scopes go (issue 27.2), while tokens
//! from no client or from a first-party client reach all of it.

use std::path::Path;

use serde_json::{Value, json};

use crate::client::{Client, Reply, decode_jwt, enc, tokens};
use crate::error_shapes::assert_oauth_error;
use crate::fixture::Fixture;
use crate::server::Server;
use crate::user_agent::{
    Clients, Pkce, UserAgent, WEB_REDIRECT, authorize_query, basic, location_params,
};

/// The SPA's redirect URI on a loopback port (registered without one).
const SPA_ON_PORT: &str = "http://127.0.0.1:54321/cb";

/// An access token of `client_id` (`web`: third-party, confidential; `spa`: first-party,
/// public) for the user `agent` is logged in as, with `scope`; consents when asked.
async fn code_flow_token(
    server: &Server,
    agent: &UserAgent,
    clients: &Clients,
    client_id: &str,
    scope: &str,
) -> String {
    let redirect = if client_id == "web" {
        WEB_REDIRECT
    } else {
        SPA_ON_PORT
    };
    let pkce = Pkce::new(scope);
    let mut page = agent
        .get(&authorize_query(
            client_id, redirect, scope, "st", &pkce, "",
        ))
        .await;
    if page.status == 200 {
        assert!(
            page.text().contains("name=\"decision\""),
            "{client_id} {scope}: a consent page, the user being logged in: {}",
            page.text()
        );
        page = agent.decide(&page, "allow").await;
    }
    assert_eq!(page.status, 303, "{client_id} {scope}: {}", page.text());
    let code = location_params(&page)["code"].clone();
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        enc(&code),
        enc(redirect),
        pkce.verifier
    );
    let client = Client::new(server);
    let mut request = client
        .request(reqwest::Method::POST, "/token")
        .header("content-type", "application/x-www-form-urlencoded");
    request = if client_id == "web" {
        request
            .header("authorization", basic("web", clients.web_secret))
            .body(body)
    } else {
        request.body(format!("{body}&client_id={client_id}"))
    };
    let issued = tokens(client.execute(request).await);
    assert_eq!(decode_jwt(&issued.access).1["client_id"], client_id);
    issued.access
}

/// A 403 `insufficient_scope` whose challenge names the `account` scope.
fn assert_needs_account_scope(reply: &Reply, what: &str) {
    assert_oauth_error(reply, 403, "insufficient_scope", what);
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"account\""),
        "{what}: {challenge}"
    );
}

pub async fn third_party_tokens_reach_the_account_only_by_scope(bin: &Path) {
    let fixture = Fixture::new();
    let clients = Clients::write(&fixture.dir);
    let clients_file = fixture.dir.path("clients.json").display().to_string();
    let server = fixture
        .start(bin, &["--clients", clients_file.as_str()])
        .await;
    let client = Client::new(&server);
    let agent = UserAgent::new(&server);
    let pkce = Pkce::new("log in");
    let page = agent
        .get(&authorize_query(
            "web",
            WEB_REDIRECT,
            "items:read",
            "st",
            &pkce,
            "",
        ))
        .await;
    let consent = agent
        .log_in(&page, &fixture.alice.username, fixture.alice.password)
        .await;
    assert_eq!(consent.status, 200, "{}", consent.text());

    // The deployment's own app (the password grant, no client): the whole account.
    let own = client.login(&fixture.alice).await;
    let sub = decode_jwt(&own.access).1["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let everything = json!({"sub": sub, "username": fixture.alice.username,
        "full_name": "Alice Example", "email": "alice@example.com",
        "scopes": ["items:read", "items:write"], "disabled": false});

    // A third party granted items:read: its API, and of the account the sub alone.
    let reader = code_flow_token(&server, &agent, &clients, "web", "items:read").await;
    assert_eq!(client.get("/items", &reader).await.status, 200);
    let me = client.get("/users/me", &reader).await;
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json(), json!({"sub": sub, "disabled": false}));
    // It may not log the user out everywhere, nor change the password, even knowing it.
    let logout_all = client.post_empty("/users/me/logout-all", &reader).await;
    assert_needs_account_scope(&logout_all, "logout-all with items:read");
    let change = json!({"current_password": fixture.alice.password,
        "new_password": "a brand new passphrase"});
    let password = client
        .post_json("/users/me/password", &reader, &change)
        .await;
    assert_needs_account_scope(&password, "password change with items:read");
    // Nothing happened: every token still works, the password is the old one.
    let me = client.get("/users/me", &own.access).await;
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json(), everything);
    assert_eq!(client.get("/users/me", &reader).await.status, 200);
    assert_eq!(
        client
            .password_grant(&fixture.alice.username, fixture.alice.password, None)
            .await
            .status,
        200
    );

    // With profile and email (the user consented to them): those fields, still no management.
    let identity =
        code_flow_token(&server, &agent, &clients, "web", "items:read profile email").await;
    let me: Value = client.get("/users/me", &identity).await.json();
    assert_eq!(
        me,
        json!({"sub": sub, "username": fixture.alice.username, "full_name": "Alice Example",
               "email": "alice@example.com", "disabled": false})
    );
    let logout_all = client.post_empty("/users/me/logout-all", &identity).await;
    assert_needs_account_scope(&logout_all, "logout-all with profile email");

    // A first-party client with items:read alone: the whole account, and it may manage it.
    let first_party = code_flow_token(&server, &agent, &clients, "spa", "items:read").await;
    assert_eq!(
        client.get("/users/me", &first_party).await.json(),
        everything
    );
    let logout_all = client
        .post_empty("/users/me/logout-all", &first_party)
        .await;
    assert_eq!(logout_all.status, 204, "{}", logout_all.text());
    assert_eq!(client.get("/users/me", &reader).await.status, 401);
}
