//! Login through an upstream OpenID provider, against a provider played by this file (its
//! discovery, JWKS and token endpoint answer through `UpstreamHttp`), so every attack a hostile
//! or broken provider or a forged callback can try is one test: wrong or missing `state`, a
//! replayed callback, another browser's state, id_tokens with the wrong `nonce`, `aud` or `iss`,
//! expired, signed by an unpublished key; the provider down; linking by an unverified email.
//! The two-server flow over real HTTP and in Chromium is in the contract and browser suites.
#![cfg(feature = "upstream")]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue, LOCATION, SET_COOKIE};
use http::{HeaderMap, Request, Response, StatusCode};
use jsonwebtoken::{EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokenward::TokenIssuer;
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet, SigningKey};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::provider::{
    AuthorizationServer, AuthorizationStore, Client, ClientStore, CodeChallenge, GrantType,
    UpstreamConfigError, UpstreamHttp, UpstreamHttpError, UpstreamProvider,
};
use tokenward::store::memory::{
    MemoryAuthorizationStore, MemoryClientStore, MemoryRevocation, MemoryUserStore,
};
use tokenward::store::{User, UserStore};
use tokenward::token::{Scopes, TokenCodec};

const UPSTREAM: &str = "https://idp.example";
const ISSUER: &str = "https://auth.example";
const CLIENT_ID: &str = "tokenward-downstream";
const CLIENT_SECRET: &str = "upstream-client-secret";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PEER: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
const REDIRECT: &str = "https://app.example/cb";

/// An RS256 key the fake provider can sign with and publish.
struct ProviderKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl ProviderKey {
    fn generate(kid: &str) -> Self {
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pkcs8 = key.to_pkcs8_der().unwrap();
        let public =
            SigningKey::from_pkcs8_der(kid, KeyAlgorithm::RS256, pkcs8.as_bytes()).unwrap();
        let jwk = serde_json::to_value(public.public_jwk().unwrap()).unwrap();
        Self {
            kid: kid.into(),
            encoding: EncodingKey::from_rsa_der(key.to_pkcs1_der().unwrap().as_bytes()),
            jwk,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// What the fake provider's token endpoint answers for one code.
struct Issued {
    challenge: String,
    id_token: String,
}

/// The upstream provider: discovery, JWKS and a token endpoint checking PKCE and the client's
/// secret; tests put the id_token each code returns.
struct FakeProvider {
    published: Mutex<Vec<Value>>,
    codes: Mutex<HashMap<String, Issued>>,
    down: AtomicBool,
    jwks_fetches: Mutex<usize>,
    discoveries: Mutex<usize>,
    /// The `Cache-Control` of the discovery and JWKS responses.
    cache_control: Mutex<Option<String>>,
}

impl FakeProvider {
    fn new(published: &[&ProviderKey]) -> Arc<Self> {
        Arc::new(Self {
            published: Mutex::new(published.iter().map(|k| k.jwk.clone()).collect()),
            codes: Mutex::new(HashMap::new()),
            down: AtomicBool::new(false),
            jwks_fetches: Mutex::new(0),
            discoveries: Mutex::new(0),
            cache_control: Mutex::new(None),
        })
    }

    fn publish(&self, key: &ProviderKey) {
        self.published.lock().unwrap().push(key.jwk.clone());
    }

    fn json(status: StatusCode, body: Value) -> Response<Vec<u8>> {
        let mut response = Response::new(body.to_string().into_bytes());
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    fn token(&self, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
        let expected = format!(
            "Basic {}",
            STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
        );
        if request.headers().get(AUTHORIZATION).map(|v| v.as_bytes()) != Some(expected.as_bytes()) {
            return Self::json(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
        }
        let form: HashMap<String, String> = form_urlencoded::parse(request.body())
            .into_owned()
            .collect();
        let issued = form
            .get("code")
            .and_then(|code| self.codes.lock().unwrap().remove(code));
        let Some(issued) = issued else {
            return Self::json(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
        };
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        let answer = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if answer != issued.challenge
            || form.get("redirect_uri").map(String::as_str)
                != Some(&format!("{ISSUER}/upstream/callback"))
        {
            return Self::json(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
        }
        Self::json(
            StatusCode::OK,
            json!({
                "access_token": "upstream-access-token",
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": issued.id_token,
            }),
        )
    }
}

#[async_trait]
impl UpstreamHttp for FakeProvider {
    async fn send(
        &self,
        request: Request<Vec<u8>>,
    ) -> Result<Response<Vec<u8>>, UpstreamHttpError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(UpstreamHttpError("connection refused".into()));
        }
        let uri = request.uri().to_string();
        let path = uri.strip_prefix(UPSTREAM).unwrap_or(&uri);
        let mut response = match path {
            "/.well-known/openid-configuration" => Self::json(
                StatusCode::OK,
                json!({
                    "issuer": UPSTREAM,
                    "authorization_endpoint": format!("{UPSTREAM}/authorize"),
                    "token_endpoint": format!("{UPSTREAM}/token"),
                    "jwks_uri": format!("{UPSTREAM}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    // HS256 too, so the pin to asymmetric algorithms is what refuses an
                    // id_token MACed with the client secret.
                    "id_token_signing_alg_values_supported": ["RS256", "HS256"],
                }),
            ),
            "/jwks" => {
                *self.jwks_fetches.lock().unwrap() += 1;
                let keys = self.published.lock().unwrap().clone();
                Self::json(StatusCode::OK, json!({ "keys": keys }))
            }
            "/token" => self.token(&request),
            _ => Self::json(StatusCode::NOT_FOUND, json!({})),
        };
        if path == "/.well-known/openid-configuration" {
            *self.discoveries.lock().unwrap() += 1;
        }
        if matches!(path, "/.well-known/openid-configuration" | "/jwks")
            && let Some(value) = self.cache_control.lock().unwrap().as_deref()
        {
            response.headers_mut().insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        Ok(response)
    }
}

struct Env {
    server: AuthorizationServer,
    provider: Arc<FakeProvider>,
    key: ProviderKey,
    users: Arc<MemoryUserStore>,
    store: Arc<MemoryAuthorizationStore>,
    clock: Arc<ManualClock>,
    bob: String,
}

/// How the server under test treats upstream identities.
#[derive(Clone, Copy, Default)]
struct Setup {
    create_users: bool,
    link_by_email: bool,
    email_link_needs_password: bool,
}

fn hasher() -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap()
}

async fn env(create_users: bool) -> Env {
    env_with(Setup {
        create_users,
        ..Setup::default()
    })
    .await
}

async fn env_with(setup: Setup) -> Env {
    let key = ProviderKey::generate("upstream-1");
    let provider = FakeProvider::new(&[&key]);
    let mut keys = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
    keys.ensure_id_token_key().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let codec = TokenCodec::builder(keys, ISSUER, "api")
        .clock(clock.clone())
        .build()
        .unwrap();
    let users = Arc::new(MemoryUserStore::new());
    let bob = users
        .upsert(User {
            id: String::new(),
            username: "bob".into(),
            password_hash: hasher()
                .hash(&SecretString::from("bob password".to_owned()))
                .unwrap(),
            scopes: Scopes::parse("items:read").unwrap(),
            disabled: false,
            full_name: Some("Bob".into()),
            email: Some("bob@example.com".into()),
        })
        .await
        .unwrap()
        .id;
    let issuer = TokenIssuer::builder(codec, users.clone(), Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher())
        .build()
        .unwrap();
    let clients = Arc::new(MemoryClientStore::new());
    clients
        .insert_client(&Client {
            client_id: "app".into(),
            secret_hash: None,
            redirect_uris: vec![REDIRECT.into()],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scopes::parse("openid items:read").unwrap(),
            name: "App".into(),
            first_party: true,
        })
        .await
        .unwrap();
    let upstream = UpstreamProvider::builder(UPSTREAM, CLIENT_ID)
        .client_secret(SecretString::from(CLIENT_SECRET.to_owned()))
        .name("Example IdP")
        .create_users(setup.create_users)
        .link_by_email(setup.link_by_email)
        .email_link_needs_password(setup.email_link_needs_password)
        .http_client(provider.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let store = Arc::new(MemoryAuthorizationStore::new());
    let server = AuthorizationServer::builder(issuer, clients, store.clone(), ISSUER)
        .upstream(upstream)
        .build()
        .unwrap();
    Env {
        server,
        provider,
        key,
        users,
        store,
        clock,
        bob,
    }
}

/// A browser's cookie jar.
#[derive(Clone, Default)]
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

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
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

fn html(response: &Response<Vec<u8>>) -> String {
    String::from_utf8(response.body().clone()).unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

fn location(response: &Response<Vec<u8>>) -> url::Url {
    url::Url::parse(response.headers().get(LOCATION).unwrap().to_str().unwrap()).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

fn authorize_query() -> String {
    authorize_query_with("")
}

fn authorize_query_with(extra: &str) -> String {
    format!(
        "response_type=code&client_id=app&redirect_uri={}&scope=openid+items%3Aread&state=s\
         &code_challenge={}&code_challenge_method=S256{extra}",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        CodeChallenge::of_verifier(VERIFIER).as_str()
    )
}

/// The browser at the upstream provider, after the login page's button.
struct AtUpstream {
    jar: Jar,
    state: String,
    nonce: String,
    challenge: String,
}

/// `/authorize` shows the login page; its "Log in with" button sends the browser upstream.
async fn go_upstream(env: &Env) -> AtUpstream {
    go_upstream_with(env, "").await.0
}

/// [`go_upstream`] for an `/authorize` request with `extra` parameters; also returns the URL
/// the browser was sent to.
async fn go_upstream_with(env: &Env, extra: &str) -> (AtUpstream, url::Url) {
    let mut jar = Jar::default();
    let page = env
        .server
        .authorize(PEER, &jar.headers(false), &authorize_query_with(extra))
        .await;
    jar.take(&page);
    assert_eq!(page.status(), StatusCode::OK);
    let text = html(&page);
    assert!(
        text.contains("Log in with Example IdP"),
        "the login page offers the provider"
    );
    let body = format!(
        "pending={}&csrf={}",
        hidden(&text, "pending"),
        hidden(&text, "csrf")
    );
    let started = env
        .server
        .upstream_start(&jar.headers(true), body.as_bytes())
        .await;
    assert_eq!(
        started.status(),
        StatusCode::SEE_OTHER,
        "{}",
        html(&started)
    );
    let to = location(&started);
    assert_eq!(
        to.as_str().split('?').next(),
        Some("https://idp.example/authorize")
    );
    assert_eq!(param(&to, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(param(&to, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&to, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(
        param(&to, "redirect_uri").as_deref(),
        Some("https://auth.example/upstream/callback")
    );
    assert!(
        param(&to, "scope")
            .unwrap()
            .split(' ')
            .any(|s| s == "openid")
    );
    let at = AtUpstream {
        jar,
        state: param(&to, "state").unwrap(),
        nonce: param(&to, "nonce").unwrap(),
        challenge: param(&to, "code_challenge").unwrap(),
    };
    (at, to)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims a correct provider would put in the id_token for `at`.
fn claims(at: &AtUpstream, sub: &str) -> Value {
    json!({
        "iss": UPSTREAM,
        "sub": sub,
        "aud": CLIENT_ID,
        "exp": now() + 300,
        "iat": now(),
        "nonce": at.nonce,
    })
}

/// A change to an id_token's claims.
type Tamper = fn(&mut Value);

/// The provider issues a code whose token response carries `id_token`; the browser comes back
/// with it.
/// The provider issues a code for the browser at `at` whose token response carries `id_token`.
fn issue_code(env: &Env, at: &AtUpstream, id_token: String) -> String {
    let code = format!("code-{}", at.state);
    env.provider.codes.lock().unwrap().insert(
        code.clone(),
        Issued {
            challenge: at.challenge.clone(),
            id_token,
        },
    );
    code
}

async fn come_back(env: &Env, at: &AtUpstream, id_token: String) -> Response<Vec<u8>> {
    let code = issue_code(env, at, id_token);
    let query = format!("code={code}&state={}&iss={}", at.state, enc(UPSTREAM));
    env.server
        .upstream_callback(&at.jar.headers(false), &query)
        .await
}

fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// After a successful callback: the client's redirect with a code, and a session cookie.
fn assert_continued(response: &Response<Vec<u8>>) -> url::Url {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        html(response)
    );
    let to = location(response);
    assert!(to.as_str().starts_with(REDIRECT), "{to}");
    assert!(param(&to, "code").is_some());
    assert_eq!(param(&to, "state").as_deref(), Some("s"));
    assert_eq!(param(&to, "iss").as_deref(), Some(ISSUER));
    to
}

fn assert_refused(response: &Response<Vec<u8>>) {
    assert!(
        response.status().is_client_error(),
        "{}: {}",
        response.status(),
        html(response)
    );
    assert!(response.headers().get(LOCATION).is_none());
    assert!(
        !response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("__Host-tokenward_session=")),
        "no session from a refused callback"
    );
}

/// The `sub` of the access token the client gets for the code in `to`.
async fn subject_of_code(env: &Env, to: &url::Url) -> String {
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}&client_id=app",
        param(to, "code").unwrap(),
        enc(REDIRECT)
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let peer = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let response = env.server.token(peer, &headers, body.as_bytes()).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", html(&response));
    let json: Value = serde_json::from_slice(response.body()).unwrap();
    let access = json["access_token"].as_str().unwrap();
    let claims = env.server.issuer().validate(access).await.unwrap();
    claims.sub.clone()
}

#[tokio::test]
async fn a_new_identity_creates_a_user_and_the_authorization_request_continues() {
    let env = env(true).await;
    let at = go_upstream(&env).await;
    let mut claims = claims(&at, "upstream-alice");
    claims["preferred_username"] = json!("alice");
    claims["email"] = json!("alice@example.com");
    claims["email_verified"] = json!(false);
    let id_token = env.key.sign(&claims);
    let mut jar = at.jar.clone();
    let done = come_back(&env, &at, id_token).await;
    jar.take(&done);
    let to = assert_continued(&done);
    assert!(jar.has("__Host-tokenward_session"));
    let sub = subject_of_code(&env, &to).await;
    let alice = env.users.find_by_id(&sub).await.unwrap().unwrap();
    assert!(
        alice.username.starts_with("upstream-"),
        "named after the identity, not the provider's preferred name: {}",
        alice.username
    );
    assert!(env.users.find_by_username("alice").await.unwrap().is_none());
    assert_eq!(
        alice.scopes,
        Scopes::default(),
        "created with no scopes of its own"
    );
    assert_eq!(alice.email, None, "an unverified email is not kept");

    // The browser session now answers /authorize without a page; a second upstream login of
    // the same identity finds the same user through its link.
    let again = env
        .server
        .authorize(PEER, &jar.headers(false), &authorize_query())
        .await;
    assert_continued(&again);
    let at = go_upstream(&env).await;
    let mut claims = self::claims(&at, "upstream-alice");
    claims["preferred_username"] = json!("someone-else");
    let done = come_back(&env, &at, env.key.sign(&claims)).await;
    let to = assert_continued(&done);
    assert_eq!(subject_of_code(&env, &to).await, alice.id);
}

#[tokio::test]
async fn a_preferred_username_of_an_existing_user_never_links_to_that_user() {
    let env = env(true).await;
    let at = go_upstream(&env).await;
    let mut claims = claims(&at, "mallory");
    claims["preferred_username"] = json!("bob");
    let done = come_back(&env, &at, env.key.sign(&claims)).await;
    let to = assert_continued(&done);
    let sub = subject_of_code(&env, &to).await;
    assert_ne!(sub, env.bob, "a new user, not bob");
    let created = env.users.find_by_id(&sub).await.unwrap().unwrap();
    assert!(
        created.username.starts_with("upstream-"),
        "{}",
        created.username
    );
}

#[tokio::test]
async fn a_verified_email_links_to_the_local_user_with_it_and_an_unverified_one_does_not() {
    let env = env_with(Setup {
        link_by_email: true,
        ..Setup::default()
    })
    .await;
    let at = go_upstream(&env).await;
    let mut unverified = claims(&at, "idp-bob");
    unverified["email"] = json!("bob@example.com");
    unverified["email_verified"] = json!(false);
    let refused = come_back(&env, &at, env.key.sign(&unverified)).await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "{}",
        html(&refused)
    );
    assert!(html(&refused).contains("not linked"));

    let at = go_upstream(&env).await;
    let mut verified = claims(&at, "idp-bob");
    verified["email"] = json!("bob@example.com");
    verified["email_verified"] = json!(true);
    let done = come_back(&env, &at, env.key.sign(&verified)).await;
    let to = assert_continued(&done);
    assert_eq!(subject_of_code(&env, &to).await, env.bob);

    // Linked now: the next login needs no email at all.
    let at = go_upstream(&env).await;
    let done = come_back(&env, &at, env.key.sign(&claims(&at, "idp-bob"))).await;
    let to = assert_continued(&done);
    assert_eq!(subject_of_code(&env, &to).await, env.bob);

    // A disabled linked user is refused.
    env.users.set_disabled(&env.bob, true).await.unwrap();
    let at = go_upstream(&env).await;
    let refused = come_back(&env, &at, env.key.sign(&claims(&at, "idp-bob"))).await;
    assert_refused(&refused);
}

#[tokio::test]
async fn no_matching_user_without_create_users_is_an_error_page() {
    let env = env(false).await;
    let at = go_upstream(&env).await;
    let refused = come_back(&env, &at, env.key.sign(&claims(&at, "stranger"))).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_refused(&refused);
}

#[tokio::test]
async fn id_tokens_with_a_wrong_nonce_audience_issuer_or_expiry_are_refused() {
    let env = env(true).await;
    let cases: [(&str, Tamper); 7] = [
        ("wrong nonce", |c| c["nonce"] = json!("another-nonce")),
        ("no nonce", |c| {
            c.as_object_mut().unwrap().remove("nonce");
        }),
        ("wrong audience", |c| c["aud"] = json!("another-client")),
        ("wrong issuer", |c| c["iss"] = json!("https://evil.example")),
        ("expired", |c| {
            c["exp"] = json!(now() - 600);
            c["iat"] = json!(now() - 900);
        }),
        ("no subject", |c| {
            c.as_object_mut().unwrap().remove("sub");
        }),
        ("audience list without us", |c| {
            c["aud"] = json!(["a", "b"]);
        }),
    ];
    for (what, tamper) in cases {
        let at = go_upstream(&env).await;
        let mut claims = claims(&at, &format!("victim-{what}"));
        tamper(&mut claims);
        let refused = come_back(&env, &at, env.key.sign(&claims)).await;
        assert_refused(&refused);
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{what}");
    }
    // Nothing above created a user.
    assert_eq!(env.users.list(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_id_token_signed_by_an_unpublished_key_or_tampered_is_refused() {
    let env = env(true).await;
    let rogue = ProviderKey::generate("upstream-1"); // the published kid, another key
    let at = go_upstream(&env).await;
    let refused = come_back(&env, &at, rogue.sign(&claims(&at, "victim"))).await;
    assert_refused(&refused);

    let unknown = ProviderKey::generate("never-published");
    let at = go_upstream(&env).await;
    let refused = come_back(&env, &at, unknown.sign(&claims(&at, "victim"))).await;
    assert_refused(&refused);

    // A genuine token with its payload changed.
    let at = go_upstream(&env).await;
    let genuine = env.key.sign(&claims(&at, "someone"));
    let parts: Vec<&str> = genuine.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(claims(&at, "victim").to_string());
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let refused = come_back(&env, &at, forged).await;
    assert_refused(&refused);

    // `alg: none` and HS256 keyed with the public key's bytes.
    let at = go_upstream(&env).await;
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"upstream-1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&at, "victim").to_string());
    let refused = come_back(&env, &at, format!("{none_header}.{payload}.")).await;
    assert_refused(&refused);
    let at = go_upstream(&env).await;
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("upstream-1".into());
    let hs = jsonwebtoken::encode(
        &header,
        &claims(&at, "victim"),
        &EncodingKey::from_secret(env.key.jwk.to_string().as_bytes()),
    )
    .unwrap();
    let refused = come_back(&env, &at, hs).await;
    assert_refused(&refused);
    assert_eq!(env.users.list(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_the_provider_rotated_in_is_fetched_once_and_accepted() {
    let env = env(true).await;
    let at = go_upstream(&env).await; // discovery fetched the JWKS once
    assert_eq!(*env.provider.jwks_fetches.lock().unwrap(), 1);
    let rotated = ProviderKey::generate("upstream-2");
    env.provider.publish(&rotated);
    let done = come_back(&env, &at, rotated.sign(&claims(&at, "carol"))).await;
    assert_continued(&done);
    assert_eq!(*env.provider.jwks_fetches.lock().unwrap(), 2);
}

#[tokio::test]
async fn callbacks_with_a_wrong_missing_replayed_or_foreign_state_are_refused() {
    let env = env(true).await;
    let at = go_upstream(&env).await;
    let id_token = env.key.sign(&claims(&at, "dave"));

    // No state, an unknown state: refused, and the real one still works afterwards.
    let code = issue_code(&env, &at, id_token);
    let headers = at.jar.headers(false);
    assert_refused(
        &env.server
            .upstream_callback(&headers, &format!("code={code}"))
            .await,
    );
    assert_refused(
        &env.server
            .upstream_callback(&headers, &format!("code={code}&state=guessed"))
            .await,
    );
    assert_refused(
        &env.server
            .upstream_callback(
                &headers,
                &format!("code={code}&state={0}&state={0}", at.state),
            )
            .await,
    );
    // Another browser (no cookie, or its own) with the right state: refused, and the state is
    // spent, so the victim's own callback cannot be raced afterwards either.
    let other = go_upstream(&env).await;
    let mut foreign = other.jar.headers(false);
    foreign.remove(COOKIE);
    let query = format!("code={code}&state={}", other.state);
    assert_refused(&env.server.upstream_callback(&foreign, &query).await);
    assert_refused(
        &env.server
            .upstream_callback(&other.jar.headers(false), &query)
            .await,
    );

    // The genuine callback, then its replay.
    let query = format!("code={code}&state={}&iss={}", at.state, enc(UPSTREAM));
    assert_continued(&env.server.upstream_callback(&headers, &query).await);
    assert_refused(&env.server.upstream_callback(&headers, &query).await);

    // RFC 9207: an `iss` naming another provider (with a code the provider would honour, so
    // only the `iss` can refuse it); an error from the provider.
    let at = go_upstream(&env).await;
    let code = issue_code(&env, &at, env.key.sign(&claims(&at, "dave")));
    let query = format!(
        "code={code}&state={}&iss={}",
        at.state,
        enc("https://evil.example")
    );
    assert_refused(
        &env.server
            .upstream_callback(&at.jar.headers(false), &query)
            .await,
    );
    let at = go_upstream(&env).await;
    let query = format!("error=access_denied&state={}", at.state);
    assert_refused(
        &env.server
            .upstream_callback(&at.jar.headers(false), &query)
            .await,
    );
}

#[tokio::test]
async fn a_provider_that_is_down_gets_an_error_page_not_a_500() {
    let env = env(true).await;
    env.provider.down.store(true, Ordering::SeqCst);
    let mut jar = Jar::default();
    let page = env
        .server
        .authorize(PEER, &jar.headers(false), &authorize_query())
        .await;
    jar.take(&page);
    let text = html(&page);
    let body = format!(
        "pending={}&csrf={}",
        hidden(&text, "pending"),
        hidden(&text, "csrf")
    );
    let started = env
        .server
        .upstream_start(&jar.headers(true), body.as_bytes())
        .await;
    assert_eq!(started.status(), StatusCode::BAD_GATEWAY);
    assert!(html(&started).contains("Example IdP is not answering"));

    // Up for the start, down for the code exchange.
    env.provider.down.store(false, Ordering::SeqCst);
    let at = go_upstream(&env).await;
    env.provider.down.store(true, Ordering::SeqCst);
    let answer = come_back(&env, &at, env.key.sign(&claims(&at, "erin"))).await;
    assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
    assert!(answer.headers().get(LOCATION).is_none());
}

#[tokio::test]
async fn the_start_needs_the_login_form_of_this_browser() {
    let env = env(true).await;
    let mut jar = Jar::default();
    let page = env
        .server
        .authorize(PEER, &jar.headers(false), &authorize_query())
        .await;
    jar.take(&page);
    let text = html(&page);
    let forged = format!("pending={}&csrf=forged", hidden(&text, "pending"));
    let refused = env
        .server
        .upstream_start(&jar.headers(true), forged.as_bytes())
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let genuine = format!(
        "pending={}&csrf={}",
        hidden(&text, "pending"),
        hidden(&text, "csrf")
    );
    let refused = env
        .server
        .upstream_start(&Jar::default().headers(true), genuine.as_bytes())
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "another browser");
}

#[tokio::test]
async fn prompt_login_and_max_age_need_a_fresh_login_at_the_provider() {
    let env = env(true).await;
    // prompt=login goes upstream, and an id_token without auth_time, or with one from before
    // the browser was sent there, is refused.
    let (at, to) = go_upstream_with(&env, "&prompt=login").await;
    assert_eq!(param(&to, "prompt").as_deref(), Some("login"));
    let refused = come_back(&env, &at, env.key.sign(&claims(&at, "frank"))).await;
    assert_refused(&refused);
    let (at, _) = go_upstream_with(&env, "&prompt=login").await;
    let mut old = claims(&at, "frank");
    old["auth_time"] = json!(now() - 3600);
    assert_refused(&come_back(&env, &at, env.key.sign(&old)).await);
    let (at, _) = go_upstream_with(&env, "&prompt=login").await;
    let mut fresh = claims(&at, "frank");
    fresh["auth_time"] = json!(now());
    assert_continued(&come_back(&env, &at, env.key.sign(&fresh)).await);

    // max_age: passed on, and a login older than it is refused.
    let (at, to) = go_upstream_with(&env, "&max_age=300").await;
    assert_eq!(param(&to, "max_age").as_deref(), Some("300"));
    let mut old = claims(&at, "frank");
    old["auth_time"] = json!(now() - 3600);
    assert_refused(&come_back(&env, &at, env.key.sign(&old)).await);
    let (at, _) = go_upstream_with(&env, "&max_age=300").await;
    let mut recent = claims(&at, "frank");
    recent["auth_time"] = json!(now() - 100);
    assert_continued(&come_back(&env, &at, env.key.sign(&recent)).await);

    // Without either, a missing auth_time is fine.
    let at = go_upstream(&env).await;
    assert_continued(&come_back(&env, &at, env.key.sign(&claims(&at, "frank"))).await);
}

#[tokio::test]
async fn an_hs256_id_token_keyed_with_the_client_secret_is_refused() {
    // A confidential client shares a secret with the provider; an id_token MACed with it
    // would verify under the crate's defaults if discovery listed HS256.
    let env = env(true).await;
    let at = go_upstream(&env).await;
    let header = Header::new(jsonwebtoken::Algorithm::HS256);
    let hs = jsonwebtoken::encode(
        &header,
        &claims(&at, "mallory"),
        &EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_refused(&come_back(&env, &at, hs).await);
}

/// Claims for `sub` with bob's address, verified by the provider.
fn bobs_email(at: &AtUpstream, sub: &str) -> Value {
    let mut claims = claims(at, sub);
    claims["email"] = json!("bob@example.com");
    claims["email_verified"] = json!(true);
    claims
}

/// Posts the login form of `page` (the page `jar`'s browser was shown).
async fn post_login(
    env: &Env,
    jar: &Jar,
    page: &str,
    username: &str,
    password: &str,
) -> Response<Vec<u8>> {
    let body = format!(
        "pending={}&csrf={}&username={}&password={}",
        hidden(page, "pending"),
        hidden(page, "csrf"),
        enc(username),
        enc(password)
    );
    let peer = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    env.server
        .login(peer, &jar.headers(true), body.as_bytes())
        .await
}

#[tokio::test]
async fn a_verified_email_links_nobody_unless_linking_by_email_is_on() {
    // Issue 27.3: off by default. The verified address of a local user is not enough.
    let env = env(false).await;
    let at = go_upstream(&env).await;
    let refused = come_back(&env, &at, env.key.sign(&bobs_email(&at, "idp-bob"))).await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "{}",
        html(&refused)
    );
    assert_refused(&refused);
    assert!(env.store.identity_links(&env.bob).await.unwrap().is_empty());
    assert_eq!(
        env.store
            .find_identity_link(UPSTREAM, "idp-bob")
            .await
            .unwrap(),
        None
    );

    // With --upstream-create-users: a user of its own, never bob.
    let env = self::env(true).await;
    let at = go_upstream(&env).await;
    let done = come_back(&env, &at, env.key.sign(&bobs_email(&at, "idp-bob"))).await;
    let to = assert_continued(&done);
    assert_ne!(subject_of_code(&env, &to).await, env.bob);
    assert!(env.store.identity_links(&env.bob).await.unwrap().is_empty());
}

#[tokio::test]
async fn linking_by_email_skips_a_user_already_linked_from_that_issuer() {
    let env = env_with(Setup {
        link_by_email: true,
        create_users: true,
        ..Setup::default()
    })
    .await;
    // A link from another provider does not count.
    assert!(
        env.store
            .link_identity("https://other.example", "bob-there", &env.bob, 1)
            .await
            .unwrap()
    );
    let at = go_upstream(&env).await;
    let done = come_back(&env, &at, env.key.sign(&bobs_email(&at, "idp-bob"))).await;
    let to = assert_continued(&done);
    assert_eq!(subject_of_code(&env, &to).await, env.bob);

    // A second identity of the same provider with bob's verified address: refused (not linked
    // to bob, and no new user with his address either).
    let at = go_upstream(&env).await;
    let refused = come_back(&env, &at, env.key.sign(&bobs_email(&at, "idp-bob-2"))).await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "{}",
        html(&refused)
    );
    assert_refused(&refused);
    assert!(html(&refused).contains("already linked"));
    let links = env.store.identity_links(&env.bob).await.unwrap();
    let subjects: Vec<&str> = links.iter().map(|l| l.subject.as_str()).collect();
    assert_eq!(subjects, ["idp-bob", "bob-there"]);
    assert_eq!(
        env.store
            .find_identity_link(UPSTREAM, "idp-bob-2")
            .await
            .unwrap(),
        None
    );
    assert_eq!(env.users.list(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_link_by_email_can_wait_for_the_local_password_in_the_same_browser() {
    let env = env_with(Setup {
        link_by_email: true,
        email_link_needs_password: true,
        ..Setup::default()
    })
    .await;
    let at = go_upstream(&env).await;
    let mut jar = at.jar.clone();
    let page = come_back(&env, &at, env.key.sign(&bobs_email(&at, "idp-bob"))).await;
    jar.take(&page);
    assert_eq!(page.status(), StatusCode::OK, "{}", html(&page));
    let text = html(&page);
    assert!(text.contains("Confirm your password"), "{text}");
    assert!(
        text.contains("value=\"bob\""),
        "the username is fixed: {text}"
    );
    assert!(text.contains("readonly"), "{text}");
    assert!(!text.contains("Log in with"), "no upstream button: {text}");
    assert!(!jar.has("__Host-tokenward_session"), "not logged in yet");
    assert_eq!(
        env.store
            .find_identity_link(UPSTREAM, "idp-bob")
            .await
            .unwrap(),
        None,
        "nothing linked before the password"
    );

    // A wrong password: the page again, nothing linked.
    let wrong = post_login(&env, &jar, &text, "bob", "not bob's password").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let text = html(&wrong);
    assert!(text.contains("Confirm your password"), "{text}");
    assert_eq!(
        env.store
            .find_identity_link(UPSTREAM, "idp-bob")
            .await
            .unwrap(),
        None
    );
    // The right password from another browser: refused.
    let elsewhere = post_login(&env, &Jar::default(), &text, "bob", "bob password").await;
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        env.store
            .find_identity_link(UPSTREAM, "idp-bob")
            .await
            .unwrap(),
        None
    );
    // In this browser, with bob's password: linked and logged in as bob, whatever username
    // the form was made to carry.
    let done = post_login(&env, &jar, &text, "mallory", "bob password").await;
    jar.take(&done);
    let to = assert_continued(&done);
    assert!(jar.has("__Host-tokenward_session"));
    assert_eq!(subject_of_code(&env, &to).await, env.bob);
    assert_eq!(
        env.store
            .find_identity_link(UPSTREAM, "idp-bob")
            .await
            .unwrap()
            .as_deref(),
        Some(env.bob.as_str())
    );

    // Linked: the next upstream login asks for no password.
    let at = go_upstream(&env).await;
    let done = come_back(&env, &at, env.key.sign(&claims(&at, "idp-bob"))).await;
    let to = assert_continued(&done);
    assert_eq!(subject_of_code(&env, &to).await, env.bob);
}

#[tokio::test]
async fn the_password_check_before_a_link_expires_and_is_throttled() {
    let env = env_with(Setup {
        link_by_email: true,
        email_link_needs_password: true,
        ..Setup::default()
    })
    .await;
    let unlinked = |env: &Env| {
        let store = env.store.clone();
        async move {
            store
                .find_identity_link(UPSTREAM, "idp-bob")
                .await
                .unwrap()
                .is_none()
        }
    };

    // Past its 5 minutes, the form is refused even with the right password.
    let at = go_upstream(&env).await;
    let page = come_back(&env, &at, env.key.sign(&bobs_email(&at, "idp-bob"))).await;
    assert_eq!(page.status(), StatusCode::OK);
    env.clock.advance(time::Duration::minutes(6));
    let late = post_login(&env, &at.jar, &html(&page), "bob", "bob password").await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST, "{}", html(&late));
    assert!(unlinked(&env).await);

    // The login throttle counts these attempts: after 5 wrong passwords the right one is
    // answered 429 and links nothing.
    let at = go_upstream(&env).await;
    let page = come_back(&env, &at, env.key.sign(&bobs_email(&at, "idp-bob"))).await;
    let mut text = html(&page);
    for _ in 0..5 {
        let wrong = post_login(&env, &at.jar, &text, "bob", "guess").await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        text = html(&wrong);
    }
    let throttled = post_login(&env, &at.jar, &text, "bob", "bob password").await;
    assert_eq!(
        throttled.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        html(&throttled)
    );
    assert!(throttled.headers().get(LOCATION).is_none());
    assert!(unlinked(&env).await);
}

#[test]
fn a_plain_http_upstream_issuer_needs_a_loopback_host_or_the_explicit_flag() {
    // Issue 27.10.
    let build = |issuer: &str, allow: bool| {
        let mut builder = UpstreamProvider::builder(issuer, CLIENT_ID);
        if allow {
            builder = builder.allow_insecure_http_issuer();
        }
        builder.build()
    };
    for loopback in [
        "http://127.0.0.1:8001",
        "http://127.0.0.2",
        "http://[::1]:8001",
        "http://localhost:8001",
        "https://idp.example",
    ] {
        assert!(build(loopback, false).is_ok(), "{loopback}");
    }
    for remote in [
        "http://idp.example",
        "http://192.168.1.10:8001",
        "http://localhost.idp.example",
        "http://[::ffff:8.8.8.8]",
    ] {
        assert_eq!(
            build(remote, false).err(),
            Some(UpstreamConfigError::InsecureIssuer),
            "{remote}"
        );
        assert!(build(remote, true).is_ok(), "{remote}, allowed explicitly");
    }
}

impl Env {
    /// (discovery fetches, JWKS fetches) so far.
    fn fetches(&self) -> (usize, usize) {
        (
            *self.provider.discoveries.lock().unwrap(),
            *self.provider.jwks_fetches.lock().unwrap(),
        )
    }

    fn cache_control(&self, value: &str) {
        *self.provider.cache_control.lock().unwrap() = Some(value.to_owned());
    }
}

#[tokio::test]
async fn discovery_and_keys_are_kept_as_cache_control_says_then_fetched_again() {
    // Issue 27.14.
    let env = env(true).await;
    let minutes = |m: i64| time::Duration::minutes(m);
    // No Cache-Control: an hour.
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (1, 1));
    env.clock.advance(minutes(59));
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (1, 1), "fresh for an hour");
    env.clock.advance(minutes(2));
    env.cache_control("public, max-age=120");
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (2, 2), "fetched again after the hour");

    // max-age=120: two minutes.
    env.clock.advance(time::Duration::seconds(100));
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (2, 2));
    // The provider replaced its key; the refresh after max-age brings the new one, so the
    // callback needs no refetch for an unknown kid.
    let rotated = ProviderKey::generate("upstream-2");
    *env.provider.published.lock().unwrap() = vec![rotated.jwk.clone()];
    env.clock.advance(time::Duration::seconds(30));
    let at = go_upstream(&env).await;
    assert_eq!(env.fetches(), (3, 3));
    assert_continued(&come_back(&env, &at, rotated.sign(&claims(&at, "kim"))).await);
    assert_eq!(env.fetches(), (3, 3));

    // A year's max-age is held to 24 hours.
    env.cache_control("max-age=31536000");
    env.clock.advance(minutes(3));
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (4, 4));
    env.clock.advance(minutes(23 * 60 + 50));
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (4, 4));
    env.clock.advance(minutes(20));
    env.cache_control("no-cache");
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (5, 5), "fetched again after 24 hours");
    // no-cache: at most once a minute, not at every login.
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (5, 5));
    env.clock.advance(time::Duration::seconds(61));

    // Expired while the provider is down: logins go on with the cached copy (the button still
    // leads there), and the failed refresh is not retried at every login.
    env.provider.down.store(true, Ordering::SeqCst);
    go_upstream(&env).await;
    go_upstream(&env).await;
    env.provider.down.store(false, Ordering::SeqCst);
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (5, 5), "retried after a minute, not before");
    env.clock.advance(time::Duration::seconds(61));
    go_upstream(&env).await;
    assert_eq!(env.fetches(), (6, 6));
}
