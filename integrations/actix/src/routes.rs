//! The OAuth endpoints: token, revocation, JWKS, and those of the authorization server.

use actix_web::{HttpRequest, HttpResponse, Resource, Route, web};
use tokenward::oauth2::{self, ErrorResponse};
use tokenward::provider::{self, AuthorizationServer};

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
                    resource("/revoke", "POST", vec![web::post().to(revoke)])
                        .app_data(form_limit.clone()),
                )
                .service(resource(
                    "/.well-known/jwks.json",
                    "GET",
                    vec![web::get().to(jwks)],
                ));
            if tokenward.endpoints.server().is_some() {
                config
                    .service(resource(
                        "/authorize",
                        "GET",
                        vec![web::get().to(authorize)],
                    ))
                    .service(
                        resource(provider::LOGIN_PATH, "POST", vec![web::post().to(login)])
                            .app_data(form_limit.clone()),
                    )
                    .service(
                        resource(
                            provider::CONSENT_PATH,
                            "POST",
                            vec![web::post().to(consent)],
                        )
                        .app_data(form_limit.clone()),
                    )
                    .service(
                        resource(
                            "/logout",
                            "GET, POST",
                            vec![web::get().to(logout), web::post().to(logout)],
                        )
                        .app_data(form_limit.clone()),
                    )
                    .service(
                        resource("/introspect", "POST", vec![web::post().to(introspect)])
                            .app_data(form_limit.clone()),
                    )
                    .service(
                        resource(
                            provider::USERINFO_PATH,
                            "GET, POST",
                            vec![web::get().to(userinfo), web::post().to(userinfo)],
                        )
                        .app_data(form_limit.clone()),
                    )
                    .service(resource(
                        provider::OPENID_CONFIGURATION_PATH,
                        "GET",
                        vec![web::get().to(discovery)],
                    ))
                    .service(resource(
                        provider::OAUTH_METADATA_PATH,
                        "GET",
                        vec![web::get().to(discovery)],
                    ))
                    .service(
                        resource(
                            provider::UPSTREAM_START_PATH,
                            "POST",
                            vec![web::post().to(upstream_start)],
                        )
                        .app_data(form_limit.clone()),
                    )
                    .service(resource(
                        provider::UPSTREAM_CALLBACK_PATH,
                        "GET",
                        vec![web::get().to(upstream_callback)],
                    ));
            }
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

fn server_of(request: &HttpRequest) -> Option<(&Tokenward, &AuthorizationServer)> {
    let tokenward = tokenward_of(request)?;
    Some((tokenward, tokenward.endpoints.server()?))
}

fn server_error() -> HttpResponse {
    into_actix(&ErrorResponse::server_error().into_response())
}

async fn authorize(request: HttpRequest) -> HttpResponse {
    let Some((_, server)) = server_of(&request) else {
        return server_error();
    };
    into_actix(
        &server
            .authorize(&headers_of(&request), request.query_string())
            .await,
    )
}

async fn login(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some((tokenward, server)) = server_of(&request) else {
        return server_error();
    };
    let Some(peer) = request.peer_addr().map(|peer| peer.ip()) else {
        tracing::error!("POST /authorize/login without a peer address: serve it over TCP");
        return server_error();
    };
    let headers = headers_of(&request);
    let address = tokenward.endpoints.client_address(peer, &headers);
    into_actix(&server.login(address, &headers, &body).await)
}

async fn consent(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some((_, server)) = server_of(&request) else {
        return server_error();
    };
    into_actix(&server.consent(&headers_of(&request), &body).await)
}

async fn logout(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some((_, server)) = server_of(&request) else {
        return server_error();
    };
    let params = if request.method() == actix_web::http::Method::POST {
        std::str::from_utf8(&body).unwrap_or_default()
    } else {
        request.query_string()
    };
    into_actix(&server.logout(&headers_of(&request), params).await)
}

async fn introspect(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some((_, server)) = server_of(&request) else {
        return server_error();
    };
    into_actix(&server.introspect(&headers_of(&request), &body).await)
}

async fn userinfo(request: HttpRequest) -> HttpResponse {
    let Some((_, server)) = server_of(&request) else {
        return server_error();
    };
    into_actix(&server.userinfo(&headers_of(&request)).await)
}

async fn upstream_start(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some((_, server)) = server_of(&request) else {
        return server_error();
    };
    into_actix(&server.upstream_start(&headers_of(&request), &body).await)
}

async fn upstream_callback(request: HttpRequest) -> HttpResponse {
    let Some((_, server)) = server_of(&request) else {
        return server_error();
    };
    into_actix(
        &server
            .upstream_callback(&headers_of(&request), request.query_string())
            .await,
    )
}

async fn discovery(request: HttpRequest) -> HttpResponse {
    let Some((_, server)) = server_of(&request) else {
        return server_error();
    };
    into_actix(&server.discovery())
}
