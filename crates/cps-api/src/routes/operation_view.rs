//! The operation object as the API returns it.

use cps_domain::{Catalog, Money};
use cps_store::OperationRecord;
use serde::Serialize;

use crate::timestamp::format_ms;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperationView {
    id: String,
    reference: Option<String>,
    status: &'static str,
    id_type_service: i64,
    service: String,
    number_service: String,
    amount: Money,
    currency: &'static str,
    provider_reference: Option<String>,
    created_at: String,
    completed_at: Option<String>,
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
