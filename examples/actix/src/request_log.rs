//! Request logs: one span per request, its answer logged, its id sent back.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tokenward_server_common::logging::{self, RequestLog};
use tracing::Instrument;

/// One span per request (id, method, path), the answer logged, the id sent back.
pub async fn log_request(
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
