//! The per-request limits: a deadline, and a JSON answer for a body that is too large.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use tokenward::oauth2::ErrorResponse;

use crate::{Rejection, Tokenward, into_actix};

/// Middleware (`.wrap(actix_web::middleware::from_fn(limits))`): a request that takes longer
/// than the [`Tokenward`]'s request timeout (body reading included) is answered 503
/// `temporarily_unavailable` with `Retry-After`, and actix-web's plain-text 413 (a body over a
/// `PayloadConfig` limit) becomes the JSON error every other answer uses. Without
/// [`Tokenward::configure`] on the app, the deadline is [`Tokenward::DEFAULT_REQUEST_TIMEOUT`].
///
/// ```
/// use actix_web::middleware::from_fn;
///
/// # fn f(tokenward: actix_web_tokenward::Tokenward) {
/// let app = actix_web::App::new()
///     .configure(tokenward.configure())
///     .wrap(from_fn(actix_web_tokenward::limits));
/// # }
/// ```
pub async fn limits(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let timeout = request
        .app_data::<Tokenward>()
        .map_or(Tokenward::DEFAULT_REQUEST_TIMEOUT, |tokenward| {
            tokenward.endpoints.request_deadline()
        });
    // The timeout answer travels as an error, rendered by `Rejection::error_response`: building
    // a response would need a clone of the request, and actix's routing needs the only one.
    let Ok(result) = tokio::time::timeout(timeout, next.call(request)).await else {
        let timed_out = ErrorResponse {
            retry_after: Some(1),
            ..ErrorResponse::temporarily_unavailable("the request took too long")
        };
        return Err(Rejection(timed_out.into_response()).into());
    };
    let response = result?.map_into_boxed_body();
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(&response) {
        let json = ErrorResponse::new(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        )
        .into_response();
        return Ok(response.into_response(into_actix(&json)));
    }
    Ok(response)
}

fn is_json(response: &ServiceResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
