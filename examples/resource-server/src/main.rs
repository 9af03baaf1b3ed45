//! `cargo run -p tokenward-resource-server`: an API that accepts the tokens of the example
//! server on 127.0.0.1:8000, with only its public keys. See the library docs.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokenward_resource_server::{RemoteKeys, router, spawn_refresh};

/// Serves `/items` and `/whoami` to holders of tokens from a tokenward issuer.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8001")]
    bind: String,
    /// Where the issuer publishes its keys.
    #[arg(long, default_value = "http://127.0.0.1:8000/.well-known/jwks.json")]
    jwks_url: String,
    /// The `iss` tokens must carry (the issuer's `--issuer`).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    issuer: String,
    /// The `aud` tokens must carry.
    #[arg(long, default_value = "tokenward-example-api")]
    audience: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let keys = match RemoteKeys::fetch(args.jwks_url.clone(), args.issuer, args.audience).await {
        Ok(keys) => Arc::new(keys),
        Err(err) => {
            eprintln!("error: --jwks-url {}: {err}", args.jwks_url);
            return ExitCode::from(2);
        }
    };
    spawn_refresh(keys.clone());
    let listener = match tokio::net::TcpListener::bind(&args.bind).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: --bind {}: {err}", args.bind);
            return ExitCode::from(2);
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let limits = axum_tokenward::ConnectionLimits::default();
    match listener.local_addr() {
        Ok(address) => println!("listening on http://{address}"),
        Err(err) => eprintln!("warning: {err}"),
    }
    match axum_tokenward::serve(listener, router(keys), limits, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
