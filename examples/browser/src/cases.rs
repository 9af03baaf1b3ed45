//! The browser tests. Each starts its own server (own SQLite database), chromedriver and
//! Chromium, clicks through the pages as a user would, and stops everything at the end.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokenward_contract::client::{Client as HttpClient, enc};
use tokenward_contract::server::{Server, Workdir};
use url::Url;

use crate::driver::{Browser, Chromedriver};

/// The demo user every server creates in an empty store.
const DEMO_USER: &str = "johndoe";
/// The login page's one message for every failed login.
const GENERIC_LOGIN_ERROR: &str = "The username or password is incorrect.";

/// A public, not first-party client (so it gets the consent page). Its redirect URI is on a
/// loopback IP literal, which matches any port: the test sends the server's own port, so the
/// browser lands on the server (a 404 page there, but the URL is what counts).
const THIRD_PARTY_CLIENT: &str = "thirdparty";
const THIRD_PARTY_NAME: &str = "Third-Party Notes";
const THIRD_PARTY_CLIENTS_FILE: &str = r#"[{
  "client_id": "thirdparty",
  "redirect_uris": ["http://127.0.0.1/cb"],
  "grant_types": ["authorization_code", "refresh_token"],
  "scopes": ["items:read"],
  "name": "Third-Party Notes",
  "first_party": false
}]"#;
/// The third-party client's PKCE verifier (43 to 128 unreserved characters).
const VERIFIER: &str = "tokenward-browser-test-pkce-verifier-0123456789abcdef";

async fn start_server(bin: &Path, work: &Workdir, extra: &[String]) -> (Server, String) {
    let mut args = vec!["--database-url".to_owned(), work.sqlite_url()];
    args.extend_from_slice(extra);
    let server = Server::start(bin, &args).await;
    let password = server.demo_password().unwrap_or_else(|| {
        panic!(
            "the server printed no demo password: {:?}",
            server.stdout.lock().unwrap()
        )
    });
    (server, password)
}

/// On the login page: types the credentials and presses "Sign in".
async fn sign_in(browser: &Browser, username: &str, password: &str) {
    browser.fill("#username", username).await;
    browser.fill("#password", password).await;
    browser.click("#sign-in").await;
}

/// Waits for the login page and checks it is one.
async fn expect_login_page(browser: &Browser) {
    browser.element("#sign-in").await;
    browser.element("#username").await;
    browser.element("#password").await;
    assert_eq!(browser.text("main h1").await, "Sign in");
}

/// Waits for the demo callback page and returns its scope and the access token's claims.
async fn expect_demo_welcome(browser: &Browser, server: &Server) -> (String, Value) {
    browser.element("#welcome").await;
    let url = browser.url().await;
    assert_eq!(
        url.path(),
        "/demo/callback",
        "the welcome page should be the demo callback, not {url}"
    );
    let scope = browser.text("#scope").await;
    let claims_text = browser.text("#claims").await;
    assert!(
        claims_text.contains(r#""client_id": "demo""#),
        "the claims should name the demo client:\n{claims_text}"
    );
    let claims: Value = serde_json::from_str(&claims_text)
        .unwrap_or_else(|e| panic!("#claims is not JSON ({e}):\n{claims_text}"));
    assert_eq!(claims["client_id"], "demo", "{claims}");
    assert_eq!(claims["iss"], server.base.as_str(), "{claims}");
    let granted = claims["scope"].as_str().unwrap_or_default();
    assert!(
        granted.split(' ').any(|s| s == "items:read"),
        "the token should carry items:read: {claims}"
    );
    (scope, claims)
}

/// Opens `/demo`, clicks "Log in" and waits for the login page.
async fn open_demo_login(browser: &Browser, server: &Server) {
    browser.goto(&server.url("/demo")).await;
    browser.click("#login").await;
    expect_login_page(browser).await;
    let url = browser.url().await;
    assert_eq!(
        url.path(),
        "/authorize",
        "the Log in link should lead to /authorize, not {url}"
    );
}

/// `/authorize` for the third-party client with `state`, its redirect URI on the server's port.
fn third_party_authorize_url(server: &Server, state: &str) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    Url::parse_with_params(
        &server.url("/authorize"),
        [
            ("response_type", "code"),
            ("client_id", THIRD_PARTY_CLIENT),
            ("redirect_uri", &third_party_redirect_uri(server)),
            ("scope", "items:read"),
            ("state", state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("authorize URL")
    .into()
}

fn third_party_redirect_uri(server: &Server) -> String {
    server.url("/cb")
}

/// The query parameter `name` of `url`, if there is exactly one.
fn param(url: &Url, name: &str) -> Option<String> {
    let mut values = url.query_pairs().filter(|(n, _)| n == name).map(|(_, v)| v);
    let value = values.next()?.into_owned();
    values.next().is_none().then_some(value)
}

/// Waits until the browser is back at the third-party client's redirect URI; checks `state`
/// and `iss` (RFC 9207) and returns the URL.
async fn expect_back_at_client(browser: &Browser, server: &Server, state: &str) -> Url {
    let redirect_uri = third_party_redirect_uri(server);
    let url = browser
        .wait_for_url("the redirect back to the client", |url| {
            url.as_str().starts_with(&format!("{redirect_uri}?"))
        })
        .await;
    assert_eq!(param(&url, "state").as_deref(), Some(state), "{url}");
    assert_eq!(
        param(&url, "iss").as_deref(),
        Some(server.base.as_str()),
        "{url}"
    );
    url
}

/// Checks a success redirect (`code`, no `error`) and returns the code.
fn expect_code(url: &Url, server: &Server) -> String {
    assert!(
        url.as_str()
            .starts_with(&format!("{}?code=", third_party_redirect_uri(server))),
        "the redirect should carry a code first: {url}"
    );
    assert_eq!(param(url, "error"), None, "{url}");
    let code = param(url, "code").unwrap_or_default();
    assert!(!code.is_empty(), "no code in {url}");
    code
}

/// The login page, then the demo callback showing the access token's claims. Also the
/// screenshot of the login page (`TOKENWARD_SCREENSHOT=/abs/path.png` writes it there).
pub async fn demo_login_through_the_login_page(bin: &Path) {
    let work = Workdir::new();
    let (server, password) = start_server(bin, &work, &[]).await;
    let driver = Chromedriver::start().await;
    let browser = driver.session().await;

    open_demo_login(&browser, &server).await;
    browser.assert_absent("#login-error").await;
    let page = browser.text("main").await;
    assert!(
        page.contains("tokenward demo"),
        "the login page should name the client:\n{page}"
    );
    let png = browser.screenshot().await;
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG screenshot"
    );
    if let Some(path) = std::env::var_os("TOKENWARD_SCREENSHOT") {
        std::fs::write(&path, &png)
            .unwrap_or_else(|e| panic!("writing the screenshot to {}: {e}", path.display()));
    }

    sign_in(&browser, DEMO_USER, &password).await;
    let (scope, _) = expect_demo_welcome(&browser, &server).await;
    assert_eq!(scope, "items:read", "the token endpoint's scope");

    browser.close().await;
    drop(driver);
    server.terminate().await;
}

/// A wrong password re-shows the login page with the one generic message, keeps the username,
/// never the password; the right password then works.
pub async fn wrong_password_shows_the_error(bin: &Path) {
    let work = Workdir::new();
    let (server, password) = start_server(bin, &work, &[]).await;
    let driver = Chromedriver::start().await;
    let browser = driver.session().await;

    open_demo_login(&browser, &server).await;
    sign_in(&browser, DEMO_USER, &format!("not-{password}")).await;
    assert_eq!(browser.text("#login-error").await, GENERIC_LOGIN_ERROR);
    expect_login_page(&browser).await;
    browser.assert_absent("#welcome").await;
    assert_eq!(browser.value("#username").await, DEMO_USER, "username kept");
    assert_eq!(browser.value("#password").await, "", "password not echoed");

    sign_in(&browser, DEMO_USER, &password).await;
    expect_demo_welcome(&browser, &server).await;

    browser.close().await;
    drop(driver);
    server.terminate().await;
}

/// A client that is not first-party gets the consent page. "Deny" sends the browser back with
/// `access_denied` and is not remembered; "Allow" (in another browser) sends it back with a code
/// that redeems for a token; the same browser then goes straight back with a new code, without
/// the login or consent page.
pub async fn consent_page_for_a_third_party_client(bin: &Path) {
    let work = Workdir::new();
    let clients = work.path("clients.json");
    std::fs::write(&clients, THIRD_PARTY_CLIENTS_FILE).expect("write clients file");
    let (server, password) = start_server(
        bin,
        &work,
        &["--clients".into(), clients.display().to_string()],
    )
    .await;
    let driver = Chromedriver::start().await;

    // Deny first: consent is remembered per user, client and scopes once allowed, so a later
    // browser of the same user would not be asked again.
    let denying = driver.session().await;
    denying
        .goto(&third_party_authorize_url(&server, "d1"))
        .await;
    expect_login_page(&denying).await;
    sign_in(&denying, DEMO_USER, &password).await;
    expect_consent_page(&denying).await;
    denying.click("#deny").await;
    let url = expect_back_at_client(&denying, &server, "d1").await;
    assert_eq!(
        param(&url, "error").as_deref(),
        Some("access_denied"),
        "{url}"
    );
    assert_eq!(param(&url, "code"), None, "{url}");
    denying.close().await;

    // A fresh browser: log in again, asked again (the denial was not remembered), allow.
    let browser = driver.session().await;
    browser
        .goto(&third_party_authorize_url(&server, "s1"))
        .await;
    expect_login_page(&browser).await;
    sign_in(&browser, DEMO_USER, &password).await;
    expect_consent_page(&browser).await;
    browser.click("#allow").await;
    let url = expect_back_at_client(&browser, &server, "s1").await;
    let code = expect_code(&url, &server);
    redeem(&server, &code).await;

    // Signed in and allowed: the same browser goes straight back with a code, no page between.
    browser
        .goto(&third_party_authorize_url(&server, "s2"))
        .await;
    let url = browser.url().await;
    assert!(
        url.as_str()
            .starts_with(&format!("{}?", third_party_redirect_uri(&server))),
        "a signed-in user who allowed the client should be sent straight back, not shown a page\n{}",
        browser.describe().await
    );
    let url = expect_back_at_client(&browser, &server, "s2").await;
    let second = expect_code(&url, &server);
    assert_ne!(code, second, "every authorization gets a new code");

    browser.close().await;
    drop(driver);
    server.terminate().await;
}

/// Waits for the consent page and checks what it asks.
async fn expect_consent_page(browser: &Browser) {
    browser.element("#allow").await;
    browser.element("#deny").await;
    let page = browser.text("main").await;
    assert!(
        page.contains(THIRD_PARTY_NAME) && page.contains(DEMO_USER),
        "the consent page should name the client and the user:\n{page}"
    );
    let scopes = browser.text("ul.scopes").await;
    assert_eq!(
        scopes.lines().map(str::trim).collect::<Vec<_>>(),
        ["items:read"],
        "the consent page should list the requested scope"
    );
}

/// Exchanges the third-party client's `code` at `/token` and checks the token.
async fn redeem(server: &Server, code: &str) {
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}&client_id={THIRD_PARTY_CLIENT}",
        enc(code),
        enc(&third_party_redirect_uri(server)),
    );
    let reply = HttpClient::new(server).form("/token", &body).await;
    assert_eq!(reply.status, 200, "redeeming the code: {}", reply.text());
    let json = reply.json();
    assert_eq!(json["scope"], "items:read", "{json}");
    let access = json["access_token"].as_str().expect("access_token");
    let (_, claims) = tokenward_contract::client::decode_jwt(access);
    assert_eq!(claims["client_id"], THIRD_PARTY_CLIENT, "{claims}");
}

/// The downstream server's client at the upstream server: first-party (no consent page), its
/// callback on loopback (any port matches).
const UPSTREAM_CLIENTS_FILE: &str = r#"[{
  "client_id": "downstream",
  "client_secret_hash": "SECRET_HASH",
  "redirect_uris": ["http://127.0.0.1/upstream/callback"],
  "grant_types": ["authorization_code"],
  "scopes": ["openid", "profile", "email"],
  "name": "Downstream",
  "first_party": true
}]"#;
const UPSTREAM_SECRET: &str = "browser-test upstream secret";

/// Login with another provider: a second server is the first one's upstream provider. The demo
/// page of the first, its login page's "Log in with" button, the second's login page, and back
/// on the first's demo callback with its tokens, for a user created at this first login (the
/// demo user of the first server has the same name and is not the one logged in).
pub async fn login_through_another_server(bin: &Path) {
    let upstream_work = Workdir::new();
    let hash = tokenward::password::PasswordHasher::builder()
        .params(
            tokenward::password::Argon2Params::new(
                tokenward::password::Argon2Params::MIN_MEMORY_KIB,
                1,
                1,
            )
            .expect("argon2 parameters"),
        )
        .build()
        .expect("hasher")
        .hash(&secrecy::SecretString::from(UPSTREAM_SECRET.to_owned()))
        .expect("hash");
    let clients = upstream_work.path("clients.json");
    std::fs::write(
        &clients,
        UPSTREAM_CLIENTS_FILE.replace("SECRET_HASH", hash.expose_secret()),
    )
    .expect("write clients file");
    let (upstream, upstream_password) = start_server(
        bin,
        &upstream_work,
        &["--clients".into(), clients.display().to_string()],
    )
    .await;
    let work = Workdir::new();
    let (server, local_password) = start_server(
        bin,
        &work,
        &[
            "--upstream-issuer".into(),
            upstream.base.clone(),
            "--upstream-client-id".into(),
            "downstream".into(),
            "--upstream-client-secret".into(),
            UPSTREAM_SECRET.into(),
            "--upstream-name".into(),
            "the Upstream".into(),
            "--upstream-create-users".into(),
            "on".into(),
            "--upstream-user-scopes".into(),
            "items:read".into(),
        ],
    )
    .await;
    let driver = Chromedriver::start().await;
    let browser = driver.session().await;

    open_demo_login(&browser, &server).await;
    assert_eq!(
        browser.text("#upstream-login").await,
        "Log in with the Upstream"
    );
    browser.click("#upstream-login").await;
    expect_login_page(&browser).await;
    let at = browser.url().await;
    assert!(
        at.as_str()
            .starts_with(&format!("{}/authorize?", upstream.base)),
        "the button should lead to the upstream's /authorize, not {at}"
    );
    sign_in(&browser, DEMO_USER, &upstream_password).await;

    // Back at this server's demo callback, with this server's token.
    browser.element("#welcome").await;
    let url = browser.url().await;
    assert!(
        url.as_str().starts_with(&server.url("/demo/callback")),
        "should land on this server's demo callback, not {url}\n{}",
        browser.describe().await
    );
    let claims: Value =
        serde_json::from_str(&browser.text("#claims").await).expect("#claims is JSON");
    assert_eq!(claims["iss"], server.base.as_str(), "{claims}");
    assert_eq!(claims["client_id"], "demo", "{claims}");
    assert_eq!(
        claims["scope"], "items:read",
        "the new user's scopes: {claims}"
    );
    let local = HttpClient::new(&server)
        .form(
            "/token",
            &format!(
                "grant_type=password&username={DEMO_USER}&password={}",
                enc(&local_password)
            ),
        )
        .await;
    assert_eq!(local.status, 200, "{}", local.text());
    let (_, local_claims) = tokenward_contract::client::decode_jwt(
        local.json()["access_token"].as_str().expect("access_token"),
    );
    assert_ne!(
        claims["sub"], local_claims["sub"],
        "a name the upstream prefers never links to the local user of that name"
    );

    browser.close().await;
    drop(driver);
    server.terminate().await;
    upstream.terminate().await;
}
