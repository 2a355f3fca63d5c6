//! The router: every API route under `/cps/v2` and its `/v2` alias.

mod account;
mod balance;
mod docs;
mod health;
mod metrics;
pub(crate) mod openapi;
mod operation_view;
mod operations;
mod pay;
mod services;
mod validation;

use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;

use crate::problem::ApiError;
use crate::state::AppState;

const METRICS_PATH: &str = "/metrics";

/// Builds the public router. `with_metrics` adds `GET /metrics`, and is
/// false when metrics have their own listener.
pub(crate) fn router(state: AppState, with_metrics: bool) -> Router {
    let api = Router::new()
        .route("/operation/use/pay", post(pay::pay))
        .route("/operation/get/balance", get(balance::balance))
        .route("/list/basic_services", get(services::list))
        .route("/operation/{id}", get(operations::by_id))
        .route("/operation", get(operations::by_reference))
        .route("/operations", get(operations::history))
        .route("/account", get(account::account))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::page))
        .route("/docs/swagger-ui-bundle.js", get(docs::swagger_ui_bundle))
        .route("/docs/swagger-ui.css", get(docs::swagger_ui_css));

    let mut router = Router::new()
        .nest("/cps/v2", api.clone())
        .nest("/v2", api)
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready));
    if with_metrics {
        router = router.route(METRICS_PATH, get(metrics::metrics));
    }
    router.fallback(not_found).with_state(state)
}

/// Builds the router of the separate metrics listener: `GET /metrics` only.
pub(crate) fn metrics_router(state: AppState) -> Router {
    Router::new().route(METRICS_PATH, get(metrics::metrics)).with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(request.uri().path())
}
