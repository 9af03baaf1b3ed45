//! Everything the tokenward example servers share except the web framework: the flags of
//! `docs/API.md`, start-up (stores, keys, users file, demo user), the handlers over `http`
//! types, and shutdown on SIGINT/SIGTERM. A server adds routing and a Bearer extractor.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The error side of handlers is the response to send, built once per request: boxing it buys
// nothing.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod config;
pub mod demo;
pub mod logging;
pub mod openapi;
pub mod startup;

pub use api::App;
pub use config::Config;
pub use startup::{Started, StartupError, start};

use std::process::ExitCode;

/// The library's endpoints as the flags configure them: the authorization server, the trusted
/// proxies and the request deadline. Both servers mount these.
pub fn endpoints(app: &App, config: &Config) -> tokenward::endpoints::Endpoints {
    tokenward::endpoints::Endpoints::new(app.issuer().clone())
        .authorization_server(app.server().clone())
        .trusted_proxies(config.trusted_proxies.clone())
        .request_timeout(std::time::Duration::from_secs(config.request_timeout))
}

/// Parses the command line; on a usage error clap prints it and exits with status 2.
pub fn config_from_args() -> Config {
    <Config as clap::Parser>::parse()
}

/// Prints a start-up error on one line and returns exit status 2.
pub fn startup_failed(err: &StartupError) -> ExitCode {
    eprintln!("error: {err}");
    ExitCode::from(2)
}

/// Whether to serve the unauthenticated `/baseline/users/me` route of `scripts/load.sh`: only
/// in binaries built with the servers' `load-baseline` feature, and only when
/// `TOKENWARD_LOAD_BASELINE=1` is set, so neither a default build nor a test run exposes it.
pub fn load_baseline_enabled() -> bool {
    std::env::var_os("TOKENWARD_LOAD_BASELINE").is_some_and(|v| v == "1")
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM, for graceful shutdown.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                // Without a SIGTERM handler, Ctrl-C still works.
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    println!("shutting down");
}
