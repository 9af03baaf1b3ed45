//! The tokenward example server on axum, built on `axum-tokenward`: the library's endpoints,
//! the demo API ([`demo_api`]) and request logs ([`request_log`]).
//! `cargo run -p tokenward-axum -- --help`.

#![forbid(unsafe_code)]

mod demo_api;
mod request_log;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum_tokenward::{ConnectionLimits, Reply, Tokenward};
use tokenward_server_common::api;
use tokenward_server_common::logging;
use tokenward_server_common::{App, shutdown_signal, startup_failed};

fn router(app: Arc<App>, tokenward: &Tokenward) -> Router {
    demo_api::routes()
        .layer(DefaultBodyLimit::max(api::MAX_JSON_BYTES))
        .merge(tokenward.routes())
        .fallback(async || Reply(api::not_found()))
        .layer(tokenward.layer())
        .layer(middleware::from_fn(request_log::log_request))
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
    let tokenward = Tokenward::from(tokenward_server_common::endpoints(&started.app, &config));
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
