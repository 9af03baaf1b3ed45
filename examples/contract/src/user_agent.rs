//! A browser over plain HTTP: keeps cookies, does not follow redirects (the contract is about
//! where they point), and reads the hidden fields of the server's forms. The clients file and a
//! PKCE helper for the code-flow clauses live here too.

use std::collections::BTreeMap;
use std::sync::Mutex;

use base64::Engine;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokenward::password::{Argon2Params, PasswordHasher};

use crate::client::{Reply, enc};
use crate::server::{Server, Workdir};

/// One browser: a cookie jar and no redirect following.
pub struct UserAgent {
    http: reqwest::Client,
    base: String,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl UserAgent {
    /// A fresh browser for `server`.
    pub fn new(server: &Server) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("reqwest client"),
            base: server.base.clone(),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    /// The value of a cookie the server set, if any (and not deleted since).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let cookie_header = {
            let jar = self.cookies.lock().unwrap();
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let request = if cookie_header.is_empty() {
            request
        } else {
            request.header("cookie", cookie_header)
        };
        let response = request.send().await.expect("request answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set in headers.get_all("set-cookie") {
            let text = set.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let deleted = value.is_empty() || text.to_ascii_lowercase().contains("max-age=0");
                let mut jar = self.cookies.lock().unwrap();
                if deleted {
                    jar.remove(name.trim());
                } else {
                    jar.insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        let body = response.bytes().await.expect("body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET `path_and_query` (relative to the server).
    pub async fn get(&self, path_and_query: &str) -> Reply {
        self.send(self.http.get(format!("{}{path_and_query}", self.base)))
            .await
    }

    /// POST a form to `path`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// Submits the login form of `page` (the login page) with these credentials, and, where the
    /// server then asks to confirm a native app's client (RFC 8252 §8.6: `spa`, a public client
    /// on a loopback redirect URI, the first time in this browser session), allows it: the
    /// answer is what the client's flow goes on with. [`Self::submit_login`] stops before.
    pub async fn log_in(&self, page: &Reply, username: &str, password: &str) -> Reply {
        let answer = self.submit_login(page, username, password).await;
        self.confirm_native_app(answer).await
    }

    /// Allows the client on `answer` if it is the page confirming a native app's client (RFC
    /// 8252 §8.6); any other answer as it is.
    pub async fn confirm_native_app(&self, answer: Reply) -> Reply {
        if answer.status == 200 && answer.text().contains("id=\"native-app\"") {
            return self.decide(&answer, "allow").await;
        }
        answer
    }

    /// Submits the login form of `page` with these credentials, and nothing more.
    pub async fn submit_login(&self, page: &Reply, username: &str, password: &str) -> Reply {
        let html = page.text();
        let pending = hidden(&html, "pending");
        let csrf = hidden(&html, "csrf");
        self.post_form(
            "/authorize/login",
            &[
                ("pending", &pending),
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Answers the consent page `page` with `decision` (`allow` or `deny`).
    pub async fn decide(&self, page: &Reply, decision: &str) -> Reply {
        let html = page.text();
        self.post_form(
            "/authorize/consent",
            &[
                ("pending", &hidden(&html, "pending")),
                ("csrf", &hidden(&html, "csrf")),
                ("decision", decision),
            ],
        )
        .await
    }
}

/// The value of the hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name} in:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    /// The verifier (43 characters).
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

impl Pkce {
    /// A new pair; `seed` makes verifiers of one test differ.
    pub fn new(seed: &str) -> Self {
        let verifier = format!("{seed:-<43}").replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let verifier = verifier.chars().take(64).collect::<String>();
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// An `/authorize` query.
pub fn authorize_query(
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    pkce: &Pkce,
    extra: &str,
) -> String {
    format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state={}\
         &code_challenge={}&code_challenge_method=S256{extra}",
        enc(client_id),
        enc(redirect_uri),
        enc(scope),
        enc(state),
        pkce.challenge
    )
}

/// The query parameters of a `Location`.
pub fn location_params(reply: &Reply) -> BTreeMap<String, String> {
    let location = reply
        .header("location")
        .unwrap_or_else(|| panic!("no Location (status {}): {}", reply.status, reply.text()));
    let url = url::Url::parse(&location).expect("absolute Location");
    url.query_pairs().into_owned().collect()
}

/// The clients every code-flow clause registers.
pub struct Clients {
    /// Confidential, third-party; redirect `https://app.example/cb?keep=1`; all grants.
    pub web_secret: &'static str,
    /// Confidential, client credentials only, scope `items:read`.
    pub service_secret: &'static str,
}

/// `web`'s redirect URI.
pub const WEB_REDIRECT: &str = "https://app.example/cb?keep=1";
/// `spa`'s registered loopback redirect URI (any port matches).
pub const SPA_REDIRECT: &str = "http://127.0.0.1/cb";

impl Clients {
    /// Writes `clients.json` into `dir` and returns the secrets.
    pub fn write(dir: &Workdir) -> Self {
        let clients = Self {
            web_secret: "web secret: with % and + and spaces",
            service_secret: "service-secret-0123456789",
        };
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
            .build()
            .unwrap();
        let hash = |secret: &str| {
            hasher
                .hash(&SecretString::from(secret.to_owned()))
                .unwrap()
                .expose_secret()
                .to_owned()
        };
        let file: Value = json!([
            {"client_id": "web", "client_secret_hash": hash(clients.web_secret),
             "redirect_uris": [WEB_REDIRECT],
             "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
             "scopes": ["openid", "profile", "email", "items:read", "items:write"],
             "name": "Web App", "first_party": false},
            {"client_id": "spa", "redirect_uris": [SPA_REDIRECT],
             "grant_types": ["authorization_code", "refresh_token"],
             "scopes": ["openid", "profile", "email", "items:read", "items:write"],
             "name": "Single Page", "first_party": true},
            {"client_id": "service", "client_secret_hash": hash(clients.service_secret),
             "grant_types": ["client_credentials"], "scopes": ["items:read"],
             "name": "Service"},
        ]);
        std::fs::write(dir.path("clients.json"), file.to_string()).unwrap();
        clients
    }
}

/// `Authorization: Basic` for `id` and `secret`, each form-encoded first (RFC 6749 §2.3.1).
pub fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}
