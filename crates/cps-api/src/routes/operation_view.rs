//! The operation object as the API returns it.

use cps_domain::{Catalog, Money};
use cps_store::OperationRecord;
use serde::Serialize;

use super::openapi::{Amount, OperationStatusName};
use crate::timestamp::format_ms;

/// A payment operation. Every member is always present; those without a
/// value are `null`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperationView {
    #[schema(example = "op_01JEZ4Q7M2X9K3V8T6R5N1B0CD")]
    id: String,
    /// The client's own id of the payment, its idempotency key.
    #[schema(required = true, example = "pedido-7781")]
    reference: Option<String>,
    #[schema(value_type = OperationStatusName)]
    status: &'static str,
    #[schema(example = 57)]
    id_type_service: i64,
    /// The service code, such as `MOVISTAR_PREPAGO`.
    service: String,
    /// The subscriber number after normalization.
    #[schema(example = "04243675525")]
    number_service: String,
    #[schema(value_type = Amount)]
    amount: Money,
    #[schema(example = "VES")]
    currency: &'static str,
    /// The biller's reference, once it has approved.
    #[schema(required = true)]
    provider_reference: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    /// When the operation left `pending`.
    #[schema(required = true, format = DateTime)]
    completed_at: Option<String>,
    /// The client's available float after this response.
    #[schema(value_type = Amount)]
    account_balance: Money,
}

impl OperationView {
    /// `float` is the client's available float after this answer.
    pub fn new(operation: &OperationRecord, catalog: &Catalog, float: Money) -> OperationView {
        let service_code =
            catalog.service(operation.service_id).map(|service| service.code.clone()).unwrap_or_default();
        OperationView {
            id: operation.id.to_string(),
            reference: operation.reference.clone(),
            status: operation.status.as_str(),
            id_type_service: operation.service_id,
            service: service_code,
            number_service: operation.number.as_str().to_string(),
            amount: operation.amount,
            currency: "VES",
            provider_reference: operation.provider_reference.clone(),
            created_at: format_ms(operation.created_at_ms),
            completed_at: operation.completed_at_ms.map(format_ms),
            account_balance: float,
        }
    }
}
