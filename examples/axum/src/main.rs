//! The tokenward example server on axum, built on `axum-tokenward`: the demo routes, request
//! logs, and nothing else. `cargo run -p tokenward-axum -- --help`.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum_tokenward::{Bearer, BearerUser, ConnectionLimits, Reply, Tokenward};
use tokenward_server_common::api::{self, ItemsRead, ItemsWrite};
use tokenward_server_common::logging::{self, RequestLog};
use tokenward_server_common::openapi;
use tokenward_server_common::{App, shutdown_signal, startup_failed};
use tracing::Instrument;

type AppState = State<Arc<App>>;

async fn me(caller: BearerUser) -> Reply {
    Reply(api::me(&caller.user))
}

async fn list_items(State(app): AppState, _: Bearer<ItemsRead>) -> Reply {
    Reply(api::list_items(&app))
}

async fn create_item(
    State(app): AppState,
    token: Bearer<ItemsWrite>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    Reply(api::create_item(&app, &token.claims, &headers, &body))
}

async fn change_password(
    State(app): AppState,
    token: Bearer,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    Reply(api::change_password(&app, &token.claims, &headers, &body).await)
}

async fn logout_all(State(app): AppState, token: Bearer) -> Reply {
    Reply(api::logout_all(&app, &token.claims).await)
}

/// One span per request (id, method, path), the answer logged, the id sent back.
async fn log_request(request: Request, next: Next) -> Response {
    let log = RequestLog::start(request.method().as_str(), request.uri().path());
    let mut response = next.run(request).instrument(log.span.clone()).await;
    log.finish(response.status().as_u16());
    response
        .headers_mut()
        .insert(logging::REQUEST_ID_HEADER, log.id.clone());
    response
}

/// `GET /baseline/users/me`: `/users/me` for the user id in `X-User-Id` without
/// authentication, so `scripts/load.py` can measure what auth costs. Only in builds with the
/// `load-baseline` feature, and only when `TOKENWARD_LOAD_BASELINE=1`.
mod baseline {
    use super::*;

    #[cfg(feature = "load-baseline")]
    pub fn routes() -> Router<Arc<App>> {
        async fn me(State(app): AppState, headers: HeaderMap) -> Reply {
            let user_id = headers.get("x-user-id").and_then(|v| v.to_str().ok());
            Reply(api::profile(&app, user_id.unwrap_or_default()).await)
        }
        let router = Router::new();
        if tokenward_server_common::load_baseline_enabled() {
            return router.route("/baseline/users/me", get(me));
        }
        router
    }

    #[cfg(not(feature = "load-baseline"))]
    pub fn routes() -> Router<Arc<App>> {
        Router::new()
    }
}

fn router(app: Arc<App>, tokenward: &Tokenward) -> Router {
    // axum answers a wrong method with 405 and the `Allow` header itself.
    Router::new()
        .route("/users/me", get(me))
        .route("/items", get(list_items).post(create_item))
        .route("/users/me/password", post(change_password))
        .route("/users/me/logout-all", post(logout_all))
        .route(
            "/health",
            get(async |State(app): AppState| Reply(api::health(&app).await)),
        )
        .route(
            "/metrics",
            get(async |State(app): AppState| Reply(api::metrics(&app))),
        )
        .route(
            "/demo",
            get(async |State(app): AppState| Reply(tokenward_server_common::demo::start(&app))),
        )
        .route(
            "/demo/callback",
            get(
                async |State(app): AppState, RawQuery(query): RawQuery, headers: HeaderMap| {
                    Reply(
                        tokenward_server_common::demo::callback(
                            &app,
                            &headers,
                            query.as_deref().unwrap_or_default(),
                        )
                        .await,
                    )
                },
            ),
        )
        .route(
            "/openapi.json",
            get(async || Reply(openapi::openapi_json())),
        )
        .layer(DefaultBodyLimit::max(api::MAX_JSON_BYTES))
        .merge(tokenward.routes())
        .merge(baseline::routes())
        .fallback(async || Reply(api::not_found()))
        .layer(tokenward.layer())
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = tokenward_server_common::config_from_args();
    logging::init(config.log_format);
    let started = match tokenward_server_common::start(&config).await {
        Ok(started) => started,
        Err(err) => return startup_failed(&err),
    };
    let Ok(listener) = tokio::net::TcpListener::from_std(started.listener) else {
        eprintln!(
            "error: --bind {}: cannot serve this socket",
            started.address
        );
        return ExitCode::from(2);
    };
    let tokenward = Tokenward::new(started.app.issuer().clone())
        .authorization_server(started.app.server().clone())
        .trusted_proxies(config.trusted_proxies.clone())
        .request_timeout(Duration::from_secs(config.request_timeout));
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(config.header_timeout),
        max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        ..ConnectionLimits::default()
    };
    let app = router(started.app, &tokenward);
    match axum_tokenward::serve(listener, app, limits, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
