//! The library's route table ([`tokenward::endpoints`]) as an axum router: one generic handler
//! for every route.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::routing::{MethodFilter, MethodRouter, on};
use http::StatusCode;
use tokenward::endpoints::{EndpointRequest, Route};
use tokenward::oauth2::ErrorResponse;

use crate::{Reply, Tokenward};

impl Tokenward {
    /// Every route of [`tokenward::endpoints::Endpoints::routes`], to merge into the
    /// application's router: `POST /token`, `POST /revoke`, `GET /.well-known/jwks.json`, and
    /// with an authorization server its endpoints (`/authorize`, the login and consent forms,
    /// `/logout`, `/introspect`, `/userinfo`, discovery, upstream login). A body over a route's
    /// limit is answered 413; a method it does not answer, 405 with `Allow`.
    ///
    /// The token endpoint reads the peer address (`ConnectInfo<SocketAddr>`) to throttle
    /// logins per client: serve with [`crate::serve`] or
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    ///
    /// ```
    /// # fn f(tokenward: axum_tokenward::Tokenward) {
    /// let app: axum::Router = axum::Router::new()
    ///     .merge(tokenward.routes())
    ///     .layer(tokenward.layer());
    /// # }
    /// ```
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut router = Router::new();
        for route in self.endpoints.routes() {
            router = router.route(route.path, method_router(route));
        }
        router.with_state(self.clone())
    }
}

fn method_router(route: Route) -> MethodRouter<Tokenward> {
    let filter = route
        .methods
        .iter()
        .filter_map(|method| MethodFilter::try_from(method.clone()).ok())
        .reduce(MethodFilter::or)
        .unwrap_or(MethodFilter::GET);
    on(
        filter,
        move |State(tokenward): State<Tokenward>, request: Request| {
            handle(tokenward, route, request)
        },
    )
}

async fn handle(tokenward: Tokenward, route: Route, request: Request) -> Reply {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, route.body_limit).await {
        Ok(body) => body,
        Err(error) => {
            let too_large = error
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let (status, description) = if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request body is too large",
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                )
            };
            return Reply(
                ErrorResponse::new(status, "invalid_request", description).into_response(),
            );
        }
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let request = EndpointRequest {
        method: &parts.method,
        headers: &parts.headers,
        query: parts.uri.query().unwrap_or_default(),
        body: &body,
        peer,
    };
    Reply(tokenward.endpoints.handle(&route, request).await)
}
