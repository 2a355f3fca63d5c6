//! The schema of the operation object in the OpenAPI document. Responses are
//! serialized from `cps_payments::OperationView`, which webhooks share; a
//! test keeps the two member lists equal.

use super::openapi::{Amount, OperationStatusName};

/// A payment operation. Members without a value are `null`, except
/// `refundedAt` and `accountBalance`, which are left out when they do not
/// apply.
#[derive(utoipa::ToSchema)]
#[schema(as = OperationView, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct OperationSchema {
    #[schema(example = "op_01JEZ4Q7M2X9K3V8T6R5N1B0CD")]
    id: String,
    /// The client's own id of the payment, its idempotency key.
    #[schema(required = true, example = "pedido-7781")]
    reference: Option<String>,
    #[schema(value_type = OperationStatusName)]
    status: String,
    #[schema(example = 57)]
    id_type_service: i64,
    /// The service code, such as `MOVISTAR_PREPAGO`.
    service: String,
    /// The subscriber number after normalization.
    #[schema(example = "04243675525")]
    number_service: String,
    #[schema(value_type = Amount)]
    amount: String,
    #[schema(example = "VES")]
    currency: String,
    /// The biller's reference, once it has approved.
    #[schema(required = true)]
    provider_reference: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    /// When the operation left `pending`.
    #[schema(required = true, format = DateTime)]
    completed_at: Option<String>,
    /// When an operator refunded the operation; only on refunded operations.
    #[schema(format = DateTime)]
    refunded_at: Option<String>,
    /// The client's available float after this response; left out of history
    /// pages and webhooks.
    #[schema(value_type = Option<Amount>)]
    account_balance: Option<String>,
}

#[cfg(test)]
mod tests {
    use cps_domain::{Catalog, ClientId, Money, OperationId, OperationStatus, ServiceNumber};
    use cps_payments::OperationView;
    use cps_store::OperationRecord;
    use utoipa::PartialSchema;

    use super::*;

    #[test]
    fn schema_lists_every_member_of_the_view() {
        let record = OperationRecord {
            id: OperationId::from_stored("op_01JEZ4Q7M2X9K3V8T6R5N1B0CD".into()),
            client_id: ClientId::from_stored("cl_01JEZ4Q7M2X9K3V8T6R5N1B0CD".into()),
            reference: Some("pedido-7781".into()),
            service_id: 57,
            number: ServiceNumber::from_stored("04243675525".into()),
            amount: Money::from_cents(1_000),
            status: OperationStatus::Refunded,
            provider_reference: Some("A1".into()),
            reject_reason: None,
            answered: true,
            created_at_ms: 1,
            completed_at_ms: Some(2),
            settle_attempts: 0,
            last_settle_error: None,
            needs_operator: false,
            refunded_at_ms: Some(3),
            refund_reason: Some("test".into()),
        };
        let view = OperationView::new(&record, &Catalog::default_catalog()).with_balance(Money::ZERO);
        let serialized = serde_json::to_value(view).unwrap();
        let mut members: Vec<&String> = serialized.as_object().unwrap().keys().collect();
        members.sort();

        let schema = serde_json::to_value(OperationSchema::schema()).unwrap();
        let mut documented: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        documented.sort();

        assert_eq!(members, documented);
    }
}
