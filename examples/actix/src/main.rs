//! The tokenward example server on actix-web, built on `actix-web-tokenward`: the demo routes,
//! request logs, and nothing else. `cargo run -p tokenward-actix -- --help`.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_tokenward::{Bearer, BearerUser, Tokenward, headers_of, into_actix, resource};
use tokenward_server_common::api::{self, ItemsRead, ItemsWrite};
use tokenward_server_common::logging::{self, RequestLog};
use tokenward_server_common::{App, shutdown_signal, startup_failed};
use tracing::Instrument;

type AppData = web::Data<App>;

async fn me(caller: BearerUser) -> HttpResponse {
    into_actix(&api::me(&caller.user))
}

async fn list_items(app: AppData, _: Bearer<ItemsRead>) -> HttpResponse {
    into_actix(&api::list_items(&app))
}

async fn create_item(
    app: AppData,
    token: Bearer<ItemsWrite>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    into_actix(&api::create_item(
        &app,
        &token.claims,
        &headers_of(&request),
        &body,
    ))
}

async fn change_password(
    app: AppData,
    token: Bearer,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    into_actix(&api::change_password(&app, &token.claims, &headers_of(&request), &body).await)
}

async fn logout_all(app: AppData, token: Bearer) -> HttpResponse {
    into_actix(&api::logout_all(&app, &token.claims).await)
}

async fn health(app: AppData) -> HttpResponse {
    into_actix(&api::health(&app).await)
}

async fn metrics(app: AppData) -> HttpResponse {
    into_actix(&api::metrics(&app))
}

async fn demo(app: AppData) -> HttpResponse {
    into_actix(&tokenward_server_common::demo::start(&app))
}

async fn demo_callback(app: AppData, request: HttpRequest) -> HttpResponse {
    into_actix(
        &tokenward_server_common::demo::callback(
            &app,
            &headers_of(&request),
            request.query_string(),
        )
        .await,
    )
}

async fn openapi() -> HttpResponse {
    into_actix(&tokenward_server_common::openapi::openapi_json())
}

/// One span per request (id, method, path), the answer logged, the id sent back.
async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let log = RequestLog::start(request.method().as_str(), request.path());
    let result = next.call(request).instrument(log.span.clone()).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    log.finish(status.as_u16());
    let mut response = result?.map_into_boxed_body();
    if let Ok(id) = HeaderValue::from_bytes(log.id.as_bytes()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(logging::REQUEST_ID_HEADER), id);
    }
    Ok(response)
}

/// `GET /baseline/users/me`: `/users/me` for the user id in `X-User-Id` without
/// authentication, so `scripts/load.py` can measure what auth costs. Only in builds with the
/// `load-baseline` feature, and only when `TOKENWARD_LOAD_BASELINE=1`.
fn baseline(config: &mut web::ServiceConfig) {
    #[cfg(feature = "load-baseline")]
    if tokenward_server_common::load_baseline_enabled() {
        async fn me(app: AppData, request: HttpRequest) -> HttpResponse {
            let user_id = request
                .headers()
                .get("x-user-id")
                .and_then(|v| v.to_str().ok());
            into_actix(&api::profile(&app, user_id.unwrap_or_default()).await)
        }
        config.route("/baseline/users/me", web::get().to(me));
    }
    let _ = config;
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = tokenward_server_common::config_from_args();
    logging::init(config.log_format);
    let started = match tokenward_server_common::start(&config).await {
        Ok(started) => started,
        Err(err) => return startup_failed(&err),
    };
    let tokenward = Tokenward::new(started.app.issuer().clone())
        .authorization_server(started.app.server().clone())
        .trusted_proxies(config.trusted_proxies.clone())
        .request_timeout(Duration::from_secs(config.request_timeout));
    let app = web::Data::from(started.app);
    let header_timeout = Duration::from_secs(config.header_timeout);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // actix-web counts connections per worker.
    let max_connections = usize::try_from(config.max_connections).unwrap_or(usize::MAX);
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(app.clone())
            .app_data(web::PayloadConfig::new(api::MAX_JSON_BYTES))
            .configure(tokenward.configure())
            .wrap(from_fn(actix_web_tokenward::limits))
            .wrap(from_fn(log_request))
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
            .service(resource("/health", "GET", vec![web::get().to(health)]))
            .service(resource("/demo", "GET", vec![web::get().to(demo)]))
            .service(resource(
                "/demo/callback",
                "GET",
                vec![web::get().to(demo_callback)],
            ))
            .service(resource("/metrics", "GET", vec![web::get().to(metrics)]))
            .service(resource(
                "/openapi.json",
                "GET",
                vec![web::get().to(openapi)],
            ))
            .configure(baseline)
            .default_service(web::to(async || into_actix(&api::not_found())))
    })
    .disable_signals()
    .workers(workers)
    // Slow and idle clients: the request head must arrive within the header timeout, and an
    // idle kept-alive connection is closed after it.
    .client_request_timeout(header_timeout)
    .keep_alive(header_timeout)
    .max_connections(max_connections.div_ceil(workers))
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
