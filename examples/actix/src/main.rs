//! The tokenward example server on actix-web, built on `actix-web-tokenward`: the library's
//! endpoints, the demo API ([`demo_api`]) and request logs ([`request_log`]).
//! `cargo run -p tokenward-actix -- --help`.

#![forbid(unsafe_code)]

mod demo_api;
mod request_log;

use std::process::ExitCode;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::web;
use actix_web_tokenward::{Tokenward, into_actix};
use tokenward_server_common::api;
use tokenward_server_common::logging;
use tokenward_server_common::{shutdown_signal, startup_failed};

#[tokio::main]
async fn main() -> ExitCode {
    let config = tokenward_server_common::config_from_args();
    logging::init(config.log_format);
    let started = match tokenward_server_common::start(&config).await {
        Ok(started) => started,
        Err(err) => return startup_failed(&err),
    };
    let tokenward = Tokenward::from(tokenward_server_common::endpoints(&started.app, &config));
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
            .wrap(from_fn(request_log::log_request))
            .configure(demo_api::configure)
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
