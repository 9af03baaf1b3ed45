//! The OAuth endpoints: token, revocation, JWKS.

use actix_web::{HttpRequest, HttpResponse, Resource, Route, web};
use tokenward::oauth2::{self, ErrorResponse};

use crate::{Tokenward, headers_of, into_actix};

impl Tokenward {
    /// `POST /token` (password and refresh-token grants, RFC 6749), `POST /revoke` (RFC 7009)
    /// and `GET /.well-known/jwks.json` (the public keys), and this [`Tokenward`] as app data
    /// for the extractors. Form bodies over [`oauth2::MAX_FORM_BYTES`] are refused with 413.
    /// The token endpoint throttles logins per client address, so it must be served over TCP
    /// (a request without a peer address is answered 500).
    ///
    /// ```
    /// # fn f(tokenward: actix_web_tokenward::Tokenward) {
    /// let app = actix_web::App::new().configure(tokenward.configure());
    /// # }
    /// ```
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + use<> {
        let tokenward = self.clone();
        move |config| {
            let form_limit = web::PayloadConfig::new(oauth2::MAX_FORM_BYTES);
            config
                .app_data(tokenward.clone())
                .service(
                    resource("/token", "POST", vec![web::post().to(token)])
                        .app_data(form_limit.clone()),
                )
                .service(
                    resource("/revoke", "POST", vec![web::post().to(revoke)]).app_data(form_limit),
                )
                .service(resource(
                    "/.well-known/jwks.json",
                    "GET",
                    vec![web::get().to(jwks)],
                ));
        }
    }
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
pub fn resource(path: &str, allow: &'static str, routes: Vec<Route>) -> Resource {
    routes
        .into_iter()
        .fold(web::resource(path), Resource::route)
        .default_service(web::to(move || async move {
            let mut response = ErrorResponse::new(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this endpoint allows {allow}"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
            into_actix(&response)
        }))
}

fn tokenward_of(request: &HttpRequest) -> Option<&Tokenward> {
    request.app_data::<Tokenward>()
}

async fn token(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(tokenward) = tokenward_of(&request) else {
        return into_actix(&ErrorResponse::server_error().into_response());
    };
    // Logins are throttled per client address. Without one (a Unix socket) every client would
    // share one budget, so one attacker could lock everyone out: refuse instead.
    let Some(peer) = request.peer_addr().map(|peer| peer.ip()) else {
        tracing::error!("POST /token without a peer address: serve it over TCP");
        return into_actix(&ErrorResponse::server_error().into_response());
    };
    into_actix(
        &tokenward
            .endpoints
            .token(peer, &headers_of(&request), &body)
            .await,
    )
}

async fn revoke(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(tokenward) = tokenward_of(&request) else {
        return into_actix(&ErrorResponse::server_error().into_response());
    };
    into_actix(
        &tokenward
            .endpoints
            .revoke(&headers_of(&request), &body)
            .await,
    )
}

async fn jwks(request: HttpRequest) -> HttpResponse {
    let Some(tokenward) = tokenward_of(&request) else {
        return into_actix(&ErrorResponse::server_error().into_response());
    };
    into_actix(&tokenward.endpoints.jwks())
}
