//! `POST /cps/v2/operation/use/pay`: pay a basic service from the client's
//! float.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cps_domain::{AmountError, ClientId, Money};
use cps_payments::{OperationView, PaymentCommand, PaymentResult};
use serde_json::json;

use super::openapi::{Problem, SignedRequestErrors};
use super::operation_view::OperationSchema;
use super::validation::{find_service, is_valid_reference, parse_number, NUMBER_FIELD, REFERENCE_FIELD, SERVICE_FIELD};
use crate::auth::{require_json, SignedRequest, UnrecordedRequest};
use crate::json_body::{integer_member, string_member, wrong_type, RawObject};
use crate::problem::{ApiError, FieldError, Message};
use crate::state::AppState;

const AMOUNT_FIELD: &str = "amount";
pub(super) const FIELDS: [&str; 4] = [NUMBER_FIELD, SERVICE_FIELD, AMOUNT_FIELD, REFERENCE_FIELD];

/// The largest amount any request may carry, in whole bolívares
/// (`Money`'s parsing limit).
const MAX_AMOUNT_UNITS: i64 = 10_000_000_000_000;

/// The body of a pay request, as the OpenAPI document describes it. The
/// handler reads the body member by member instead (`read_body`), to keep
/// the amount's exact text and to tell duplicate members apart.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub(super) struct PayRequest {
    /// The subscriber number or account. Spaces, dashes, dots, parentheses
    /// and tabs are dropped. For services keyed by a phone number, the `+58`,
    /// `58` and `0058` prefixes become the national `0`, and a dropped
    /// leading `0` is restored. The result must match the service's
    /// `numberPattern`.
    #[schema(example = "04243675525", max_length = 64)]
    number_service: String,
    /// A service id from the list of basic services.
    #[schema(example = 57)]
    id_type_service: i64,
    #[schema(schema_with = request_amount_schema)]
    amount: String,
    /// The client's own unique id of this payment, its idempotency key; the
    /// `Idempotency-Key` header may carry it instead.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$", example = "pedido-7781")]
    reference: Option<String>,
}

/// Builds the schema of a request amount: a JSON number or a decimal
/// string, more than 0 and exact at 2 decimals.
fn request_amount_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Type};

    // No `multipleOf: 0.01`, because validators that divide in binary
    // floating point would reject valid amounts such as 8.2 (8.2 / 0.01 is
    // 819.99…). The description states the 2-decimal rule instead.
    let number =
        ObjectBuilder::new().schema_type(Type::Number).exclusive_minimum(Some(0)).maximum(Some(MAX_AMOUNT_UNITS));
    let string = ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^[0-9]+(\.[0-9]{1,2}0*)?$"));
    OneOfBuilder::new()
        .item(number)
        .item(string)
        .description(Some(
            "Bolívares (VES): a JSON number or a decimal string, more than 0 and exact at 2 decimals (`10`, \
             `10.5`, `\"10.50\"` and `10.500` are accepted, `10.005` is not). It must also lie within the \
             service's `minAmount` and `maxAmount`. Nothing is rounded.",
        ))
        .examples([serde_json::json!(10), serde_json::json!("10.50")])
        .build()
        .into()
}

/// The fields of a pay request, with types checked and values not yet
/// validated.
struct PayBody {
    number: String,
    service_id: i64,
    /// The raw JSON text of `amount`, parsed exactly in validation.
    amount_json: String,
    reference: Option<String>,
}

/// Pay a service
///
/// Takes `amount` from the client's float and pays the biller. The
/// signature's PAYLOAD is the request body, byte for byte as sent.
#[utoipa::path(
    post,
    path = "/cps/v2/operation/use/pay",
    operation_id = "payService",
    tag = "payments",
    security(("api-key" = [], "api-nonce" = [], "api-signature" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "The same as `reference`; both given and different is a 400 `IDEMPOTENCY_KEY_MISMATCH`."),
    ),
    request_body(content = PayRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The biller approved the payment, or this is a replay of an approved one.", body = OperationSchema, headers(("idempotent-replayed" = String, description = "`true` when this answer repeats an earlier one with the same `reference`."))),
        (status = 202, description = "The biller's outcome is not known yet: the operation is `pending` and is settled later by re-querying the biller.", body = OperationSchema, headers(("idempotent-replayed" = String, description = "`true` when this answer repeats an earlier one with the same `reference`."))),
        (status = 400, description = "The body is not a JSON object, has an unknown, duplicate or missing member or a member of the wrong type, the query string is not empty, or `Idempotency-Key` differs from `reference` (codes `MALFORMED_JSON`, `UNKNOWN_FIELD`, `DUPLICATE_FIELD`, `MISSING_FIELD`, `INVALID_FIELD_TYPE`, `INVALID_QUERY_PARAMETER`, `IDEMPOTENCY_KEY_MISMATCH`).", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "The client's float is too low, code `INSUFFICIENT_FUNDS`; nothing reached the biller. `accountBalance` carries the float.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `reference` was used for a different payment, or its first request is still running (codes `IDEMPOTENCY_KEY_REUSED`, `REQUEST_IN_PROGRESS`).", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The `Content-Type` is missing or not `application/json`, code `UNSUPPORTED_MEDIA_TYPE`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A business rule failed: unknown or disabled service, a number that does not fit the service, an invalid or out-of-range amount, an invalid reference, or the biller rejected the payment (codes `UNKNOWN_SERVICE`, `SERVICE_DISABLED`, `INVALID_SERVICE_NUMBER`, `NUMBER_SERVICE_MISMATCH`, `INVALID_AMOUNT`, `AMOUNT_OUT_OF_RANGE`, `INVALID_REFERENCE`, `PROVIDER_REJECTED`). A rejection carries the `operation`, with the float restored.", body = Problem, content_type = "application/problem+json", headers(("idempotent-replayed" = String, description = "`true` when this answer repeats an earlier one with the same `reference`."))),
        SignedRequestErrors,
    ),
)]
pub(super) async fn pay(State(state): State<AppState>, unrecorded: UnrecordedRequest) -> Result<Response, ApiError> {
    // The nonce is recorded with the reservation. A request refused before
    // it records the nonce alone, so a replay of it still gets 401 first.
    let mut command = match check(&state, &unrecorded.request) {
        Ok(command) => command,
        Err(error) => {
            unrecorded.record_nonce(&state).await?;
            return Err(error);
        }
    };
    command.request_nonce = Some(unrecorded.nonce.clone());
    tracing::info!(service = %command.service.code, number = %command.number.masked(), amount = %command.amount, "payment requested");

    let result = state.payments.pay(command.clone()).await.map_err(ApiError::internal)?;

    if matches!(result, PaymentResult::NonceReused) {
        return Err(unrecorded.replayed(&state));
    }
    Ok(respond(&state, &command, result))
}

/// Runs every check of a pay request, in the contract's order: media type,
/// query, body syntax, then business rules.
fn check(state: &AppState, request: &SignedRequest) -> Result<PaymentCommand, ApiError> {
    require_json(&request.headers)?;
    request.query.check(&[])?;
    let body = read_body(&request.body)?;
    let reference = merge_reference(body.reference.clone(), request)?;
    validate(state, &request.client.id, body, reference)
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
            Ok(PaymentCommand { client_id: client_id.clone(), reference, service, number, amount, request_nonce: None })
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
        // The handler returns a replay's 401 before it calls this function.
        PaymentResult::NonceReused => {
            ApiError::internal(anyhow::anyhow!("a replay reached the response")).into_response()
        }
        PaymentResult::InProgress => {
            let detail = Message::new("request-in-progress-detail").arg("reference", &reference);
            ApiError::for_field(StatusCode::CONFLICT, "REQUEST_IN_PROGRESS", REFERENCE_FIELD, detail).into_response()
        }
    }
}
