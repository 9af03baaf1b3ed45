//! Between `tokenward::oauth2`'s `http` 1 types and actix-web 4's own (`http` 0.2).

use std::fmt;

use actix_web::{HttpRequest, HttpResponse, ResponseError};

/// A framework-neutral response (an `http::Response<Vec<u8>>`) as an actix-web response.
///
/// ```
/// use tokenward::oauth2::ErrorResponse;
///
/// async fn handler() -> actix_web::HttpResponse {
///     actix_web_tokenward::into_actix(&ErrorResponse::invalid_request("name is missing").into_response())
/// }
/// ```
pub fn into_actix(response: &http::Response<Vec<u8>>) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in response.headers() {
        builder.append_header((name.as_str(), value.as_bytes()));
    }
    builder.body(response.body().clone())
}

/// The request's headers as an `http::HeaderMap`, for `tokenward::oauth2`'s functions.
///
/// ```
/// async fn handler(request: actix_web::HttpRequest) -> String {
///     let headers = actix_web_tokenward::headers_of(&request);
///     format!("{} headers", headers.len())
/// }
/// ```
pub fn headers_of(request: &HttpRequest) -> http::HeaderMap {
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

/// Why an extractor refused a request: the complete response to send (401, 403, 503), as an
/// actix error. Its `Display` names the status only, never a token.
#[derive(Debug)]
pub struct Rejection(pub http::Response<Vec<u8>>);

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request rejected with {}", self.0.status())
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.0.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        into_actix(&self.0)
    }
}
