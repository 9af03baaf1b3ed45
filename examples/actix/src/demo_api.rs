//! The demo API the example server adds to the library's endpoints (docs/API.md): the caller's
//! account, items by scope, health, metrics, the demo client and the OpenAPI document.

use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_tokenward::{AccountManager, AccountUser, Bearer, headers_of, into_actix, resource};
use tokenward_server_common::App;
use tokenward_server_common::api::{self, ItemsRead, ItemsWrite};

type AppData = web::Data<App>;

async fn me(caller: AccountUser) -> HttpResponse {
    into_actix(&api::me(&caller.user, caller.access))
}

async fn list_items(app: AppData, _: Bearer<ItemsRead>) -> HttpResponse {
    into_actix(&api::list_items(&app))
}

async fn create_item(
    app: AppData,
    token: Bearer<ItemsWrite>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    into_actix(&api::create_item(
        &app,
        &token.claims,
        &headers_of(&request),
        &body,
    ))
}

async fn change_password(
    app: AppData,
    caller: AccountManager,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    into_actix(&api::change_password(&app, &caller.claims, &headers_of(&request), &body).await)
}

async fn logout_all(app: AppData, caller: AccountManager) -> HttpResponse {
    into_actix(&api::logout_all(&app, &caller.claims).await)
}

async fn health(app: AppData) -> HttpResponse {
    into_actix(&api::health(&app).await)
}

async fn metrics(app: AppData) -> HttpResponse {
    into_actix(&api::metrics(&app))
}

async fn demo(app: AppData) -> HttpResponse {
    into_actix(&tokenward_server_common::demo::start(&app))
}

async fn demo_callback(app: AppData, request: HttpRequest) -> HttpResponse {
    into_actix(
        &tokenward_server_common::demo::callback(
            &app,
            &headers_of(&request),
            request.query_string(),
        )
        .await,
    )
}

async fn openapi() -> HttpResponse {
    into_actix(&tokenward_server_common::openapi::openapi_json())
}

/// Registers the demo API's routes (and, in `load-baseline` builds, the baseline route).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/users/me", "GET", vec![web::get().to(me)]))
        .service(resource(
            "/items",
            "GET, POST",
            vec![web::get().to(list_items), web::post().to(create_item)],
        ))
        .service(resource(
            "/users/me/password",
            "POST",
            vec![web::post().to(change_password)],
        ))
        .service(resource(
            "/users/me/logout-all",
            "POST",
            vec![web::post().to(logout_all)],
        ))
        .service(resource("/health", "GET", vec![web::get().to(health)]))
        .service(resource("/demo", "GET", vec![web::get().to(demo)]))
        .service(resource(
            "/demo/callback",
            "GET",
            vec![web::get().to(demo_callback)],
        ))
        .service(resource("/metrics", "GET", vec![web::get().to(metrics)]))
        .service(resource(
            "/openapi.json",
            "GET",
            vec![web::get().to(openapi)],
        ));
    baseline(config);
}

/// `GET /baseline/users/me`: `/users/me` for the user id in `X-User-Id` without
/// authentication, so `scripts/load.py` can measure what auth costs. Only in builds with the
/// `load-baseline` feature, and only when `TOKENWARD_LOAD_BASELINE=1`.
fn baseline(config: &mut web::ServiceConfig) {
    #[cfg(feature = "load-baseline")]
    if tokenward_server_common::load_baseline_enabled() {
        async fn me(app: AppData, request: HttpRequest) -> HttpResponse {
            let user_id = request
                .headers()
                .get("x-user-id")
                .and_then(|v| v.to_str().ok());
            into_actix(&api::profile(&app, user_id.unwrap_or_default()).await)
        }
        config.route("/baseline/users/me", web::get().to(me));
    }
    let _ = config;
}
