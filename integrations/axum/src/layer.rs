//! The layer every tokenward router needs: it hands the [`Tokenward`] to the extractors and
//! bounds each request's time.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use tokenward::oauth2::ErrorResponse;
use tower_layer::Layer;
use tower_service::Service;

use crate::{Reply, Tokenward};

/// What [`Tokenward::layer`] returns.
#[derive(Clone, Debug)]
pub struct TokenwardLayer {
    tokenward: Tokenward,
}

/// The service [`TokenwardLayer`] wraps a router's routes in.
#[derive(Clone, Debug)]
pub struct TokenwardService<S> {
    inner: S,
    tokenward: Tokenward,
}

impl Tokenward {
    /// The layer the extractors need: it puts this [`Tokenward`] on every request, answers a
    /// request that takes longer than the request timeout (body reading included) with 503
    /// `temporarily_unavailable` and `Retry-After`, and turns axum's plain-text 413 (a body over
    /// a `DefaultBodyLimit`) into the JSON error every other answer uses.
    ///
    /// ```
    /// # fn f(tokenward: axum_tokenward::Tokenward) {
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "hello" }))
    ///     .layer(tokenward.layer());
    /// # }
    /// ```
    pub fn layer(&self) -> TokenwardLayer {
        TokenwardLayer {
            tokenward: self.clone(),
        }
    }
}

impl<S> Layer<S> for TokenwardLayer {
    type Service = TokenwardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TokenwardService {
            inner,
            tokenward: self.tokenward.clone(),
        }
    }
}

impl<S> Service<Request> for TokenwardService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was polled ready serves this request; the fresh clone waits for the
        // next (tower's rule for services that move into a future).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let timeout = self.tokenward.endpoints.request_deadline();
        request.extensions_mut().insert(self.tokenward.clone());
        Box::pin(async move {
            let Ok(response) = tokio::time::timeout(timeout, inner.call(request)).await else {
                let timed_out = ErrorResponse {
                    retry_after: Some(1),
                    ..ErrorResponse::temporarily_unavailable("the request took too long")
                };
                return Ok(Reply(timed_out.into_response()).into_response());
            };
            let response = response?;
            if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(&response) {
                return Ok(Reply(payload_too_large()).into_response());
            }
            Ok(response)
        })
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn payload_too_large() -> http::Response<Vec<u8>> {
    ErrorResponse::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "the request body is too large",
    )
    .into_response()
}
