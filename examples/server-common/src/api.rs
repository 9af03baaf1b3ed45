//! The contract's handlers over `http` types, so each framework only routes and converts.

use std::sync::{Arc, Mutex};

use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokenward::TokenIssuer;
use tokenward::oauth2::openapi::ErrorBody;
use tokenward::oauth2::{self, AccountAccess, ErrorResponse};
use tokenward::provider::AuthorizationServer;
use tokenward::store::{TokenRevocation, User, UserStore};
use tokenward::token::AccessClaims;
use utoipa::{IntoResponses, ToSchema};

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
#[derive(Clone, Serialize, ToSchema)]
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
    server: AuthorizationServer,
    items: Mutex<Vec<Item>>,
    health: Vec<HealthCheck>,
    metrics: Option<PrometheusHandle>,
}

/// The answers of the Bearer check (RFC 6750 §3).
#[derive(IntoResponses)]
#[allow(dead_code)] // descriptions only: the integration crates' extractors send these
pub(crate) enum BearerRefused {
    /// No token, or one that is malformed, expired, revoked, cut off by a logout-all or
    /// password change, or of a disabled user. The challenge says which; a token that was
    /// presented also gets an `invalid_token` JSON body.
    #[response(
        status = 401,
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tokenward\"`, with `error=\"invalid_token\"` when a token was presented"))
    )]
    Unauthorized,
    /// The token lacks a scope this endpoint needs (`insufficient_scope`).
    #[response(status = 403, headers(("WWW-Authenticate" = String)))]
    Forbidden(ErrorBody<'static>),
}

/// The answers of the Bearer check on the routes that change the account (RFC 6750 §3).
#[derive(IntoResponses)]
#[allow(dead_code)] // descriptions only: the integration crates' extractors send these
pub(crate) enum AccountRefused {
    /// No token, or one that is malformed, expired, revoked, cut off by a logout-all or
    /// password change, or of a disabled user. The challenge says which; a token that was
    /// presented also gets an `invalid_token` JSON body.
    #[response(
        status = 401,
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tokenward\"`, with `error=\"invalid_token\"` when a token was presented"))
    )]
    Unauthorized,
    /// `insufficient_scope`: a third-party client's token without the `account` scope (tokens
    /// from no client or from a first-party client need no scope here).
    #[response(status = 403, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tokenward\", error=\"insufficient_scope\", ..., scope=\"account\"`")))]
    Forbidden(ErrorBody<'static>),
}

/// A store did not answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // descriptions only
pub(crate) enum Unavailable {
    /// `temporarily_unavailable`: a store does not answer, or the request took too long.
    #[response(status = 503, headers(("Retry-After" = u64)))]
    Unavailable(ErrorBody<'static>),
}

/// A JSON body the server cannot take.
#[derive(IntoResponses)]
#[allow(dead_code)] // descriptions only
pub(crate) enum BadBody {
    /// The body is larger than 16 KiB.
    #[response(status = 413)]
    TooLarge(ErrorBody<'static>),
    /// The body is not `application/json`.
    #[response(status = 415)]
    NotJson(ErrorBody<'static>),
}

/// `POST /items`'s body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewItem {
    /// 1 to 200 characters after trimming.
    name: String,
}

/// `POST /users/me/password`'s body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    /// The password the user has now.
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    /// The new password: at least 8 characters, not a common password, not the username.
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

/// A user's profile, as much of it as the token may see: all of it for a token from no client
/// or a first-party client; for a third-party client's token what its scopes grant (as at
/// `/userinfo`). A field the token may not see, or the user does not have, is left out.
#[derive(Serialize, ToSchema)]
pub(crate) struct Me<'a> {
    /// The user's stable id (the token's `sub`): always.
    sub: &'a str,
    /// With `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    /// With `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<&'a str>,
    /// With `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    /// The scopes the user may be granted; with `account`.
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<&'a str>>,
    /// Always `false`: a disabled user's tokens are refused.
    disabled: bool,
}

/// `/health`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health<'a> {
    status: HealthStatus,
    /// The stores that do not answer (`database`, `redis`).
    #[serde(skip_serializing_if = "Option::is_none")]
    failing: Option<Vec<&'a str>>,
    /// `temporarily_unavailable` when a store does not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    /// Which stores do not answer, for humans.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
}

/// Whether every store answers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HealthStatus {
    /// Every store answers.
    Ok,
    /// Some store does not.
    Unavailable,
}

impl App {
    /// An application around `server` (and its issuer), reporting `health` on `/health`; `metrics`, when given,
    /// is rendered at `/metrics`.
    pub fn new(
        server: AuthorizationServer,
        health: Vec<HealthCheck>,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        let issuer = server.issuer().clone();
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
            server,
            items: Mutex::new(items),
            health,
            metrics,
        }
    }

    /// The issuer, for applications that need more than these handlers.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// The authorization server (code flow, clients, introspection).
    pub fn server(&self) -> &AuthorizationServer {
        &self.server
    }
}

/// `GET /metrics`: the Prometheus text format when `--metrics` is on, 404 otherwise.
pub fn metrics(app: &App) -> HttpResponse {
    let Some(handle) = &app.metrics else {
        return not_found();
    };
    tokenward::metrics::record_hasher_gauges(app.issuer.hasher());
    let mut response = Response::new(handle.render().into_bytes());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `GET /users/me`: the user the token's validation already loaded, as much as `access` (what
/// the token may see of the account) allows.
#[utoipa::path(
    get,
    path = "/users/me",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile: all of it for a token from no client or a first-party client; for a third-party client's token `sub` and what its scopes grant (`profile`: `username`, `full_name`; `email`: `email`; `account`: `scopes`)", body = Me),
        BearerRefused, Unavailable,
    )
)]
pub fn me(user: &User, access: AccountAccess) -> HttpResponse {
    user_profile(user, access)
}

/// The `/users/me` body for `user_id`, without any authentication: only for the load
/// script's baseline (the same handler with and without the Bearer check).
pub async fn profile(app: &App, user_id: &str) -> HttpResponse {
    match app.issuer.users().find_by_id(user_id).await {
        Ok(Some(user)) => user_profile(&user, AccountAccess::FULL),
        Ok(None) => issuer_error(&tokenward::Error::UnknownUser),
        Err(err) => issuer_error(&err.into()),
    }
}

/// `GET /items` (scope `items:read`).
#[utoipa::path(
    get,
    path = "/items",
    tag = "items",
    security(("bearer" = ["items:read"])),
    responses(
        (status = 200, description = "Every item", body = Vec<Item>),
        BearerRefused, Unavailable,
    )
)]
pub fn list_items(app: &App) -> HttpResponse {
    match app.items.lock() {
        Ok(items) => json(StatusCode::OK, &*items),
        Err(_) => internal_error(),
    }
}

/// `POST /items` (scope `items:write`).
#[utoipa::path(
    post,
    path = "/items",
    tag = "items",
    security(("bearer" = ["items:write"])),
    request_body(content = NewItem, content_type = "application/json"),
    responses(
        (status = 201, description = "The created item", body = Item),
        (status = 400, description = "A malformed body, or a name that is empty or too long", body = ErrorBody),
        BearerRefused, BadBody,
        (status = 507, description = "The demo list is full", body = ErrorBody),
        Unavailable,
    )
)]
pub fn create_item(
    app: &App,
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
    let Ok(mut items) = app.items.lock() else {
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

/// `POST /users/me/password`: 204, and every earlier token of the user stops working. The
/// caller's token must be allowed to manage the account (the frameworks' `AccountManager`
/// extractor refuses others with 403 `insufficient_scope`).
#[utoipa::path(
    post,
    path = "/users/me/password",
    tag = "users",
    security(("bearer" = [])),
    request_body(content = PasswordChange, content_type = "application/json"),
    responses(
        (status = 204, description = "Changed; every earlier token of the user is refused from now on"),
        (status = 400, description = "`invalid_grant`: wrong current password; `invalid_request`: a malformed body or a weak new password (the reason is in `error_description`)", body = ErrorBody),
        AccountRefused, BadBody,
        (status = 429, description = "Too many wrong current passwords", body = ErrorBody,
            headers(("Retry-After" = u64))),
        Unavailable,
    )
)]
pub async fn change_password(
    app: &App,
    caller: &AccessClaims,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResponse {
    let change: PasswordChange = match parse_json(headers, body) {
        Ok(change) => change,
        Err(response) => return response,
    };
    match app
        .issuer
        .change_password(&caller.sub, &change.current_password, &change.new_password)
        .await
    {
        Ok(()) => no_content(),
        Err(err) => issuer_error(&err),
    }
}

/// `POST /users/me/logout-all`: 204, and every token the user holds stops working. The
/// caller's token must be allowed to manage the account (the frameworks' `AccountManager`
/// extractor refuses others with 403 `insufficient_scope`).
#[utoipa::path(
    post,
    path = "/users/me/logout-all",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every token of the user issued so far is refused from now on"),
        AccountRefused, Unavailable,
    )
)]
pub async fn logout_all(app: &App, caller: &AccessClaims) -> HttpResponse {
    match app.issuer.logout_all(&caller.sub).await {
        Ok(()) => no_content(),
        Err(err) => issuer_error(&err),
    }
}

/// `GET /health`: 200 when every store answers, otherwise 503 naming the ones that do not.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Every store answers", body = Health),
        (status = 503, description = "Some store does not answer", body = Health,
            headers(("Retry-After" = u64))),
    )
)]
pub async fn health(app: &App) -> HttpResponse {
    // Ask every store at once, so a dead one costs one timeout, not one each.
    let mut checks = tokio::task::JoinSet::new();
    for check in &app.health {
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
        return json(
            StatusCode::OK,
            &Health {
                status: HealthStatus::Ok,
                failing: None,
                error: None,
                error_description: None,
            },
        );
    }
    let description = format!("not answering: {}", failing.join(", "));
    let mut response = json(
        StatusCode::SERVICE_UNAVAILABLE,
        &Health {
            status: HealthStatus::Unavailable,
            failing: Some(failing),
            error: Some("temporarily_unavailable"),
            error_description: Some(description),
        },
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
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

fn user_profile(user: &User, access: AccountAccess) -> HttpResponse {
    json(
        StatusCode::OK,
        &Me {
            sub: &user.id,
            username: Some(user.username.as_str()).filter(|_| access.profile),
            full_name: user.full_name.as_deref().filter(|_| access.profile),
            email: user.email.as_deref().filter(|_| access.email),
            scopes: access.manage.then(|| user.scopes.iter().collect()),
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

pub(crate) fn internal_error() -> HttpResponse {
    ErrorResponse::server_error().into_response()
}
