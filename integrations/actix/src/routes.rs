//! The library's route table ([`tokenward::endpoints`]) as actix-web resources: one generic
//! handler for every route.

use std::borrow::Cow;

use actix_web::{HttpRequest, HttpResponse, Resource, Route, web};
use tokenward::endpoints::{self, EndpointRequest};
use tokenward::oauth2::ErrorResponse;

use crate::{Tokenward, headers_of, into_actix};

impl Tokenward {
    /// Every route of [`tokenward::endpoints::Endpoints::routes`]: `POST /token`,
    /// `POST /revoke`, `GET /.well-known/jwks.json`, and with an authorization server its
    /// endpoints (`/authorize`, the login and consent forms, `/logout`, `/introspect`,
    /// `/userinfo`, discovery, upstream login); and this [`Tokenward`] as app data for the
    /// extractors. A body over a route's limit is answered 413; a method it does not answer,
    /// 405 with `Allow`. The token endpoint throttles logins per client address, so it must be
    /// served over TCP (a request without a peer address is answered 500).
    ///
    /// ```
    /// # fn f(tokenward: actix_web_tokenward::Tokenward) {
    /// let app = actix_web::App::new().configure(tokenward.configure());
    /// # }
    /// ```
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + use<> {
        let tokenward = self.clone();
        move |config| {
            config.app_data(tokenward.clone());
            for route in tokenward.endpoints.routes() {
                let handlers = route
                    .methods
                    .iter()
                    .filter_map(|method| {
                        let method =
                            actix_web::http::Method::from_bytes(method.as_str().as_bytes()).ok()?;
                        Some(web::method(method).to(
                            move |request: HttpRequest, body: web::Bytes| {
                                handle(route, request, body)
                            },
                        ))
                    })
                    .collect();
                config.service(
                    resource(route.path, route.allow(), handlers)
                        .app_data(web::PayloadConfig::new(route.body_limit)),
                );
            }
        }
    }
}

async fn handle(route: endpoints::Route, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(tokenward) = request.app_data::<Tokenward>() else {
        return into_actix(&ErrorResponse::server_error().into_response());
    };
    let Ok(method) = http::Method::from_bytes(request.method().as_str().as_bytes()) else {
        return into_actix(&ErrorResponse::server_error().into_response());
    };
    let headers = headers_of(&request);
    let endpoint_request = EndpointRequest {
        method: &method,
        headers: &headers,
        query: request.query_string(),
        body: &body,
        peer: request.peer_addr().map(|peer| peer.ip()),
    };
    into_actix(&tokenward.endpoints.handle(&route, endpoint_request).await)
}

/// `path` answering `routes`, and any other method with 405 and `Allow: allow` (RFC 9110
/// §15.5.6), where actix-web alone would answer 404.
///
/// ```
/// use actix_web::web;
///
/// async fn list() -> &'static str { "[]" }
/// async fn create() -> &'static str { "{}" }
///
/// let items = actix_web_tokenward::resource(
///     "/items",
///     "GET, POST",
///     vec![web::get().to(list), web::post().to(create)],
/// );
/// let app = actix_web::App::new().service(items);
/// ```
pub fn resource(path: &str, allow: impl Into<Cow<'static, str>>, routes: Vec<Route>) -> Resource {
    let allow: Cow<'static, str> = allow.into();
    routes
        .into_iter()
        .fold(web::resource(path), Resource::route)
        .default_service(web::to(move || {
            let allow = allow.clone();
            async move {
                let mut response = ErrorResponse::new(
                    http::StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("this endpoint allows {allow}"),
                )
                .into_response();
                if let Ok(value) = http::HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(http::header::ALLOW, value);
                }
                into_actix(&response)
            }
        }))
}
