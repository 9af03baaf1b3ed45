//! The tokenward example server on axum: routing, a Bearer extractor, and nothing else; the
//! handlers live in `tokenward-server-common`. `cargo run -p tokenward-axum -- --help`.

#![forbid(unsafe_code)]

use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::{HeaderMap, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokenward_server_common::api::{
    self, AnyScope, Caller, HttpResponse, ItemsRead, ItemsWrite, RequiredScope,
};
use tokenward_server_common::logging::{self, RequestLog};
use tokenward_server_common::{App, shutdown_signal, startup_failed};
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tracing::Instrument;

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

async fn metrics(State(app): AppState) -> Reply {
    Reply(app.metrics())
}

async fn deadline(State(app): AppState, request: Request, next: Next) -> Response {
    match app.within_deadline(next.run(request)).await {
        Ok(response) => response,
        Err(timed_out) => Reply(timed_out).into_response(),
    }
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
        .route("/metrics", get(metrics))
        .fallback(|| async { Reply(api::not_found()) })
        .layer(DefaultBodyLimit::max(api::MAX_BODY_BYTES))
        .layer(middleware::from_fn(too_large_as_json))
        .layer(middleware::from_fn_with_state(app.clone(), deadline))
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}

/// What a connection may cost the server.
struct ConnectionLimits {
    /// Time to send a request's headers, the first or the next on a kept-alive connection.
    header_timeout: Duration,
    /// Connections served at once; more are closed as soon as they are accepted.
    max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown`, then lets requests in flight finish (up to
/// 10 s). `axum::serve` runs hyper without a timer, so it has no header-read timeout and a
/// client that sends a byte a second holds a connection forever; this loop sets hyper's
/// header-read timeout (which hyper also applies while a kept-alive connection waits for its
/// next request) and caps the open connections.
async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors or a connection reset before accept: try again
                // shortly instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let router = router.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A timed-out or reset connection is the client's business.
            let _ = connection.await;
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = tokenward_server_common::config_from_args();
    logging::init(config.log_format);
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
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(config.header_timeout),
        max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
    };
    let served = serve(listener, router(started.app), limits, shutdown_signal()).await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
