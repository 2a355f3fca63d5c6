use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use crate::state::AppState;

/// The body of a health check response.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct HealthStatus {
    /// `ok`, or `unavailable` when a readiness check fails.
    #[schema(value_type = HealthStatusName)]
    status: &'static str,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum HealthStatusName {
    Ok,
    Unavailable,
}

/// Liveness
///
/// The process is running. No authentication, no database.
#[utoipa::path(
    get,
    path = "/health/live",
    operation_id = "getLiveness",
    tag = "system",
    responses((status = 200, description = "The process is running.", body = HealthStatus)),
)]
pub(super) async fn live() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// Readiness
///
/// The database responds. No authentication.
#[utoipa::path(
    get,
    path = "/health/ready",
    operation_id = "getReadiness",
    tag = "system",
    responses(
        (status = 200, description = "The database responds.", body = HealthStatus),
        (status = 503, description = "The database does not respond.", body = HealthStatus),
    ),
)]
pub(super) async fn ready(State(state): State<AppState>) -> (StatusCode, Json<HealthStatus>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(HealthStatus { status: "ok" })),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(HealthStatus { status: "unavailable" }))
        }
    }
}
