//! Logs: `tracing` to standard error (standard output carries the address and the demo password
//! for whoever started the server), filtered by `RUST_LOG`, and one span per request with its id,
//! method and path (never the query, which a careless client may put a token in).

use std::time::Instant;

use http::HeaderValue;
use rand::RngCore;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The response header carrying a request's id, as its log lines do.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Installs the process's subscriber; `RUST_LOG` chooses the lines (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests that start the server in process) keeps the first.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// A request being served: its span (enter it around the handler) and its id.
pub struct RequestLog {
    /// `request{request_id, method, path}`.
    pub span: tracing::Span,
    /// The id, also sent back in [`REQUEST_ID_HEADER`].
    pub id: HeaderValue,
    started: Instant,
}

impl RequestLog {
    /// Starts the log of a request.
    pub fn start(method: &str, path: &str) -> Self {
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let span = tracing::info_span!("request", request_id = %id, method, path);
        Self {
            span,
            // Hex digits are always a valid header value.
            id: HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("-")),
            started: Instant::now(),
        }
    }

    /// Logs the answer, inside the request's span.
    pub fn finish(&self, status: u16) {
        let _entered = self.span.enter();
        let elapsed_ms = self.started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(status, elapsed_ms, "answered");
    }
}
