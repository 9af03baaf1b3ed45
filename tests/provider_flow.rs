//! The authorization server's flows where time or state matters, with in-memory stores and a
//! manual clock: code expiry, a logout-all between login and exchange, session cookies, the
//! replaceable templates. The HTTP-level clauses are in the contract suite.
#![cfg(feature = "provider")]

use std::sync::Arc;

use http::header::{CONTENT_TYPE, COOKIE, HeaderValue, LOCATION, RETRY_AFTER, SET_COOKIE};
use http::{HeaderMap, Response, StatusCode};
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};
use tokenward::TokenIssuer;
use tokenward::clock::{Clock, ManualClock};
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::provider::{
    AuthorizationQuery, AuthorizationServer, AuthorizationStore, Client, ClientStore,
    CodeChallenge, GrantType, Pages, PendingLimits, ServerConfigError, secret_digest,
};
use tokenward::store::memory::{
    MemoryAuthorizationStore, MemoryClientStore, MemoryRevocation, MemoryUserStore,
};
use tokenward::store::{ThrottlePolicy, User, UserStore};
use tokenward::token::{IdTokenClaims, Scopes, TokenCodec};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "https://app.example/cb";
const NATIVE_REDIRECT: &str = "http://127.0.0.1/callback";
const PEER: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

struct Env {
    server: AuthorizationServer,
    clock: Arc<ManualClock>,
    users: Arc<MemoryUserStore>,
    store: Arc<MemoryAuthorizationStore>,
    alice: String,
}

/// How many records of each kind the tests' memory store holds.
const STORE_CAPACITY: usize = 1_000;

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
        .insert_client(&app_client(client_name))
        .await
        .unwrap();
    // A native app: public, loopback redirect (RFC 8252). First-party, yet confirmed once.
    clients
        .insert_client(&Client {
            client_id: "cli".into(),
            secret_hash: None,
            redirect_uris: vec![NATIVE_REDIRECT.into()],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scopes::parse("items:read").unwrap(),
            name: "Command line".into(),
            first_party: true,
        })
        .await
        .unwrap();
    let store = Arc::new(MemoryAuthorizationStore::with_capacity(STORE_CAPACITY));
    let server = AuthorizationServer::builder(issuer, clients, store.clone(), issuer_url)
        .pages(pages)
        .build()
        .unwrap();
    Env {
        server,
        clock,
        users,
        store,
        alice,
    }
}

/// The web app's client: public, https redirect, first-party.
fn app_client(name: &str) -> Client {
    Client {
        client_id: "app".into(),
        secret_hash: None,
        redirect_uris: vec![REDIRECT.into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: Scopes::parse("items:read").unwrap(),
        name: name.into(),
        first_party: true,
    }
}

async fn env() -> Env {
    env_with("https://auth.example", "App", Pages::new()).await
}

fn authorize_query() -> String {
    authorize_query_for("app", REDIRECT)
}

fn authorize_query_for(client_id: &str, redirect_uri: &str) -> String {
    format!(
        "response_type=code&client_id={client_id}&redirect_uri={}&state=s&code_challenge={}&code_challenge_method=S256",
        form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>(),
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
        .authorize(PEER, &jar.headers(false), &authorize_query())
        .await;
    jar.take(&page);
    if page.status() == StatusCode::SEE_OTHER {
        return location_param(&page, "code").unwrap();
    }
    let done = submit_login(env, jar, &page).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{:?}", done.body());
    location_param(&done, "code").unwrap()
}

/// Submits alice's password on the login page `page`.
async fn submit_login(env: &Env, jar: &mut Jar, page: &Response<Vec<u8>>) -> Response<Vec<u8>> {
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
    done
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
        .authorize(PEER, &jar.headers(false), &authorize_query())
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
        .authorize(PEER, &jar.headers(false), &authorize_query())
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
    let page = env
        .server
        .authorize(PEER, &jar.headers(false), &query)
        .await;
    assert_eq!(page.status(), StatusCode::OK, "login older than max_age");
    let query = format!("{}&max_age=600", authorize_query());
    let page = env
        .server
        .authorize(PEER, &jar.headers(false), &query)
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "recent enough");
}

#[tokio::test]
async fn cookies_are_host_prefixed_and_secure_under_an_https_issuer() {
    let env = env().await;
    let page = env
        .server
        .authorize(PEER, &HeaderMap::new(), &authorize_query())
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
        .authorize(PEER, &jar.headers(false), &authorize_query())
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
        let page = env
            .server
            .authorize(PEER, &headers, &authorize_query())
            .await;
        assert_eq!(page.status(), StatusCode::OK, "a login page for {cookies}");
    }
    let env = env_with("http://127.0.0.1:8000", "App", Pages::new()).await;
    let page = env
        .server
        .authorize(PEER, &HeaderMap::new(), &authorize_query())
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
        .authorize(PEER, &HeaderMap::new(), &authorize_query())
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
    // Pending-request limits that allow nothing, or count in no window.
    let none = ThrottlePolicy {
        max_failures: 0,
        window_secs: 600,
    };
    let windowless = ThrottlePolicy {
        max_failures: 10,
        window_secs: 0,
    };
    for limits in [
        PendingLimits {
            per_address: none,
            ..PendingLimits::default()
        },
        PendingLimits {
            per_browser: windowless,
            ..PendingLimits::default()
        },
    ] {
        let result = AuthorizationServer::builder(
            env.server.issuer().clone(),
            env.server.clients().clone(),
            Arc::new(MemoryAuthorizationStore::new()),
            env.server.issuer_url(),
        )
        .pending_limits(limits)
        .build();
        assert!(matches!(result, Err(ServerConfigError::PendingLimits)));
    }
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

fn html(response: &Response<Vec<u8>>) -> String {
    String::from_utf8(response.body().clone()).unwrap()
}

/// Whether the jar's browser session still gets codes for `app` without a page.
async fn signed_in(env: &Env, jar: &Jar) -> bool {
    let answer = env
        .server
        .authorize(PEER, &jar.headers(false), &authorize_query())
        .await;
    answer.status() == StatusCode::SEE_OTHER
}

fn id_token(codec: &TokenCodec, sub: &str, aud: &str, exp: i64) -> String {
    codec
        .issue_id_token(&IdTokenClaims {
            iss: codec.issuer().to_owned(),
            sub: sub.into(),
            aud: aud.into(),
            exp,
            iat: exp - 300,
            auth_time: exp - 300,
            nonce: None,
            at_hash: "unused".into(),
        })
        .unwrap()
}

// RP-Initiated Logout: a link or image on another site cannot end the session.
#[tokio::test]
async fn logout_without_an_id_token_hint_asks_first_and_only_the_form_ends_the_session() {
    let env = env().await;
    let mut jar = Jar::default();
    code(&env, &mut jar).await;

    let page = env.server.logout(&jar.headers(false), "").await;
    assert_eq!(page.status(), StatusCode::OK);
    jar.take(&page);
    assert!(signed_in(&env, &jar).await, "a GET only shows the question");
    let csrf = hidden(&html(&page), "csrf");

    // Another browser's session, with its own confirmation page.
    let mut other_jar = Jar::default();
    code(&env, &mut other_jar).await;
    let other_page = env.server.logout(&other_jar.headers(false), "").await;
    let others_token = hidden(&html(&other_page), "csrf");

    // A forged form (no token, a made-up one, another session's, a repeated one) ends nothing.
    for forged in [
        String::new(),
        "csrf=AAAA".to_owned(),
        format!("csrf={others_token}"),
        format!("csrf={csrf}&csrf={csrf}"),
    ] {
        env.server.logout(&jar.headers(true), &forged).await;
        assert!(signed_in(&env, &jar).await, "{forged} signed the user out");
    }
    let done = env
        .server
        .logout(&jar.headers(true), &format!("csrf={csrf}"))
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(html(&done).contains("You are signed out."));
    jar.take(&done);
    assert!(
        !signed_in(&env, &jar).await,
        "the confirmed form signed out"
    );
}

#[tokio::test]
async fn logout_with_the_sessions_id_token_hint_needs_no_page_even_expired() {
    let env = env().await;
    let mut jar = Jar::default();
    code(&env, &mut jar).await;
    let codec = env.server.issuer().codec().clone();
    let past = env.clock.now().unix_timestamp() - 3600;
    let redirect = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>();

    // Hints that prove nothing ask the user: another user's, another signer's.
    let mut foreign_keys = KeySet::generate(KeyAlgorithm::HS256).unwrap();
    foreign_keys.ensure_id_token_key().unwrap();
    let foreign = TokenCodec::builder(foreign_keys, "https://auth.example", "api")
        .build()
        .unwrap();
    for hint in [
        id_token(&codec, "someone-else", "app", past),
        id_token(&foreign, &env.alice, "app", past),
        "not.a.token".to_owned(),
    ] {
        let page = env
            .server
            .logout(&jar.headers(false), &format!("id_token_hint={hint}"))
            .await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(html(&page).contains("name=\"csrf\""), "a confirmation page");
        assert!(signed_in(&env, &jar).await);
    }
    // A client_id other than the hint's audience: refused (RP-Initiated Logout §2).
    let hint = id_token(&codec, &env.alice, "app", past);
    let mismatch = env
        .server
        .logout(
            &jar.headers(false),
            &format!("id_token_hint={hint}&client_id=cli"),
        )
        .await;
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    assert!(signed_in(&env, &jar).await);

    // The session user's own id_token, expired an hour ago: out at once, back to the client.
    let bye = env
        .server
        .logout(
            &jar.headers(false),
            &format!("id_token_hint={hint}&post_logout_redirect_uri={redirect}&state=xyz"),
        )
        .await;
    assert_eq!(bye.status(), StatusCode::SEE_OTHER);
    assert_eq!(location_param(&bye, "state").as_deref(), Some("xyz"));
    assert!(
        bye.headers()
            .get(LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(REDIRECT)
    );
    jar.take(&bye);
    assert!(!signed_in(&env, &jar).await);
}

// RFC 8252 §8.6: a native app's client_id proves nothing; the user confirms it once per session.
#[tokio::test]
async fn a_native_app_is_confirmed_once_per_browser_session_even_first_party() {
    let env = env().await;
    let mut jar = Jar::default();
    code(&env, &mut jar).await;
    let query = authorize_query_for("cli", NATIVE_REDIRECT);

    let silent = env
        .server
        .authorize(PEER, &jar.headers(false), &format!("{query}&prompt=none"))
        .await;
    assert_eq!(silent.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location_param(&silent, "error").as_deref(),
        Some("interaction_required")
    );

    let page = env
        .server
        .authorize(PEER, &jar.headers(false), &query)
        .await;
    assert_eq!(page.status(), StatusCode::OK, "the confirmation page");
    jar.take(&page);
    let body = format!(
        "pending={}&csrf={}&decision=allow",
        hidden(&html(&page), "pending"),
        hidden(&html(&page), "csrf")
    );
    let allowed = env
        .server
        .consent(&jar.headers(true), body.as_bytes())
        .await;
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    assert!(location_param(&allowed, "code").is_some());

    let silent = env
        .server
        .authorize(PEER, &jar.headers(false), &format!("{query}&prompt=none"))
        .await;
    assert!(
        location_param(&silent, "code").is_some(),
        "confirmed on this session: {:?}",
        silent.headers().get(LOCATION)
    );

    // Another browser session of the same user starts unconfirmed.
    let mut second = Jar::default();
    code(&env, &mut second).await;
    let silent = env
        .server
        .authorize(
            PEER,
            &second.headers(false),
            &format!("{query}&prompt=none"),
        )
        .await;
    assert_eq!(
        location_param(&silent, "error").as_deref(),
        Some("interaction_required")
    );
}

// A loop of anonymous /authorize requests stores a login form each: bounded per address (429
// with Retry-After past the budget), and the memory store holds its capacity whatever the
// number of addresses.
#[tokio::test]
async fn anonymous_authorize_floods_are_bounded() {
    let env = env().await;
    let mut shown = 0;
    let mut refused = 0;
    for _ in 0..2_000 {
        let answer = env
            .server
            .authorize(PEER, &HeaderMap::new(), &authorize_query())
            .await;
        match answer.status() {
            StatusCode::OK => shown += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry: u64 = answer.headers()[RETRY_AFTER]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=600).contains(&retry), "{retry}");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let per_address = PendingLimits::default().per_address.max_failures as usize;
    assert_eq!((shown, refused), (per_address, 2_000 - per_address));
    assert_eq!(env.store.record_counts().unwrap().pending, per_address);

    // From many addresses the per-address budget does not bind; the store's bound does.
    for i in 0..3_000u32 {
        let address = std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        let answer = env
            .server
            .authorize(address, &HeaderMap::new(), &authorize_query())
            .await;
        assert_eq!(answer.status(), StatusCode::OK);
    }
    assert_eq!(env.store.record_counts().unwrap().pending, STORE_CAPACITY);

    // One browser (one cookie) is held to its own, smaller budget wherever it comes from.
    let env = env_with("https://auth.example", "App", Pages::new()).await;
    let mut jar = Jar::default();
    let per_browser = PendingLimits::default().per_browser.max_failures as usize;
    for i in 0..per_browser {
        let address = std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i as u32));
        let page = env
            .server
            .authorize(address, &jar.headers(false), &authorize_query())
            .await;
        assert_eq!(page.status(), StatusCode::OK);
        jar.take(&page);
    }
    let over = env
        .server
        .authorize(PEER, &jar.headers(false), &authorize_query())
        .await;
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
}

// Only the checked request is stored: what else the query carried is not kept.
#[tokio::test]
async fn a_pending_request_stores_only_the_checked_parameters() {
    let env = env().await;
    let junk = "x".repeat(4_000);
    let query = format!("{}&junk={junk}&nonce=n-1&max_age=300", authorize_query());
    let page = env.server.authorize(PEER, &HeaderMap::new(), &query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let pending = hidden(&html(&page), "pending");
    let stored = env
        .store
        .find_pending(&secret_digest(&pending))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.query.contains("junk"), "{}", stored.query);
    assert!(stored.query.len() < 600, "{}", stored.query.len());
    // And it is the same request when the form comes back.
    let parsed = AuthorizationQuery::parse(&stored.query).unwrap();
    let original = AuthorizationQuery::parse(&query).unwrap();
    let app = app_client("App");
    assert_eq!(
        parsed.check(Some(&app)).unwrap(),
        original.check(Some(&app)).unwrap()
    );
}

// Issue 27 item 12 (OWASP device cookies): guesses from elsewhere lock alice's username, but
// not in the browser she has logged in with before.
#[tokio::test]
async fn a_known_browser_logs_in_while_the_username_is_locked() {
    let env = env().await;
    let mut known = Jar::default();
    code(&env, &mut known).await;
    assert!(
        known
            .0
            .iter()
            .any(|(name, _)| name == "__Host-tokenward_device")
    );
    // The default budget: 5 per (username, address), 50 per username. Ten addresses use it up.
    for i in 0..10u32 {
        let address = std::net::IpAddr::V4(std::net::Ipv4Addr::from(0xcb00_7100 + i));
        for _ in 0..5 {
            let guess = SecretString::from("a guess".to_owned());
            let failed = env
                .server
                .issuer()
                .login_from(address, "alice", &guess, None)
                .await;
            assert!(failed.is_err());
        }
    }
    let mut fresh = Jar::default();
    let page = env
        .server
        .authorize(PEER, &fresh.headers(false), &authorize_query())
        .await;
    fresh.take(&page);
    let refused = submit_login(&env, &mut fresh, &page).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);

    // The known browser, logged out, logs in with its device cookie.
    known
        .0
        .retain(|(name, _)| !name.ends_with("tokenward_session"));
    let page = env
        .server
        .authorize(PEER, &known.headers(false), &authorize_query())
        .await;
    known.take(&page);
    let done = submit_login(&env, &mut known, &page).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{:?}", done.body());
    assert!(location_param(&done, "code").is_some());
}

// Review finding: an image, script or fetch on another site stores no form against the
// visitor's budgets; only a navigation gets the sign-in page.
#[tokio::test]
async fn only_navigations_open_a_sign_in_page() {
    let env = env().await;
    for dest in ["image", "script", "empty", "iframe"] {
        let mut headers = HeaderMap::new();
        headers.insert("sec-fetch-dest", HeaderValue::from_static(dest));
        let answer = env
            .server
            .authorize(PEER, &headers, &authorize_query())
            .await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{dest}");
    }
    assert_eq!(env.store.record_counts().unwrap().pending, 0);
    let mut headers = HeaderMap::new();
    headers.insert("sec-fetch-dest", HeaderValue::from_static("document"));
    let page = env
        .server
        .authorize(PEER, &headers, &authorize_query())
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(env.store.record_counts().unwrap().pending, 1);
}
