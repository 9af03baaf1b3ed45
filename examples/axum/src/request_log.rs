//! Request logs: one span per request, its answer logged, its id sent back.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tokenward_server_common::logging::{self, RequestLog};
use tracing::Instrument;

/// One span per request (id, method, path), the answer logged, the id sent back.
pub async fn log_request(request: Request, next: Next) -> Response {
    let log = RequestLog::start(request.method().as_str(), request.uri().path());
    let mut response = next.run(request).instrument(log.span.clone()).await;
    log.finish(response.status().as_u16());
    response
        .headers_mut()
        .insert(logging::REQUEST_ID_HEADER, log.id.clone());
    response
}
