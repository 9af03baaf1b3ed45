//! Login with another provider: a second process of the same server binary is the upstream
//! OpenID provider of the first (discovery, PKCE, the code exchange and the id_token's signature
//! over real HTTP on loopback). The attacks a hostile provider can try with its id_tokens are
//! in the library's `tests/upstream_login.rs`, against a provider it plays itself.

use std::path::Path;

use secrecy::SecretString;
use serde_json::json;
use tokenward::password::{Argon2Params, PasswordHasher};

use crate::client::{Client, Reply, enc};
use crate::fixture::{Fixture, TestUser};
use crate::server::Server;
use crate::user_agent::{
    Clients, Pkce, SPA_REDIRECT, UserAgent, authorize_query, hidden, location_params,
};

/// The downstream server's client id at the upstream one.
const CLIENT_ID: &str = "downstream";
const CLIENT_SECRET: &str = "downstream secret: with % and + and spaces";
const BUTTON: &str = "Upstream Test";
/// An issuer on loopback where nothing listens (port 9, discard: refused when unbound).
const NOWHERE: &str = "http://127.0.0.1:9";

/// Starts the upstream server: the fixture's users, and the downstream server registered as a
/// first-party confidential client whose redirect URI is on loopback (any port matches).
async fn start_upstream(bin: &Path, fixture: &Fixture) -> Server {
    let hasher = PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap();
    let hash = hasher
        .hash(&SecretString::from(CLIENT_SECRET.to_owned()))
        .unwrap();
    let clients = json!([{
        "client_id": CLIENT_ID,
        "client_secret_hash": hash.expose_secret(),
        "redirect_uris": ["http://127.0.0.1/upstream/callback"],
        "grant_types": ["authorization_code"],
        "scopes": ["openid", "profile", "email"],
        "name": "Downstream",
        "first_party": true,
    }]);
    let path = fixture.dir.path("upstream-clients.json");
    std::fs::write(&path, clients.to_string()).unwrap();
    // No --issuer: the upstream's issuer is its real address, which the downstream fetches.
    let args = [
        "--database-url".to_owned(),
        fixture.dir.sqlite_url(),
        "--users".to_owned(),
        fixture.users_file().display().to_string(),
        "--clients".to_owned(),
        path.display().to_string(),
    ];
    Server::start(bin, &args).await
}

/// Starts a downstream server whose upstream provider is `upstream_issuer`, with the code-flow
/// clients (`spa` among them), and `extra` flags.
async fn start_downstream(
    bin: &Path,
    fixture: &Fixture,
    upstream_issuer: &str,
    extra: &[&str],
) -> Server {
    Clients::write(&fixture.dir);
    let clients = fixture.dir.path("clients.json").display().to_string();
    let mut args = vec![
        "--database-url".to_owned(),
        fixture.dir.sqlite_url(),
        "--users".to_owned(),
        fixture.users_file().display().to_string(),
        "--clients".to_owned(),
        clients,
        "--upstream-issuer".to_owned(),
        upstream_issuer.to_owned(),
        "--upstream-client-id".to_owned(),
        CLIENT_ID.to_owned(),
        "--upstream-client-secret".to_owned(),
        CLIENT_SECRET.to_owned(),
        "--upstream-name".to_owned(),
        BUTTON.to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Server::start(bin, &args).await
}

/// The path and query of `url` under `base`.
fn under<'a>(url: &'a str, base: &str) -> &'a str {
    url.strip_prefix(base)
        .unwrap_or_else(|| panic!("{url} is not under {base}"))
}

/// The downstream login page for `spa`, and its "Log in with" button pressed: the reply that
/// sends the browser upstream.
async fn press_the_upstream_button(browser: &UserAgent, pkce: &Pkce, state: &str) -> Reply {
    let page = browser
        .get(&authorize_query(
            "spa",
            SPA_REDIRECT,
            "openid profile email items:read",
            state,
            pkce,
            "",
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(
        html.contains(&format!("Log in with {BUTTON}")),
        "the login page offers the upstream provider:\n{html}"
    );
    browser
        .post_form(
            "/upstream/start",
            &[
                ("pending", &hidden(&html, "pending")),
                ("csrf", &hidden(&html, "csrf")),
            ],
        )
        .await
}

/// The whole round trip for `user` of the upstream: returns the downstream's answer to the
/// callback and the callback's path.
async fn round_trip(
    downstream: &Server,
    upstream: &Server,
    browser: &UserAgent,
    user: &TestUser,
    pkce: &Pkce,
) -> (Reply, String) {
    let sent = press_the_upstream_button(browser, pkce, "st").await;
    assert_eq!(sent.status, 303, "{}", sent.text());
    let to = sent.header("location").unwrap();
    assert!(
        to.starts_with(&format!("{}/authorize?", upstream.base)),
        "{to}"
    );
    let params = location_params(&sent);
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(!params["nonce"].is_empty() && !params["state"].is_empty());

    // At the upstream: its own login page, its own user.
    let there = UserAgent::new(upstream);
    let page = there.get(under(&to, &upstream.base)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let back = there.log_in(&page, &user.username, user.password).await;
    assert_eq!(back.status, 303, "{}", back.text());
    let callback = back.header("location").unwrap();
    assert!(
        callback.starts_with(&format!("{}/upstream/callback?", downstream.base)),
        "{callback}"
    );
    assert_eq!(location_params(&back)["iss"], upstream.base);
    let path = under(&callback, &downstream.base).to_owned();
    // `spa` is a native app's client: confirmed once in this browser (RFC 8252 §8.6).
    let answer = browser.get(&path).await;
    (browser.confirm_native_app(answer).await, path)
}

/// The downstream's tokens for the code in `reply` (the redirect to `spa`).
async fn redeem(downstream: &Server, reply: &Reply, pkce: &Pkce) -> serde_json::Value {
    assert_eq!(reply.status, 303, "{}", reply.text());
    let params = location_params(reply);
    assert_eq!(params["state"], "st");
    assert_eq!(params["iss"], downstream.base, "the downstream's own iss");
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}&client_id=spa",
        enc(&params["code"]),
        enc(SPA_REDIRECT),
        pkce.verifier
    );
    let tokens = Client::new(downstream).form("/token", &body).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    tokens.json()
}

pub async fn login_through_a_second_server(bin: &Path) {
    let at_upstream = Fixture::new();
    let upstream = start_upstream(bin, &at_upstream).await;
    let here = Fixture::new();
    let downstream = start_downstream(
        bin,
        &here,
        &upstream.base,
        &["--upstream-create-users", "on"],
    )
    .await;
    let client = Client::new(&downstream);

    let browser = UserAgent::new(&downstream);
    let pkce = Pkce::new("upstream-1");
    let (answer, callback) =
        round_trip(&downstream, &upstream, &browser, &at_upstream.alice, &pkce).await;
    let tokens = redeem(&downstream, &answer, &pkce).await;
    assert!(
        browser.cookie("tokenward_session").is_some(),
        "logged in here"
    );
    // Tokens of this server, for a user created here from the upstream's userinfo.
    let access = tokens["access_token"].as_str().unwrap();
    let (_, claims) = crate::client::decode_jwt(access);
    assert_eq!(claims["iss"], downstream.base);
    let info = client.get("/userinfo", access).await;
    assert_eq!(info.status, 200, "{}", info.text());
    let info = info.json();
    // Named after the identity, never after the upstream's username; its name from userinfo.
    assert_ne!(
        info["preferred_username"],
        at_upstream.alice.username.as_str()
    );
    assert_eq!(info["name"], "Alice Example");
    assert_eq!(info["sub"], claims["sub"]);
    let created_sub = claims["sub"].as_str().unwrap().to_owned();
    // The local alice (same email, but the upstream does not say it is verified) is another user.
    let local = client.login(&here.alice).await;
    let (_, local_claims) = crate::client::decode_jwt(&local.access);
    assert_ne!(local_claims["sub"].as_str(), Some(created_sub.as_str()));

    // The callback once more: its state was taken, so nothing happens.
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status, 400, "{}", replay.text());
    assert!(replay.header("location").is_none());

    // A new browser logs in upstream again: the same local user, through the link.
    let again = UserAgent::new(&downstream);
    let pkce = Pkce::new("upstream-2");
    let (answer, _) = round_trip(&downstream, &upstream, &again, &at_upstream.alice, &pkce).await;
    let tokens = redeem(&downstream, &answer, &pkce).await;
    let (_, claims) = crate::client::decode_jwt(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"].as_str(), Some(created_sub.as_str()));

    downstream.terminate().await;
    upstream.terminate().await;
}

pub async fn upstream_refusals_end_on_error_pages(bin: &Path) {
    let at_upstream = Fixture::new();
    let upstream = start_upstream(bin, &at_upstream).await;

    // Without --upstream-create-users: the local alice has the upstream alice's email, but the
    // upstream does not say it is verified, so no link and an error page.
    let here = Fixture::new();
    let downstream = start_downstream(bin, &here, &upstream.base, &[]).await;
    let browser = UserAgent::new(&downstream);
    let pkce = Pkce::new("refused-1");
    let (answer, _) = round_trip(&downstream, &upstream, &browser, &at_upstream.alice, &pkce).await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert!(
        answer.text().contains("No account here"),
        "{}",
        answer.text()
    );
    assert!(answer.header("location").is_none());
    assert!(browser.cookie("tokenward_session").is_none());

    // Callbacks nobody started, or with a state of no browser.
    for query in [
        "",
        "?code=x",
        "?code=x&state=forged",
        "?error=access_denied&state=forged",
    ] {
        let reply = browser.get(&format!("/upstream/callback{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.text());
        assert!(reply.header("location").is_none(), "{query}");
    }
    downstream.terminate().await;

    // The upstream down: the button gives an error page, not a 500 and not a redirect.
    upstream.terminate().await;
    let elsewhere = Fixture::new();
    let downstream = start_downstream(bin, &elsewhere, NOWHERE, &[]).await;
    let browser = UserAgent::new(&downstream);
    let sent = press_the_upstream_button(&browser, &Pkce::new("down"), "st").await;
    assert_eq!(sent.status, 502, "{}", sent.text());
    assert!(sent.text().contains(&format!("{BUTTON} is not answering")));
    assert!(sent.header("location").is_none());
    downstream.terminate().await;
}
