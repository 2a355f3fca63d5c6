//! `GET /metrics`: the Prometheus scrape endpoint.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::metrics::{PendingSnapshot, CONTENT_TYPE as METRICS_CONTENT_TYPE};
use crate::state::AppState;

/// Returns every metric. The pending-operation gauges come from the store
/// at this moment. When the store cannot be read, the other metrics are
/// still returned and the failure is logged.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "system",
    responses(
        (status = 200, description = "Every metric in the Prometheus text format. Served on `--metrics-listen` instead when that option is set; keep it off the public proxy.", body = String, content_type = "text/plain; version=0.0.4"),
    ),
)]
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let pending = match state.store.pending_summary().await {
        Ok(summary) => Some(PendingSnapshot { summary, now_ms: cps_store::now_ms() }),
        Err(error) => {
            tracing::warn!(error = %error, "failed to read pending operations for metrics");
            None
        }
    };
    ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], state.metrics.encode(pending.as_ref()))
}
