//! The router: every API route under `/cps/v2` and its `/v2` alias.

mod account;
mod balance;
mod health;
mod operations;
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
        .route("/operation/{id}", get(operations::by_id))
        .route("/operation", get(operations::by_reference))
        .route("/operations", get(operations::history))
        .route("/account", get(account::account));

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
