//! `GET /cps/v2/operation/get/balance`: what a subscriber owes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use cps_domain::Money;
use cps_payments::BalanceError;
use serde::Serialize;

use super::openapi::{Amount, Problem, SignedRequestErrors};
use super::validation::{find_service, parse_number, NUMBER_FIELD, SERVICE_FIELD};
use crate::auth::SignedRequest;
use crate::problem::{ApiError, FieldError, Message};
use crate::query;
use crate::state::AppState;

/// A subscriber's debt to a biller.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct BalanceView {
    #[schema(example = 63)]
    id_type_service: i64,
    /// The service code, such as `DIGITEL_FIJO`.
    service: String,
    /// The subscriber number after normalization.
    #[schema(example = "02123457654")]
    number_service: String,
    /// The amount the subscriber owes.
    #[schema(value_type = Amount)]
    balance: Money,
    #[schema(example = "VES")]
    currency: &'static str,
    /// The account holder, where the biller gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    holder_name: Option<String>,
    /// The bill's due date, where the biller gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    due_date: Option<String>,
    #[schema(format = DateTime)]
    queried_at: String,
}

/// Query a service balance
///
/// Asks the biller what the subscriber owes. Only services listed with
/// `canGetBalance: true` support it. The signature's PAYLOAD is the query as
/// a JSON object in URL order, such as
/// `{"numberService":"02123457654","idTypeService":63}` (values may also all
/// be strings).
#[utoipa::path(
    get,
    path = "/cps/v2/operation/get/balance",
    operation_id = "getServiceBalance",
    tag = "services",
    security(("api-key" = [], "api-nonce" = [], "api-signature" = [])),
    params(
        ("numberService" = String, Query, description = "The subscriber number or account, normalized as for paying.", example = "02123457654"),
        ("idTypeService" = i64, Query, description = "A service id from the list of basic services.", example = 63),
    ),
    responses(
        (status = 200, description = "The subscriber's balance.", body = BalanceView),
        (status = 400, description = "A parameter is missing, repeated, unknown, badly encoded, or `idTypeService` is not an integer (codes `MISSING_FIELD`, `INVALID_QUERY_PARAMETER`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The service is unknown, disabled or has no balance query, the number does not fit the service, or the biller does not know the account (codes `UNKNOWN_SERVICE`, `SERVICE_DISABLED`, `INVALID_SERVICE_NUMBER`, `NUMBER_SERVICE_MISMATCH`, `BALANCE_NOT_SUPPORTED`, `ACCOUNT_NOT_FOUND`).", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The biller failed, code `BILLER_UNAVAILABLE`.", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The biller did not respond in time, code `BILLER_TIMEOUT`.", body = Problem, content_type = "application/problem+json"),
        SignedRequestErrors,
    ),
)]
pub(super) async fn balance(
    State(state): State<AppState>,
    request: SignedRequest,
) -> Result<Json<BalanceView>, ApiError> {
    request.query.check(&[NUMBER_FIELD, SERVICE_FIELD])?;
    let raw_number = required(&request, NUMBER_FIELD)?;
    let service_id: i64 = required(&request, SERVICE_FIELD)?.parse().map_err(|_| {
        query::invalid(SERVICE_FIELD, Message::new("invalid-query-parameter-integer").arg("field", SERVICE_FIELD))
    })?;

    let catalog = state.catalog.current();
    let service = find_service(&catalog, service_id).map_err(|fault| ApiError::unprocessable(vec![fault]))?;
    let number = parse_number(&catalog, &service, raw_number).map_err(|fault| ApiError::unprocessable(vec![fault]))?;

    let account = state
        .balances
        .query(&service, &number)
        .await
        .map_err(|error| balance_error(error, &service.code, number.as_str()))?;

    Ok(Json(BalanceView {
        id_type_service: service.id,
        service: service.code.clone(),
        number_service: number.as_str().to_string(),
        balance: account.balance,
        currency: "VES",
        holder_name: account.holder_name,
        due_date: account.due_date,
        queried_at: cps_domain::format_ms(cps_store::now_ms()),
    }))
}

fn required<'a>(request: &'a SignedRequest, name: &str) -> Result<&'a str, ApiError> {
    request.query.get(name).ok_or_else(|| {
        ApiError::bad_request("MISSING_FIELD", name, Message::new("missing-query-parameter-detail").arg("field", name))
    })
}

fn balance_error(error: BalanceError, service_code: &str, number: &str) -> ApiError {
    match error {
        BalanceError::NotSupported => ApiError::unprocessable(vec![FieldError {
            field: SERVICE_FIELD.into(),
            code: "BALANCE_NOT_SUPPORTED",
            message: Message::new("balance-not-supported-detail").arg("service", service_code),
        }]),
        BalanceError::AccountNotFound => ApiError::unprocessable(vec![FieldError {
            field: NUMBER_FIELD.into(),
            code: "ACCOUNT_NOT_FOUND",
            message: Message::new("account-not-found-detail").arg("number", number).arg("service", service_code),
        }]),
        BalanceError::BillerTimeout => {
            tracing::warn!(service = service_code, "balance query timed out");
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "BILLER_TIMEOUT",
                Message::new("biller-timeout-detail").arg("service", service_code),
            )
        }
        BalanceError::BillerUnavailable(reason) => {
            tracing::warn!(service = service_code, reason = %reason, "balance query failed");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "BILLER_UNAVAILABLE",
                Message::new("biller-unavailable-detail").arg("service", service_code),
            )
        }
    }
}
