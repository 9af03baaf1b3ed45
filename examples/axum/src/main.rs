//! The tokenward example server on axum: routing, a Bearer extractor, and nothing else; the
//! handlers live in `tokenward-server-common`. `cargo run -p tokenward-axum -- --help`.

#![forbid(unsafe_code)]

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::{HeaderMap, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokenward_server_common::api::{
    self, AnyScope, Caller, HttpResponse, ItemsRead, ItemsWrite, RequiredScope,
};
use tokenward_server_common::{App, shutdown_signal, startup_failed};

/// Converts a framework-neutral response.
struct Reply(HttpResponse);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        self.0.map(Body::from)
    }
}

/// A caller whose token is valid and carries scope `S`; rejects with the contract's 401/403/503.
struct Bearer<S>(Caller, PhantomData<S>);

impl<S: RequiredScope> FromRequestParts<Arc<App>> for Bearer<S> {
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Reply> {
        let caller = app
            .authenticate(&parts.headers, S::SCOPE)
            .await
            .map_err(Reply)?;
        Ok(Bearer(caller, PhantomData))
    }
}

type AppState = State<Arc<App>>;

async fn token(
    State(app): AppState,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    Reply(app.token(peer.ip(), &headers, &body).await)
}

async fn revoke(State(app): AppState, headers: HeaderMap, body: Bytes) -> Reply {
    Reply(app.revoke(&headers, &body).await)
}

async fn me(State(app): AppState, Bearer(caller, _): Bearer<AnyScope>) -> Reply {
    Reply(app.me(&caller))
}

async fn list_items(State(app): AppState, _: Bearer<ItemsRead>) -> Reply {
    Reply(app.list_items())
}

async fn create_item(
    State(app): AppState,
    Bearer(caller, _): Bearer<ItemsWrite>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    Reply(app.create_item(&caller, &headers, &body))
}

async fn change_password(
    State(app): AppState,
    Bearer(caller, _): Bearer<AnyScope>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    Reply(app.change_password(&caller, &headers, &body).await)
}

async fn logout_all(State(app): AppState, Bearer(caller, _): Bearer<AnyScope>) -> Reply {
    Reply(app.logout_all(&caller).await)
}

/// `GET /baseline/users/me` (feature `load-baseline` only): `/users/me` for the user id in
/// `X-User-Id`, without authentication, so the load script can measure what auth costs.
#[cfg(feature = "load-baseline")]
async fn baseline_me(State(app): AppState, headers: HeaderMap) -> Reply {
    let user_id = headers
        .get("x-user-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Reply(app.profile(user_id).await)
}

async fn jwks(State(app): AppState) -> Reply {
    Reply(app.jwks())
}

async fn health(State(app): AppState) -> Reply {
    Reply(app.health().await)
}

async fn deadline(State(app): AppState, request: Request, next: Next) -> Response {
    match app.within_deadline(next.run(request)).await {
        Ok(response) => response,
        Err(timed_out) => Reply(timed_out).into_response(),
    }
}

async fn too_large_as_json(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return Reply(api::payload_too_large()).into_response();
    }
    response
}

fn router(app: Arc<App>) -> Router {
    // axum answers a wrong method with 405 and the `Allow` header itself.
    let router = Router::new();
    #[cfg(feature = "load-baseline")]
    let router = if tokenward_server_common::load_baseline_enabled() {
        router.route("/baseline/users/me", get(baseline_me))
    } else {
        router
    };
    router
        .route("/token", post(token))
        .route("/revoke", post(revoke))
        .route("/users/me", get(me))
        .route("/items", get(list_items).post(create_item))
        .route("/users/me/password", post(change_password))
        .route("/users/me/logout-all", post(logout_all))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/health", get(health))
        .fallback(|| async { Reply(api::not_found()) })
        .layer(DefaultBodyLimit::max(api::MAX_BODY_BYTES))
        .layer(middleware::from_fn(too_large_as_json))
        .layer(middleware::from_fn_with_state(app.clone(), deadline))
        .with_state(app)
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = tokenward_server_common::config_from_args();
    let started = match tokenward_server_common::start(&config).await {
        Ok(started) => started,
        Err(err) => return startup_failed(&err),
    };
    let listener = match tokio::net::TcpListener::from_std(started.listener) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: --bind {}: {err}", started.address);
            return ExitCode::from(2);
        }
    };
    let service = router(started.app).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
