//! The contract's handlers over `http` types, so each framework only routes and converts.

use std::sync::{Arc, Mutex};

use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokenward::TokenIssuer;
use tokenward::oauth2::{self, ErrorResponse};
use tokenward::store::{TokenRevocation, User, UserStore};
use tokenward::token::AccessClaims;

/// The largest JSON body accepted (`/items`, `/users/me/password`); frameworks refuse longer
/// ones with 413 before reading them. (`/token` and `/revoke` are form bodies, limited by the
/// integration crates to [`tokenward::oauth2::MAX_FORM_BYTES`].)
pub const MAX_JSON_BYTES: usize = 16 * 1024;
/// Items kept in memory at most; the demo data must not grow without bound.
const MAX_ITEMS: usize = 10_000;
const MAX_ITEM_NAME_CHARS: usize = 200;

/// A response as every handler here returns it.
pub type HttpResponse = Response<Vec<u8>>;

/// A store `/health` asks, with the name it reports when the store does not answer.
pub enum HealthCheck {
    /// A user store.
    Users(&'static str, Arc<dyn UserStore>),
    /// A revocation store.
    Revocation(&'static str, Arc<dyn TokenRevocation>),
}

tokenward::required_scope!(
    /// `items:read`: listing the demo items.
    pub ItemsRead = "items:read"
);
tokenward::required_scope!(
    /// `items:write`: creating demo items.
    pub ItemsWrite = "items:write"
);

/// One entry of the demo data behind `/items`.
#[derive(Clone, Serialize)]
pub struct Item {
    /// Assigned by the server, increasing.
    pub id: u64,
    /// What the client sent.
    pub name: String,
    /// The `sub` of the user who created it.
    pub owner: String,
}

/// The application: the issuer, the demo items and the stores `/health` checks.
pub struct App {
    issuer: TokenIssuer,
    items: Mutex<Vec<Item>>,
    health: Vec<HealthCheck>,
    metrics: Option<PrometheusHandle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: SecretString,
    new_password: SecretString,
}

#[derive(Serialize)]
struct Me<'a> {
    username: &'a str,
    full_name: Option<&'a str>,
    email: Option<&'a str>,
    scopes: Vec<&'a str>,
    disabled: bool,
}

impl App {
    /// An application around `issuer`, reporting `health` on `/health`; `metrics`, when given,
    /// is rendered at `/metrics`.
    pub fn new(
        issuer: TokenIssuer,
        health: Vec<HealthCheck>,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        let items = vec![
            Item {
                id: 1,
                name: "hammer".into(),
                owner: String::new(),
            },
            Item {
                id: 2,
                name: "screwdriver".into(),
                owner: String::new(),
            },
        ];
        Self {
            issuer,
            items: Mutex::new(items),
            health,
            metrics,
        }
    }

    /// `GET /metrics`: the Prometheus text format when `--metrics` is on, 404 otherwise.
    pub fn metrics(&self) -> HttpResponse {
        let Some(handle) = &self.metrics else {
            return not_found();
        };
        tokenward::metrics::record_hasher_gauges(self.issuer.hasher());
        let mut response = Response::new(handle.render().into_bytes());
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        response
    }

    /// The issuer, for applications that need more than these handlers.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// `GET /users/me`: the user the token's validation already loaded.
    pub fn me(&self, user: &User) -> HttpResponse {
        user_profile(user)
    }

    /// The `/users/me` body for `user_id`, without any authentication: only for the load
    /// script's baseline (the same handler with and without the Bearer check).
    pub async fn profile(&self, user_id: &str) -> HttpResponse {
        match self.issuer.users().find_by_id(user_id).await {
            Ok(Some(user)) => user_profile(&user),
            Ok(None) => issuer_error(&tokenward::Error::UnknownUser),
            Err(err) => issuer_error(&err.into()),
        }
    }

    /// `GET /items` (scope `items:read`).
    pub fn list_items(&self) -> HttpResponse {
        match self.items.lock() {
            Ok(items) => json(StatusCode::OK, &*items),
            Err(_) => internal_error(),
        }
    }

    /// `POST /items` (scope `items:write`).
    pub fn create_item(
        &self,
        caller: &AccessClaims,
        headers: &HeaderMap,
        body: &[u8],
    ) -> HttpResponse {
        let new: NewItem = match parse_json(headers, body) {
            Ok(new) => new,
            Err(response) => return response,
        };
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > MAX_ITEM_NAME_CHARS {
            return ErrorResponse::invalid_request(format!(
                "name must be 1 to {MAX_ITEM_NAME_CHARS} characters"
            ))
            .into_response();
        }
        let Ok(mut items) = self.items.lock() else {
            return internal_error();
        };
        if items.len() >= MAX_ITEMS {
            return ErrorResponse::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                "the demo item list is full",
            )
            .into_response();
        }
        let item = Item {
            id: items.last().map_or(1, |last| last.id + 1),
            name: name.to_owned(),
            owner: caller.sub.clone(),
        };
        items.push(item.clone());
        json(StatusCode::CREATED, &item)
    }

    /// `POST /users/me/password`: 204, and every earlier token of the user stops working.
    pub async fn change_password(
        &self,
        caller: &AccessClaims,
        headers: &HeaderMap,
        body: &[u8],
    ) -> HttpResponse {
        let change: PasswordChange = match parse_json(headers, body) {
            Ok(change) => change,
            Err(response) => return response,
        };
        match self
            .issuer
            .change_password(&caller.sub, &change.current_password, &change.new_password)
            .await
        {
            Ok(()) => no_content(),
            Err(err) => issuer_error(&err),
        }
    }

    /// `POST /users/me/logout-all`: 204, and every token the user holds stops working.
    pub async fn logout_all(&self, caller: &AccessClaims) -> HttpResponse {
        match self.issuer.logout_all(&caller.sub).await {
            Ok(()) => no_content(),
            Err(err) => issuer_error(&err),
        }
    }

    /// `GET /health`: 200 when every store answers, otherwise 503 naming the ones that do not.
    pub async fn health(&self) -> HttpResponse {
        // Ask every store at once, so a dead one costs one timeout, not one each.
        let mut checks = tokio::task::JoinSet::new();
        for check in &self.health {
            match check {
                HealthCheck::Users(name, store) => {
                    let (name, store) = (*name, store.clone());
                    checks.spawn(async move { store.ping().await.err().map(|_| name) });
                }
                HealthCheck::Revocation(name, store) => {
                    let (name, store) = (*name, store.clone());
                    checks.spawn(async move { store.ping().await.err().map(|_| name) });
                }
            }
        }
        let mut failing: Vec<&str> = checks.join_all().await.into_iter().flatten().collect();
        failing.sort_unstable();
        if failing.is_empty() {
            return json(StatusCode::OK, &serde_json::json!({"status": "ok"}));
        }
        let mut response = json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({
                "status": "unavailable",
                "failing": failing,
                "error": "temporarily_unavailable",
                "error_description": format!("not answering: {}", failing.join(", ")),
            }),
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("5"));
        response
    }
}

/// 404 for a path no route matches.
pub fn not_found() -> HttpResponse {
    ErrorResponse::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, HttpResponse> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ErrorResponse::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "the body must be application/json",
        )
        .into_response());
    }
    if body.len() > MAX_JSON_BYTES {
        return Err(ErrorResponse::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            format!("the JSON body is larger than {MAX_JSON_BYTES} bytes"),
        )
        .into_response());
    }
    // serde's messages can quote values (a password); say only where the body went wrong.
    serde_json::from_slice(body).map_err(|err| {
        ErrorResponse::invalid_request(format!(
            "the JSON body is malformed or has missing or unknown fields (line {}, column {})",
            err.line(),
            err.column()
        ))
        .into_response()
    })
}

fn user_profile(user: &User) -> HttpResponse {
    json(
        StatusCode::OK,
        &Me {
            username: &user.username,
            full_name: user.full_name.as_deref(),
            email: user.email.as_deref(),
            scopes: user.scopes.iter().collect(),
            disabled: user.disabled,
        },
    )
}

fn issuer_error(err: &tokenward::Error) -> HttpResponse {
    oauth2::error_response(err).into_response()
}

fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = Response::new(body);
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(_) => internal_error(),
    }
}

fn no_content() -> HttpResponse {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

fn internal_error() -> HttpResponse {
    ErrorResponse::server_error().into_response()
}
