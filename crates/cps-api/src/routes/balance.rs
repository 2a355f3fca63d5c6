//! `GET /cps/v2/operation/get/balance`: what a subscriber owes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use cps_domain::Money;
use cps_payments::BalanceError;
use serde::Serialize;

use super::validation::{find_service, parse_number, NUMBER_FIELD, SERVICE_FIELD};
use crate::auth::SignedRequest;
use crate::problem::{ApiError, FieldError, Message};
use crate::query;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BalanceView {
    id_type_service: i64,
    service: String,
    number_service: String,
    balance: Money,
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    holder_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_date: Option<String>,
    queried_at: String,
}

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
        ApiError::bad_request("MISSING_FIELD", name, Message::new("missing-field-detail").arg("field", name))
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
