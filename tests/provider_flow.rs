//! The authorization server's flows where time or state matters, with in-memory stores and a
//! manual clock: code expiry, a logout-all between login and exchange, session cookies, the
//! replaceable templates. The HTTP-level clauses are in the contract suite.
#![cfg(feature = "provider")]

use std::sync::Arc;

use http::header::{CONTENT_TYPE, COOKIE, HeaderValue, LOCATION, SET_COOKIE};
use http::{HeaderMap, Response, StatusCode};
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};
use tokenward::TokenIssuer;
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::provider::{
    AuthorizationServer, Client, ClientStore, CodeChallenge, GrantType, Pages, ServerConfigError,
};
use tokenward::store::memory::{
    MemoryAuthorizationStore, MemoryClientStore, MemoryRevocation, MemoryUserStore,
};
use tokenward::store::{User, UserStore};
use tokenward::token::{Scopes, TokenCodec};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "https://app.example/cb";
const PEER: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

struct Env {
    server: AuthorizationServer,
    clock: Arc<ManualClock>,
    users: Arc<MemoryUserStore>,
    alice: String,
}

async fn env_with(issuer_url: &str, client_name: &str, pages: Pages) -> Env {
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    ));
    // HS256 access tokens; id_tokens need the RS256 key beside it.
    let mut keys = KeySet::generate(KeyAlgorithm::HS256).unwrap();
    keys.ensure_id_token_key().unwrap();
    let codec = TokenCodec::builder(keys, issuer_url, "api")
        .clock(clock.clone())
        .build()
        .unwrap();
    let hasher = PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap();
    let users = Arc::new(MemoryUserStore::new());
    let alice = users
        .upsert(User {
            id: String::new(),
            username: "alice".into(),
            password_hash: hasher
                .hash(&SecretString::from("alice password".to_owned()))
                .unwrap(),
            scopes: Scopes::parse("items:read items:write").unwrap(),
            disabled: false,
            full_name: None,
            email: None,
        })
        .await
        .unwrap()
        .id;
    let issuer = TokenIssuer::builder(codec, users.clone(), Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .build()
        .unwrap();
    let clients = Arc::new(MemoryClientStore::new());
    clients
        .insert_client(&Client {
            client_id: "app".into(),
            secret_hash: None,
            redirect_uris: vec![REDIRECT.into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: Scopes::parse("items:read").unwrap(),
            name: client_name.into(),
            first_party: true,
        })
        .await
        .unwrap();
    let server = AuthorizationServer::builder(
        issuer,
        clients,
        Arc::new(MemoryAuthorizationStore::new()),
        issuer_url,
    )
    .pages(pages)
    .build()
    .unwrap();
    Env {
        server,
        clock,
        users,
        alice,
    }
}

async fn env() -> Env {
    env_with("https://auth.example", "App", Pages::new()).await
}

fn authorize_query() -> String {
    format!(
        "response_type=code&client_id=app&redirect_uri={}&state=s&code_challenge={}&code_challenge_method=S256",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        CodeChallenge::of_verifier(VERIFIER).as_str()
    )
}

/// A browser's cookie jar, just enough for these flows.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, response: &Response<Vec<u8>>) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            self.0.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn headers(&self, form: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let cookies: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        if !cookies.is_empty() {
            headers.insert(COOKIE, HeaderValue::from_str(&cookies.join("; ")).unwrap());
        }
        if form {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        }
        headers
    }
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

fn location_param(response: &Response<Vec<u8>>, name: &str) -> Option<String> {
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    url::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// Logs alice in through the login page and returns the code.
async fn code(env: &Env, jar: &mut Jar) -> String {
    let page = env
        .server
        .authorize(&jar.headers(false), &authorize_query())
        .await;
    jar.take(&page);
    if page.status() == StatusCode::SEE_OTHER {
        return location_param(&page, "code").unwrap();
    }
    assert_eq!(page.status(), StatusCode::OK);
    let html = String::from_utf8(page.body().clone()).unwrap();
    let body = format!(
        "pending={}&csrf={}&username=alice&password=alice+password",
        hidden(&html, "pending"),
        hidden(&html, "csrf")
    );
    let done = env
        .server
        .login(PEER, &jar.headers(true), body.as_bytes())
        .await;
    jar.take(&done);
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{:?}", done.body());
    location_param(&done, "code").unwrap()
}

async fn exchange(env: &Env, code: &str) -> Response<Vec<u8>> {
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&client_id=app",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    env.server.token(PEER, &headers, body.as_bytes()).await
}

fn error_of(response: &Response<Vec<u8>>) -> String {
    let json: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    json["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_code_expires_after_sixty_seconds() {
    let env = env().await;
    let mut jar = Jar::default();
    let fresh = code(&env, &mut jar).await;
    env.clock.advance(Duration::seconds(59));
    assert_eq!(exchange(&env, &fresh).await.status(), StatusCode::OK);

    let late = code(&env, &mut jar).await;
    env.clock.advance(Duration::seconds(61));
    let response = exchange(&env, &late).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&response), "invalid_grant");
}

#[tokio::test]
async fn logout_all_between_login_and_exchange_refuses_the_code_and_ends_the_session() {
    let env = env().await;
    let mut jar = Jar::default();
    let code = code(&env, &mut jar).await;
    env.server.issuer().logout_all(&env.alice).await.unwrap();
    let response = exchange(&env, &code).await;
    assert_eq!(error_of(&response), "invalid_grant");
    // The browser session predates the logout-all too: the login page again.
    let page = env
        .server
        .authorize(&jar.headers(false), &authorize_query())
        .await;
    assert_eq!(page.status(), StatusCode::OK, "the login page, not a code");
}

#[tokio::test]
async fn a_disabled_user_loses_the_browser_session() {
    let env = env().await;
    let mut jar = Jar::default();
    code(&env, &mut jar).await;
    env.users.set_disabled(&env.alice, true).await.unwrap();
    let page = env
        .server
        .authorize(&jar.headers(false), &authorize_query())
        .await;
    assert_eq!(page.status(), StatusCode::OK, "the login page, not a code");
}

#[tokio::test]
async fn max_age_asks_for_the_password_again() {
    let env = env().await;
    let mut jar = Jar::default();
    code(&env, &mut jar).await;
    env.clock.advance(Duration::seconds(120));
    let query = format!("{}&max_age=60", authorize_query());
    let page = env.server.authorize(&jar.headers(false), &query).await;
    assert_eq!(page.status(), StatusCode::OK, "login older than max_age");
    let query = format!("{}&max_age=600", authorize_query());
    let page = env.server.authorize(&jar.headers(false), &query).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "recent enough");
}

#[tokio::test]
async fn cookies_are_host_prefixed_and_secure_under_an_https_issuer() {
    let env = env().await;
    let page = env
        .server
        .authorize(&HeaderMap::new(), &authorize_query())
        .await;
    let cookie = page.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    // The __Host- prefix: browsers keep it only as set here, so no subdomain can plant one.
    assert!(cookie.starts_with("__Host-tokenward_browser="), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    // The session cookie too, after a login.
    let mut jar = Jar::default();
    code(&env, &mut jar).await;
    assert!(
        jar.0
            .iter()
            .any(|(name, _)| name == "__Host-tokenward_session"),
        "{:?}",
        jar.0.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    // A cookie of the old name, or of the prefixed name sent twice (one planted), is no session.
    let logged_in = env
        .server
        .authorize(&jar.headers(false), &authorize_query())
        .await;
    assert_eq!(
        logged_in.status(),
        StatusCode::SEE_OTHER,
        "the session holds"
    );
    let (_, session) = jar
        .0
        .iter()
        .find(|(name, _)| name == "__Host-tokenward_session")
        .cloned()
        .unwrap();
    for cookies in [
        format!("tokenward_session={session}"),
        format!("__Host-tokenward_session=planted; __Host-tokenward_session={session}"),
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&cookies).unwrap());
        let page = env.server.authorize(&headers, &authorize_query()).await;
        assert_eq!(page.status(), StatusCode::OK, "a login page for {cookies}");
    }
    let env = env_with("http://127.0.0.1:8000", "App", Pages::new()).await;
    let page = env
        .server
        .authorize(&HeaderMap::new(), &authorize_query())
        .await;
    let cookie = page.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(cookie.starts_with("tokenward_browser="), "{cookie}");
}

#[tokio::test]
async fn templates_are_replaceable_and_escape_what_they_show() {
    assert!(
        Pages::new()
            .with_template("nope.html", String::new())
            .is_err()
    );
    assert!(
        Pages::new()
            .with_template("login.html", "{% if %}".into())
            .is_err(),
        "a template that does not compile is refused at start"
    );
    let pages = Pages::new()
        .with_template(
            "login.html",
            "<p>custom {{ client_name }}</p><input name=\"pending\" value=\"{{ pending }}\">\
             <input name=\"csrf\" value=\"{{ csrf }}\">"
                .into(),
        )
        .unwrap();
    let env = env_with("https://auth.example", "<script>alert(1)</script>", pages).await;
    let page = env
        .server
        .authorize(&HeaderMap::new(), &authorize_query())
        .await;
    let html = String::from_utf8(page.body().clone()).unwrap();
    assert!(html.starts_with("<p>custom "), "{html}");
    assert!(!html.contains("<script>"), "escaped: {html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}

#[tokio::test]
async fn the_issuer_url_is_checked() {
    for bad in [
        "",
        "auth.example",
        "https://auth.example/",
        "https://a.example?x=1",
        "ftp://a.example",
    ] {
        let env = env().await;
        let result = AuthorizationServer::builder(
            env.server.issuer().clone(),
            env.server.clients().clone(),
            Arc::new(MemoryAuthorizationStore::new()),
            bad,
        )
        .build();
        assert!(result.is_err(), "{bad:?}");
    }
    // A well-formed URL that is not the tokens' `iss`: OpenID clients would reject every token.
    let env = env().await;
    let result = AuthorizationServer::builder(
        env.server.issuer().clone(),
        env.server.clients().clone(),
        Arc::new(MemoryAuthorizationStore::new()),
        "https://elsewhere.example",
    )
    .build();
    assert!(matches!(
        result,
        Err(ServerConfigError::IssuerMismatch { .. })
    ));
    // A key set that cannot sign id_tokens (HMAC only).
    let hmac_only = TokenCodec::builder(
        KeySet::generate(KeyAlgorithm::HS256).unwrap(),
        env.server.issuer_url(),
        "api",
    )
    .build()
    .unwrap();
    let issuer = TokenIssuer::builder(
        hmac_only,
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemoryRevocation::new()),
    )
    .build()
    .unwrap();
    let result = AuthorizationServer::builder(
        issuer,
        env.server.clients().clone(),
        Arc::new(MemoryAuthorizationStore::new()),
        env.server.issuer_url(),
    )
    .build();
    assert!(matches!(result, Err(ServerConfigError::NoIdTokenKey)));
}

#[tokio::test]
async fn a_plain_http_issuer_needs_a_loopback_host_or_the_explicit_flag() {
    // Issue 27.10. Loopback: allowed as it is.
    for loopback in [
        "http://127.0.0.1:8000",
        "http://127.9.8.7",
        "http://[::1]:8000",
        "http://localhost:8000",
        "http://LOCALHOST",
    ] {
        let env = env_with(loopback, "App", Pages::new()).await;
        assert_eq!(env.server.issuer_url(), loopback, "built with {loopback:?}");
    }
    // Elsewhere: refused, before any other check.
    let env = env().await;
    let build = |url: &str, allow: bool| {
        let mut builder = AuthorizationServer::builder(
            env.server.issuer().clone(),
            env.server.clients().clone(),
            Arc::new(MemoryAuthorizationStore::new()),
            url,
        );
        if allow {
            builder = builder.allow_insecure_http_issuer();
        }
        builder.build()
    };
    for remote in [
        "http://auth.example",
        "http://10.0.0.1:8000",
        "http://[::2]",
        "http://localhost.example",
        "http://127.0.0.1.nip.io",
        "http://0.0.0.0:8000",
    ] {
        assert!(
            matches!(build(remote, false), Err(ServerConfigError::InsecureIssuer)),
            "{remote}"
        );
        // Allowed explicitly, it gets as far as the next check (the tokens' `iss`).
        assert!(
            matches!(
                build(remote, true),
                Err(ServerConfigError::IssuerMismatch { .. })
            ),
            "{remote}"
        );
    }
    assert!(build("https://auth.example", false).is_ok());
}
