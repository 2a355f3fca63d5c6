//! Re-querying a client's own operations: one by id or by reference, and the
//! paged history.
//!
//! Another client's operation returns 404, exactly as a missing one does, so
//! ids cannot be probed.

use axum::extract::{Path, State};
use axum::Json;
use cps_domain::{parse_rfc3339_ms, OperationId, OperationStatus};
use cps_payments::OperationView;
use cps_store::{HistoryPosition, HistoryQuery, OperationRecord};
use serde::Serialize;

use super::openapi::{OperationStatusName, Problem, SignedRequestErrors};
use super::operation_view::OperationSchema;
use super::validation::{is_valid_reference, REFERENCE_FIELD, SERVICE_FIELD};
use crate::auth::SignedRequest;
use crate::problem::{ApiError, Message};
use crate::query::{self, QueryParams};
use crate::state::AppState;

const FROM_FIELD: &str = "from";
const TO_FIELD: &str = "to";
const STATUS_FIELD: &str = "status";
const LIMIT_FIELD: &str = "limit";
const CURSOR_FIELD: &str = "cursor";
const HISTORY_FIELDS: [&str; 6] = [FROM_FIELD, TO_FIELD, STATUS_FIELD, SERVICE_FIELD, LIMIT_FIELD, CURSOR_FIELD];

/// Operations per page when `limit` is absent, and the maximum `limit`.
const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 100;

/// Marks the cursor format, so a later format can tell old cursors apart.
const CURSOR_VERSION: &str = "1";

/// One page of the client's operations, newest first.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct HistoryView {
    #[schema(value_type = Vec<OperationSchema>)]
    operations: Vec<OperationView>,
    /// Pass it as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// Returns one of the client's operations, found by its CPS id.
#[utoipa::path(
    get,
    path = "/cps/v2/operation/{id}",
    operation_id = "getOperation",
    tag = "payments",
    security(("api-key" = [], "api-nonce" = [], "api-signature" = [])),
    params(("id" = String, Path, description = "The CPS operation id, `op_` and a ULID.", example = "op_01JEZ4Q7M2X9K3V8T6R5N1B0CD")),
    responses(
        (status = 200, description = "The operation in its current state, with the client's float now.", body = OperationSchema),
        (status = 400, description = "A query parameter was sent; this endpoint takes none (code `INVALID_QUERY_PARAMETER`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The client has no operation with this id or reference; another client's operation gets the same 404 (code `NOT_FOUND`).", body = Problem, content_type = "application/problem+json"),
        SignedRequestErrors,
    ),
)]
pub(super) async fn by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: SignedRequest,
) -> Result<Json<OperationView>, ApiError> {
    request.query.check(&[])?;

    let operation = state
        .store
        .find_client_operation(&request.client.id, &OperationId::from_stored(id.clone()))
        .await
        .map_err(|error| ApiError::internal(error.into()))?
        .ok_or_else(|| operation_not_found(&id))?;

    answer_with_balance(&state, &request, &operation).await
}

/// Returns one of the client's operations, found by the client's reference.
#[utoipa::path(
    get,
    path = "/cps/v2/operation",
    operation_id = "getOperationByReference",
    tag = "payments",
    security(("api-key" = [], "api-nonce" = [], "api-signature" = [])),
    params(("reference" = String, Query, description = "The client's reference of the payment.", example = "pedido-7781")),
    responses(
        (status = 200, description = "The operation in its current state, with the client's float now.", body = OperationSchema),
        (status = 400, description = "`reference` is missing, invalid or repeated, or another parameter was sent (codes `MISSING_FIELD`, `INVALID_QUERY_PARAMETER`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The client has no operation with this id or reference; another client's operation gets the same 404 (code `NOT_FOUND`).", body = Problem, content_type = "application/problem+json"),
        SignedRequestErrors,
    ),
)]
pub(super) async fn by_reference(
    State(state): State<AppState>,
    request: SignedRequest,
) -> Result<Json<OperationView>, ApiError> {
    request.query.check(&[REFERENCE_FIELD])?;
    let reference = request.query.get(REFERENCE_FIELD).ok_or_else(|| {
        let detail = Message::new("missing-query-parameter-detail").arg("field", REFERENCE_FIELD);
        ApiError::bad_request("MISSING_FIELD", REFERENCE_FIELD, detail)
    })?;
    if !is_valid_reference(reference) {
        return Err(query::invalid(REFERENCE_FIELD, Message::new("invalid-reference-detail")));
    }

    let operation = state
        .store
        .find_operation_by_reference(&request.client.id, reference)
        .await
        .map_err(|error| ApiError::internal(error.into()))?
        .ok_or_else(|| operation_not_found(reference))?;

    answer_with_balance(&state, &request, &operation).await
}

/// Lists the client's operations, newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/cps/v2/operations",
    operation_id = "listOperations",
    tag = "payments",
    security(("api-key" = [], "api-nonce" = [], "api-signature" = [])),
    params(
        ("from" = Option<String>, Query, description = "Only operations created at or after this RFC 3339 instant, with its offset.", example = "2026-01-01T00:00:00-04:00"),
        ("to" = Option<String>, Query, description = "Only operations created before this RFC 3339 instant; later than `from`.", example = "2026-02-01T00:00:00-04:00"),
        ("status" = Option<OperationStatusName>, Query, description = "Only operations in this status."),
        ("idTypeService" = Option<i64>, Query, description = "Only operations of this service id.", example = 57),
        ("limit" = Option<u32>, Query, description = "Operations per page, 1 to 100; 20 by default.", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "The `nextCursor` of the previous page, unchanged."),
    ),
    responses(
        (status = 200, description = "One page of operations, newest first.", body = HistoryView),
        (status = 400, description = "A parameter is invalid, repeated or unknown; `errors[].field` names it (code `INVALID_QUERY_PARAMETER`).", body = Problem, content_type = "application/problem+json"),
        SignedRequestErrors,
    ),
)]
pub(super) async fn history(
    State(state): State<AppState>,
    request: SignedRequest,
) -> Result<Json<HistoryView>, ApiError> {
    request.query.check(&HISTORY_FIELDS)?;
    let history_query = parse_history_query(&state, &request.query)?;

    let page = state
        .store
        .client_history(&request.client.id, &history_query)
        .await
        .map_err(|error| ApiError::internal(error.into()))?;

    let catalog = state.catalog.current();
    Ok(Json(HistoryView {
        operations: page.operations.iter().map(|operation| OperationView::new(operation, &catalog)).collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

async fn answer_with_balance(
    state: &AppState,
    request: &SignedRequest,
    operation: &OperationRecord,
) -> Result<Json<OperationView>, ApiError> {
    let float = state.store.client_float(&request.client.id).await.map_err(|error| ApiError::internal(error.into()))?;
    Ok(Json(OperationView::new(operation, &state.catalog.current()).with_balance(float)))
}

fn operation_not_found(id: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "NOT_FOUND",
        Message::new("operation-not-found-detail").arg("id", id),
    )
}

/// Checks every filter; the first invalid one is named in the 400.
fn parse_history_query(state: &AppState, params: &QueryParams) -> Result<HistoryQuery, ApiError> {
    let from_ms = params.get(FROM_FIELD).map(|text| parse_instant(FROM_FIELD, text)).transpose()?;
    let to_ms = params.get(TO_FIELD).map(|text| parse_instant(TO_FIELD, text)).transpose()?;
    if let (Some(from_ms), Some(to_ms)) = (from_ms, to_ms) {
        if to_ms <= from_ms {
            return Err(query::invalid(TO_FIELD, Message::new("invalid-query-parameter-range")));
        }
    }

    let status = params
        .get(STATUS_FIELD)
        .map(|text| {
            text.parse::<OperationStatus>().map_err(|_| {
                query::invalid(STATUS_FIELD, Message::new("invalid-query-parameter-status").arg("value", text))
            })
        })
        .transpose()?;

    let service_id = params.get(SERVICE_FIELD).map(|text| parse_service(state, text)).transpose()?;

    let limit = match params.get(LIMIT_FIELD) {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => {
            text.parse::<u32>().ok().filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit)).ok_or_else(|| {
                query::invalid(LIMIT_FIELD, Message::new("invalid-query-parameter-limit").arg("max", MAX_PAGE_SIZE))
            })?
        }
    };

    let after = params
        .get(CURSOR_FIELD)
        .map(|text| {
            decode_cursor(text)
                .ok_or_else(|| query::invalid(CURSOR_FIELD, Message::new("invalid-query-parameter-cursor")))
        })
        .transpose()?;

    Ok(HistoryQuery { from_ms, to_ms, status, service_id, after, limit })
}

fn parse_instant(field: &'static str, text: &str) -> Result<i64, ApiError> {
    parse_rfc3339_ms(text).ok_or_else(|| {
        query::invalid(field, Message::new("invalid-query-parameter-timestamp").arg("field", field).arg("value", text))
    })
}

/// Parses a service id of the catalog. Disabled services are accepted
/// because their past operations are still history.
fn parse_service(state: &AppState, text: &str) -> Result<i64, ApiError> {
    let id: i64 = text.parse().map_err(|_| {
        query::invalid(SERVICE_FIELD, Message::new("invalid-query-parameter-integer").arg("field", SERVICE_FIELD))
    })?;
    if state.catalog.current().service(id).is_none() {
        return Err(query::invalid(SERVICE_FIELD, Message::new("unknown-service-detail").arg("id", id)));
    }
    Ok(id)
}

/// Encodes a page position as the hex of `1|<created_at_ms>|<operation id>`.
/// Clients treat it as opaque, and `decode_cursor` checks it on the way in.
fn encode_cursor(position: &HistoryPosition) -> String {
    hex::encode(format!("{CURSOR_VERSION}|{}|{}", position.created_at_ms, position.id))
}

fn decode_cursor(text: &str) -> Option<HistoryPosition> {
    let decoded = String::from_utf8(hex::decode(text).ok()?).ok()?;
    let mut parts = decoded.splitn(3, '|');
    if parts.next()? != CURSOR_VERSION {
        return None;
    }
    let created_at_ms: i64 = parts.next()?.parse().ok()?;
    let id = parts.next()?;
    let well_formed =
        id.starts_with("op_") && id.len() <= 64 && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    well_formed.then(|| HistoryPosition { created_at_ms, id: id.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let position = HistoryPosition { created_at_ms: 1_769_909_400_000, id: "op_01KBRZ3D4W1Q6Y8V0N2M5P7R9T".into() };
        assert_eq!(decode_cursor(&encode_cursor(&position)), Some(position));
    }

    #[test]
    fn tampered_cursors_are_refused() {
        let cases = ["", "zz", &hex::encode("2|1|op_A"), &hex::encode("1|x|op_A"), &hex::encode("1|1|op_A' OR 1=1")];
        for text in cases {
            assert_eq!(decode_cursor(text), None, "cursor {text:?}");
        }
    }
}
