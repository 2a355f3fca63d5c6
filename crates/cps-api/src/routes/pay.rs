//! `POST /cps/v2/operation/use/pay`: pay a basic service from the client's
//! float.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cps_domain::{AmountError, ClientId, Money};
use cps_payments::{OperationView, PaymentCommand, PaymentResult};
use serde_json::json;

use super::validation::{find_service, is_valid_reference, parse_number, NUMBER_FIELD, REFERENCE_FIELD, SERVICE_FIELD};
use crate::auth::{require_json, SignedRequest};
use crate::json_body::{integer_member, string_member, wrong_type, RawObject};
use crate::problem::{ApiError, FieldError, Message};
use crate::state::AppState;

const AMOUNT_FIELD: &str = "amount";
const FIELDS: [&str; 4] = [NUMBER_FIELD, SERVICE_FIELD, AMOUNT_FIELD, REFERENCE_FIELD];

/// The fields of a pay request, with types checked and values not yet
/// validated.
struct PayBody {
    number: String,
    service_id: i64,
    /// The raw JSON text of `amount`, parsed exactly in validation.
    amount_json: String,
    reference: Option<String>,
}

pub(super) async fn pay(State(state): State<AppState>, request: SignedRequest) -> Result<Response, ApiError> {
    require_json(&request.headers)?;
    request.query.check(&[])?;
    let body = read_body(&request.body)?;
    let reference = merge_reference(body.reference.clone(), &request)?;

    let command = validate(&state, &request.client.id, body, reference)?;
    tracing::info!(service = %command.service.code, number = %command.number.masked(), amount = %command.amount, "payment requested");

    let result = state.payments.pay(command.clone()).await.map_err(ApiError::internal)?;

    Ok(respond(&state, &command, result))
}

/// Checks the body's syntax and member types: every fault here is a 400.
fn read_body(body: &[u8]) -> Result<PayBody, ApiError> {
    let object = RawObject::parse(body, &FIELDS)?;

    let number = string_member(NUMBER_FIELD, object.required(NUMBER_FIELD)?)?;
    let service_id = integer_member(SERVICE_FIELD, object.required(SERVICE_FIELD)?)?;
    let amount_json = object.required(AMOUNT_FIELD)?.to_string();
    if matches!(Money::parse_json_amount(&amount_json), Err(AmountError::WrongType)) {
        return Err(wrong_type(AMOUNT_FIELD, "expected-amount"));
    }
    // Clients that serialize every optional field send `null` for "none".
    let reference = match object.raw(REFERENCE_FIELD) {
        None | Some("null") => None,
        Some(raw) => Some(string_member(REFERENCE_FIELD, raw)?),
    };

    Ok(PayBody { number, service_id, amount_json, reference })
}

/// The `Idempotency-Key` header and the `reference` field name the same
/// thing; both given and different is a 400.
fn merge_reference(body_reference: Option<String>, request: &SignedRequest) -> Result<Option<String>, ApiError> {
    let header = request.headers.get("idempotency-key").map(|value| value.to_str().unwrap_or("\u{FFFD}").to_string());
    match (body_reference, header) {
        (Some(body), Some(header)) if body != header => {
            let detail = Message::new("idempotency-key-mismatch-detail");
            Err(ApiError::bad_request("IDEMPOTENCY_KEY_MISMATCH", REFERENCE_FIELD, detail))
        }
        (Some(body), _) => Ok(Some(body)),
        (None, header) => Ok(header),
    }
}

/// Applies the business rules; all faults found are reported together in
/// one 422, in field order.
fn validate(
    state: &AppState,
    client_id: &ClientId,
    body: PayBody,
    reference: Option<String>,
) -> Result<PaymentCommand, ApiError> {
    let mut faults: Vec<FieldError> = Vec::new();

    let catalog = state.catalog.current();
    let service = find_service(&catalog, body.service_id).map_err(|fault| faults.push(fault)).ok();
    let number = service
        .as_ref()
        .and_then(|service| parse_number(&catalog, service, &body.number).map_err(|fault| faults.push(fault)).ok());
    let amount = parse_amount(&body.amount_json).map_err(|fault| faults.push(fault)).ok();
    if let (Some(service), Some(amount)) = (&service, amount) {
        if !service.amount_in_range(amount) {
            faults.push(FieldError {
                field: AMOUNT_FIELD.into(),
                code: "AMOUNT_OUT_OF_RANGE",
                message: Message::new("amount-out-of-range-detail")
                    .arg("amount", amount)
                    .arg("service", &service.code)
                    .arg("min", service.min_amount)
                    .arg("max", service.max_amount),
            });
        }
    }
    if let Some(reference) = &reference {
        if !is_valid_reference(reference) {
            faults.push(FieldError {
                field: REFERENCE_FIELD.into(),
                code: "INVALID_REFERENCE",
                message: Message::new("invalid-reference-detail"),
            });
        }
    }

    match (service, number, amount, faults.is_empty()) {
        (Some(service), Some(number), Some(amount), true) => {
            Ok(PaymentCommand { client_id: client_id.clone(), reference, service, number, amount })
        }
        _ => Err(ApiError::unprocessable(faults)),
    }
}

fn parse_amount(raw_json: &str) -> Result<Money, FieldError> {
    Money::parse_json_amount(raw_json).map_err(|error| {
        let key = match error {
            AmountError::NotPositive => "invalid-amount-not-positive",
            AmountError::TooManyDecimals => "invalid-amount-decimals",
            AmountError::TooLarge => "invalid-amount-too-large",
            AmountError::NotDecimal | AmountError::WrongType => "invalid-amount-not-decimal",
        };
        FieldError { field: AMOUNT_FIELD.into(), code: "INVALID_AMOUNT", message: Message::new(key) }
    })
}

/// Maps the payment's result to its HTTP answer.
fn respond(state: &AppState, command: &PaymentCommand, result: PaymentResult) -> Response {
    let reference = command.reference.clone().unwrap_or_default();
    match result {
        PaymentResult::Processed { operation, float, replayed } => {
            let view = OperationView::new(&operation, &state.catalog.current()).with_balance(float);
            let mut response = match operation.status {
                cps_domain::OperationStatus::Pending => (StatusCode::ACCEPTED, Json(view)).into_response(),
                cps_domain::OperationStatus::Rejected => {
                    let detail = Message::new("provider-rejected-detail").arg("operationId", &operation.id);
                    let error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "PROVIDER_REJECTED", detail)
                        .with_member("operation", json!(view));
                    error.into_response()
                }
                cps_domain::OperationStatus::Approved | cps_domain::OperationStatus::Refunded => {
                    (StatusCode::OK, Json(view)).into_response()
                }
            };
            if replayed {
                response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            response
        }
        PaymentResult::InsufficientFunds { float } => {
            let detail = Message::new("insufficient-funds-detail").arg("balance", float).arg("amount", command.amount);
            ApiError::new(StatusCode::PAYMENT_REQUIRED, "INSUFFICIENT_FUNDS", detail)
                .with_member("accountBalance", json!(float))
                .into_response()
        }
        PaymentResult::ReferenceReused => {
            let detail = Message::new("idempotency-key-reused-detail").arg("reference", &reference);
            ApiError::for_field(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED", REFERENCE_FIELD, detail).into_response()
        }
        PaymentResult::InProgress => {
            let detail = Message::new("request-in-progress-detail").arg("reference", &reference);
            ApiError::for_field(StatusCode::CONFLICT, "REQUEST_IN_PROGRESS", REFERENCE_FIELD, detail).into_response()
        }
    }
}
