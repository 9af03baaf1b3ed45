//! The servers' OpenAPI 3.1 document, generated from the handlers' annotations (utoipa) and the
//! library's own description of its OAuth endpoints; served at `GET /openapi.json`.

use std::sync::OnceLock;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};
use tokenward::oauth2::openapi::OAuthApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{self, HttpResponse};

/// The demo API's own endpoints; [`document`] adds the library's.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokenward example server",
        description = "The API of the tokenward example servers (docs/API.md): OAuth 2.0 tokens, and a demo API protected by them.",
        license(name = "MIT"),
    ),
    paths(
        api::me,
        api::list_items,
        api::create_item,
        api::change_password,
        api::logout_all,
        api::health,
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "users", description = "The caller's account"),
        (name = "items", description = "Demo data, by scope"),
        (name = "operations", description = "For load balancers and operators"),
    )
)]
struct ServerApi;

/// Declares the `bearer` scheme the protected paths name: an RFC 9068 JWT from `/token`.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ServerApi::openapi();
    document.merge(OAuthApi::openapi());
    document
}

/// `GET /openapi.json`.
pub fn openapi_json() -> HttpResponse {
    static JSON: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    let Some(body) = JSON.get_or_init(|| document().to_json().ok().map(String::into_bytes)) else {
        return api::internal_error();
    };
    let mut response = Response::new(body.clone());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
