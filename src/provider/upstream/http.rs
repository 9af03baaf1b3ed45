//! The HTTP side of talking to the upstream provider: the pluggable client ([`UpstreamHttp`],
//! [`ReqwestHttp`] by default), its adapter for the `openidconnect` crate, and how long a
//! response may be cached (`Cache-Control`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use openidconnect::{HttpRequest, HttpResponse};

use super::metadata::{
    DEFAULT_METADATA_LIFETIME_SECS, MAX_METADATA_LIFETIME_SECS, MIN_METADATA_LIFETIME_SECS,
};

/// The largest response body read from the upstream provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
type BoxedFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A failure of the HTTP client talking to the upstream provider.
#[derive(Debug, thiserror::Error)]
#[error("upstream request failed: {0}")]
pub struct UpstreamHttpError(pub String);

/// The HTTP client for the upstream provider's discovery, JWKS and token endpoints. The default
/// ([`ReqwestHttp`]) follows no redirects and times out; tests substitute their own provider.
#[async_trait]
pub trait UpstreamHttp: Send + Sync + 'static {
    /// Sends one request and returns the whole response.
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, UpstreamHttpError>;
}

/// [`UpstreamHttp`] over `reqwest` (rustls): no redirects (the `openidconnect` crate's advice,
/// against SSRF), 5 s to connect, 10 s per request, bodies up to 1 MiB.
#[derive(Clone, Debug)]
pub struct ReqwestHttp {
    client: reqwest::Client,
}

impl ReqwestHttp {
    /// A client with the limits above.
    pub fn new() -> Result<Self, UpstreamHttpError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| UpstreamHttpError(e.to_string()))?;
        Ok(Self { client })
    }
}

#[async_trait]
impl UpstreamHttp for ReqwestHttp {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, UpstreamHttpError> {
        let failed = |e: reqwest::Error| UpstreamHttpError(e.without_url().to_string());
        let (parts, body) = request.into_parts();
        let mut response = self
            .client
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(failed)?;
        let mut answer = http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            *headers = response.headers().clone();
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(UpstreamHttpError("response body too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        answer
            .body(body)
            .map_err(|e| UpstreamHttpError(e.to_string()))
    }
}

/// [`UpstreamHttp`] as `openidconnect`'s client. A named type rather than a closure: its boxed
/// `Send` future keeps the handlers' futures `Send` (axum requires it), which the compiler cannot
/// prove through a closure's higher-ranked bounds. It also notes the shortest cache lifetime
/// (`Cache-Control`) of the responses it saw, for discovery and the JWKS.
pub(super) struct HttpAdapter {
    http: Arc<dyn UpstreamHttp>,
    lifetime: std::sync::Mutex<Option<i64>>,
}

impl HttpAdapter {
    pub(super) fn new(http: &Arc<dyn UpstreamHttp>) -> Self {
        Self {
            http: Arc::clone(http),
            lifetime: std::sync::Mutex::new(None),
        }
    }

    /// The shortest cache lifetime of the responses so far (the default if none).
    pub(super) fn lifetime(&self) -> i64 {
        self.lifetime
            .lock()
            .ok()
            .and_then(|l| *l)
            .unwrap_or(DEFAULT_METADATA_LIFETIME_SECS)
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for HttpAdapter {
    type Error = UpstreamHttpError;
    type Future = BoxedFuture<'c, Result<HttpResponse, UpstreamHttpError>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.send(request).await?;
            let seen = cache_lifetime(response.headers());
            if let Ok(mut lifetime) = self.lifetime.lock() {
                *lifetime = Some(lifetime.map_or(seen, |l| l.min(seen)));
            }
            Ok(response)
        })
    }
}

/// How long a response may be kept, from its `Cache-Control` (RFC 9111 §5.2.2): `max-age`
/// seconds, none for `no-cache` or `no-store`, `DEFAULT_METADATA_LIFETIME_SECS` without
/// either (or with a `max-age` that is not a number); always within
/// `MIN_METADATA_LIFETIME_SECS ..= MAX_METADATA_LIFETIME_SECS`.
fn cache_lifetime(headers: &http::HeaderMap) -> i64 {
    let mut max_age: Option<u64> = None;
    let mut uncached = false;
    let directives = headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for directive in directives {
        let (name, argument) = match directive.split_once('=') {
            Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            uncached = true;
        } else if name.eq_ignore_ascii_case("max-age")
            && let Some(secs) = argument.and_then(|a| a.parse::<u64>().ok())
        {
            max_age = Some(max_age.map_or(secs, |m| m.min(secs)));
        }
    }
    let secs = match (uncached, max_age) {
        (true, _) => 0,
        (false, Some(secs)) => i64::try_from(secs).unwrap_or(i64::MAX),
        (false, None) => DEFAULT_METADATA_LIFETIME_SECS,
    };
    secs.clamp(MIN_METADATA_LIFETIME_SECS, MAX_METADATA_LIFETIME_SECS)
}
