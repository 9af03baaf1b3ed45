//! A small client for the contract's endpoints, keeping every response's status, headers and body.

use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::fixture::TestUser;
use crate::server::Server;

/// A response, read in full.
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A header as text, if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The `error` field of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    /// The body as (lossy) text, for failure messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client bound to one server.
pub struct Client {
    http: reqwest::Client,
    base: String,
}

/// A token pair from a 200 `/token` answer.
pub struct Tokens {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
    /// The whole JSON body.
    pub body: Value,
}

impl Client {
    /// A client for `server`.
    pub fn new(server: &Server) -> Self {
        Self::for_base(&server.base)
    }

    /// A client for the server at `base` (`http://host:port`).
    pub fn for_base(base: &str) -> Self {
        Self::with(base, reqwest::Client::builder())
    }

    /// A client that opens a new connection per request: after a refused oversized body the
    /// server may close the connection, and a pooled client could race that close.
    pub fn unpooled(server: &Server) -> Self {
        Self::with(
            &server.base,
            reqwest::Client::builder().pool_max_idle_per_host(0),
        )
    }

    fn with(base: &str, builder: reqwest::ClientBuilder) -> Self {
        Self {
            http: builder.no_proxy().build().expect("reqwest client"),
            base: base.to_owned(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.try_execute(request).await.expect("request answered")
    }

    /// Sends a prepared request; an error if the connection failed or was cut.
    pub async fn try_execute(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Reply, reqwest::Error> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// A request builder for `method path`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// Sends a prepared request.
    pub async fn execute(&self, request: reqwest::RequestBuilder) -> Reply {
        self.send(request).await
    }

    /// POST `path` with a form body given as already-encoded text.
    pub async fn form(&self, path: &str, body: &str) -> Reply {
        self.send(
            self.request(reqwest::Method::POST, path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned()),
        )
        .await
    }

    /// GET `path` with a Bearer token.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(
            self.request(reqwest::Method::GET, path)
                .header("authorization", format!("Bearer {token}")),
        )
        .await
    }

    /// GET `path` without credentials.
    pub async fn get_anonymous(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// POST a JSON body to `path` with a Bearer token.
    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            self.request(reqwest::Method::POST, path)
                .header("authorization", format!("Bearer {token}"))
                .json(body),
        )
        .await
    }

    /// POST `path` with a Bearer token and no body.
    pub async fn post_empty(&self, path: &str, token: &str) -> Reply {
        self.send(
            self.request(reqwest::Method::POST, path)
                .header("authorization", format!("Bearer {token}")),
        )
        .await
    }

    /// The password grant, returning the raw reply.
    pub async fn password_grant(
        &self,
        username: &str,
        password: &str,
        scope: Option<&str>,
    ) -> Reply {
        let mut body = format!(
            "grant_type=password&username={}&password={}",
            enc(username),
            enc(password)
        );
        if let Some(scope) = scope {
            body.push_str(&format!("&scope={}", enc(scope)));
        }
        self.form("/token", &body).await
    }

    /// Logs `user` in, asserting success.
    pub async fn login(&self, user: &TestUser) -> Tokens {
        let reply = self
            .password_grant(&user.username, user.password, None)
            .await;
        tokens(reply)
    }

    /// The refresh grant, returning the raw reply.
    pub async fn refresh_grant(&self, refresh_token: &str, scope: Option<&str>) -> Reply {
        let mut body = format!(
            "grant_type=refresh_token&refresh_token={}",
            enc(refresh_token)
        );
        if let Some(scope) = scope {
            body.push_str(&format!("&scope={}", enc(scope)));
        }
        self.form("/token", &body).await
    }
}

/// Asserts a 200 token response and returns its tokens.
pub fn tokens(reply: Reply) -> Tokens {
    assert_eq!(reply.status, 200, "token request failed: {}", reply.text());
    let body = reply.json();
    Tokens {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        body,
    }
}

/// Form-encodes one value.
pub fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A JWT's (unverified) header and claims.
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut next = || {
        let part = parts.next().expect("JWT part");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        serde_json::from_slice::<Value>(&bytes).expect("JSON")
    };
    let header = next();
    let claims = next();
    (header, claims)
}
