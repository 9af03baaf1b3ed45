//! The tokenward example server on actix-web: routing, a Bearer extractor, and nothing else; the
//! handlers live in `tokenward-server-common`. `cargo run -p tokenward-actix -- --help`.

#![forbid(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::process::ExitCode;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use tokenward_server_common::api::{
    self, AnyScope, Caller, HttpResponse as Reply, ItemsRead, ItemsWrite, RequiredScope,
};
use tokenward_server_common::logging::{self, RequestLog};
use tokenward_server_common::{App, shutdown_signal, startup_failed};
use tracing::Instrument;

type AppData = web::Data<App>;

/// Converts a framework-neutral response (actix-web 4 still speaks `http` 0.2).
fn to_actix(reply: &Reply) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(reply.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in reply.headers() {
        response.append_header((name.as_str(), value.as_bytes()));
    }
    response.body(reply.body().clone())
}

fn headers_of(request: &HttpRequest) -> http::HeaderMap {
    let mut headers = http::HeaderMap::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

/// A 401/403/503 from the Bearer check, as an actix error (an error body, no secret in it).
#[derive(Debug)]
struct Rejected(Reply);

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request rejected with {}", self.0.status())
    }
}

impl ResponseError for Rejected {
    fn error_response(&self) -> HttpResponse {
        to_actix(&self.0)
    }
}

/// A caller whose token is valid and carries scope `S`; rejects with the contract's 401/403/503.
struct Bearer<S>(Caller, PhantomData<S>);

impl<S: RequiredScope + 'static> FromRequest for Bearer<S> {
    type Error = Rejected;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Rejected>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = request.app_data::<AppData>().cloned();
        let headers = headers_of(request);
        Box::pin(async move {
            let app = app.ok_or_else(|| Rejected(api::not_found()))?;
            let caller = app
                .authenticate(&headers, S::SCOPE)
                .await
                .map_err(Rejected)?;
            Ok(Bearer(caller, PhantomData))
        })
    }
}

async fn token(app: AppData, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    // A served TCP connection always has a peer; only hand-built test requests lack one.
    let peer = request
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip());
    to_actix(&app.token(peer, &headers_of(&request), &body).await)
}

async fn revoke(app: AppData, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    to_actix(&app.revoke(&headers_of(&request), &body).await)
}

async fn me(app: AppData, Bearer(caller, _): Bearer<AnyScope>) -> HttpResponse {
    to_actix(&app.me(&caller))
}

async fn list_items(app: AppData, _: Bearer<ItemsRead>) -> HttpResponse {
    to_actix(&app.list_items())
}

async fn create_item(
    app: AppData,
    Bearer(caller, _): Bearer<ItemsWrite>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    to_actix(&app.create_item(&caller, &headers_of(&request), &body))
}

async fn change_password(
    app: AppData,
    Bearer(caller, _): Bearer<AnyScope>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    to_actix(
        &app.change_password(&caller, &headers_of(&request), &body)
            .await,
    )
}

async fn logout_all(app: AppData, Bearer(caller, _): Bearer<AnyScope>) -> HttpResponse {
    to_actix(&app.logout_all(&caller).await)
}

/// `GET /baseline/users/me` (feature `load-baseline` only): `/users/me` for the user id in
/// `X-User-Id`, without authentication, so the load script can measure what auth costs.
#[cfg(feature = "load-baseline")]
async fn baseline_me(app: AppData, request: HttpRequest) -> HttpResponse {
    let user_id = request
        .headers()
        .get("x-user-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    to_actix(&app.profile(user_id).await)
}

async fn jwks(app: AppData) -> HttpResponse {
    to_actix(&app.jwks())
}

async fn health(app: AppData) -> HttpResponse {
    to_actix(&app.health().await)
}

async fn metrics(app: AppData) -> HttpResponse {
    to_actix(&app.metrics())
}

async fn deadline(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The timeout answer travels as an error: actix renders it with `Rejected::error_response`.
    // (Keeping a clone of the request to build a response would break actix's routing, which
    // needs the only reference to it.)
    let Some(app) = request.app_data::<AppData>().cloned() else {
        return next
            .call(request)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    match app.within_deadline(next.call(request)).await {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        Err(timed_out) => Err(Rejected(timed_out).into()),
    }
}

/// One span per request (id, method, path), the answer logged, the id sent back.
async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let log = RequestLog::start(request.method().as_str(), request.path());
    let result = next.call(request).instrument(log.span.clone()).await;
    match result {
        Ok(mut response) => {
            log.finish(response.status().as_u16());
            if let Ok(id) = actix_web::http::header::HeaderValue::from_bytes(log.id.as_bytes()) {
                response.headers_mut().insert(
                    actix_web::http::header::HeaderName::from_static(logging::REQUEST_ID_HEADER),
                    id,
                );
            }
            Ok(response.map_into_boxed_body())
        }
        Err(error) => {
            log.finish(error.as_response_error().status_code().as_u16());
            Err(error)
        }
    }
}

/// `path` answering `routes`, and any other method with 405 and `Allow: allow`.
fn resource(path: &str, allow: &'static str, routes: Vec<actix_web::Route>) -> actix_web::Resource {
    routes
        .into_iter()
        .fold(web::resource(path), actix_web::Resource::route)
        .default_service(web::to(move || async move {
            to_actix(&api::method_not_allowed(allow))
        }))
}

#[cfg(feature = "load-baseline")]
fn baseline(config: &mut web::ServiceConfig) {
    if tokenward_server_common::load_baseline_enabled() {
        config.route("/baseline/users/me", web::get().to(baseline_me));
    }
}

#[cfg(not(feature = "load-baseline"))]
fn baseline(_: &mut web::ServiceConfig) {}

#[tokio::main]
async fn main() -> ExitCode {
    let config = tokenward_server_common::config_from_args();
    logging::init(config.log_format);
    let started = match tokenward_server_common::start(&config).await {
        Ok(started) => started,
        Err(err) => return startup_failed(&err),
    };
    let app = web::Data::from(started.app);
    let header_timeout = std::time::Duration::from_secs(config.header_timeout);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // actix-web counts connections per worker.
    let connections_per_worker = usize::try_from(config.max_connections)
        .unwrap_or(usize::MAX)
        .div_ceil(workers);
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(app.clone())
            .app_data(web::PayloadConfig::new(api::MAX_BODY_BYTES))
            .wrap(from_fn(deadline))
            .wrap(from_fn(log_request))
            .service(resource("/token", "POST", vec![web::post().to(token)]))
            .service(resource("/revoke", "POST", vec![web::post().to(revoke)]))
            .service(resource("/users/me", "GET", vec![web::get().to(me)]))
            .service(resource(
                "/items",
                "GET, POST",
                vec![web::get().to(list_items), web::post().to(create_item)],
            ))
            .service(resource(
                "/users/me/password",
                "POST",
                vec![web::post().to(change_password)],
            ))
            .service(resource(
                "/users/me/logout-all",
                "POST",
                vec![web::post().to(logout_all)],
            ))
            .service(resource(
                "/.well-known/jwks.json",
                "GET",
                vec![web::get().to(jwks)],
            ))
            .service(resource("/health", "GET", vec![web::get().to(health)]))
            .service(resource("/metrics", "GET", vec![web::get().to(metrics)]))
            .configure(baseline)
            .default_service(web::to(|| async { to_actix(&api::not_found()) }))
    })
    .disable_signals()
    .workers(workers)
    // Slow and idle clients: the request head must arrive within the header timeout, and an
    // idle kept-alive connection is closed after it.
    .client_request_timeout(header_timeout)
    .keep_alive(header_timeout)
    .max_connections(connections_per_worker)
    .listen(started.listener);
    let server = match server {
        Ok(server) => server.run(),
        Err(err) => {
            eprintln!("error: --bind {}: {err}", started.address);
            return ExitCode::from(2);
        }
    };
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        handle.stop(true).await;
    });
    match server.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
