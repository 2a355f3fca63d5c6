//! The operation object as clients see it, in API responses and in webhooks.

use cps_domain::{format_ms, Catalog, Money, OperationStatus};
use cps_store::OperationRecord;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationView {
    pub id: String,
    pub reference: Option<String>,
    pub status: &'static str,
    pub id_type_service: i64,
    pub service: String,
    pub number_service: String,
    pub amount: Money,
    pub currency: &'static str,
    pub provider_reference: Option<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<String>,
    /// The client's available float when the response was made. History pages
    /// and webhooks leave it out because there it would be stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_balance: Option<Money>,
}

impl OperationView {
    pub fn new(operation: &OperationRecord, catalog: &Catalog) -> OperationView {
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
            refunded_at: operation.refunded_at_ms.map(format_ms),
            account_balance: None,
        }
    }

    /// Adds the client's float at the time of this response.
    pub fn with_balance(mut self, float: Money) -> OperationView {
        self.account_balance = Some(float);
        self
    }

    /// Shows the operation as it was when it reached `status`, for an event
    /// delivered after a later change (an approval sent after a refund).
    pub fn as_of(mut self, status: OperationStatus) -> OperationView {
        self.status = status.as_str();
        if status != OperationStatus::Refunded {
            self.refunded_at = None;
        }
        self
    }
}
