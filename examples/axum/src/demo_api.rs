//! The demo API the example server adds to the library's endpoints (docs/API.md): the caller's
//! account, items by scope, health, metrics, the demo client and the OpenAPI document.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum_tokenward::{AccountManager, AccountUser, Bearer, Reply};
use tokenward_server_common::App;
use tokenward_server_common::api::{self, ItemsRead, ItemsWrite};
use tokenward_server_common::openapi;

type AppState = State<Arc<App>>;

async fn me(caller: AccountUser) -> Reply {
    Reply(api::me(&caller.user, caller.access))
}

async fn list_items(State(app): AppState, _: Bearer<ItemsRead>) -> Reply {
    Reply(api::list_items(&app))
}

async fn create_item(
    State(app): AppState,
    token: Bearer<ItemsWrite>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    Reply(api::create_item(&app, &token.claims, &headers, &body))
}

async fn change_password(
    State(app): AppState,
    caller: AccountManager,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    Reply(api::change_password(&app, &caller.claims, &headers, &body).await)
}

async fn logout_all(State(app): AppState, caller: AccountManager) -> Reply {
    Reply(api::logout_all(&app, &caller.claims).await)
}

/// The demo API's routes (and, in `load-baseline` builds, the baseline route).
pub fn routes() -> Router<Arc<App>> {
    // axum answers a wrong method with 405 and the `Allow` header itself.
    Router::new()
        .route("/users/me", get(me))
        .route("/items", get(list_items).post(create_item))
        .route("/users/me/password", post(change_password))
        .route("/users/me/logout-all", post(logout_all))
        .route(
            "/health",
            get(async |State(app): AppState| Reply(api::health(&app).await)),
        )
        .route(
            "/metrics",
            get(async |State(app): AppState| Reply(api::metrics(&app))),
        )
        .route(
            "/demo",
            get(async |State(app): AppState| Reply(tokenward_server_common::demo::start(&app))),
        )
        .route(
            "/demo/callback",
            get(
                async |State(app): AppState, RawQuery(query): RawQuery, headers: HeaderMap| {
                    Reply(
                        tokenward_server_common::demo::callback(
                            &app,
                            &headers,
                            query.as_deref().unwrap_or_default(),
                        )
                        .await,
                    )
                },
            ),
        )
        .route(
            "/openapi.json",
            get(async || Reply(openapi::openapi_json())),
        )
        .merge(baseline::routes())
}

/// `GET /baseline/users/me`: `/users/me` for the user id in `X-User-Id` without
/// authentication, so `scripts/load.py` can measure what auth costs. Only in builds with the
/// `load-baseline` feature, and only when `TOKENWARD_LOAD_BASELINE=1`.
mod baseline {
    use super::*;

    #[cfg(feature = "load-baseline")]
    pub fn routes() -> Router<Arc<App>> {
        async fn me(State(app): AppState, headers: HeaderMap) -> Reply {
            let user_id = headers.get("x-user-id").and_then(|v| v.to_str().ok());
            Reply(api::profile(&app, user_id.unwrap_or_default()).await)
        }
        let router = Router::new();
        if tokenward_server_common::load_baseline_enabled() {
            return router.route("/baseline/users/me", get(me));
        }
        router
    }

    #[cfg(not(feature = "load-baseline"))]
    pub fn routes() -> Router<Arc<App>> {
        Router::new()
    }
}
