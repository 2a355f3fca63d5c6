//! The router: every API route under `/cps/v2` and its `/v2` alias.

mod balance;
mod docs;
mod health;
pub(crate) mod openapi;
mod operation_view;
mod pay;
mod services;
mod validation;

use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;

use crate::problem::ApiError;
use crate::state::AppState;

pub(crate) fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/operation/use/pay", post(pay::pay))
        .route("/operation/get/balance", get(balance::balance))
        .route("/list/basic_services", get(services::list))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::page))
        .route("/docs/swagger-ui-bundle.js", get(docs::swagger_ui_bundle))
        .route("/docs/swagger-ui.css", get(docs::swagger_ui_css));

    Router::new()
        .nest("/cps/v2", api.clone())
        .nest("/v2", api)
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(request.uri().path())
}
