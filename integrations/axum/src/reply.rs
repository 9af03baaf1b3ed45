//! Framework-neutral responses, as axum responses.

use axum::body::Body;
use axum::response::{IntoResponse, Response};

/// A response built by `tokenward::oauth2` (an `http::Response<Vec<u8>>`) as an axum response.
///
/// ```
/// use axum_tokenward::Reply;
/// use tokenward::oauth2::ErrorResponse;
///
/// async fn handler() -> Reply {
///     Reply(ErrorResponse::invalid_request("name is missing").into_response())
/// }
/// ```
#[derive(Debug)]
pub struct Reply(pub http::Response<Vec<u8>>);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        self.0.map(Body::from)
    }
}
