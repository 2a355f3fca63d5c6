//! The pay flow's hot writes on PostgreSQL: each is one call of a function
//! from migration 0005, so one round trip and one implicit transaction. The
//! functions mirror `sqlite_hot_writes.rs`; the same API tests run on both.

use cps_domain::{Money, OperationId};
use sqlx::{AnyPool, Row};

use crate::error::StoreError;
use crate::operations::{
    operation_from_row, Finalization, NewOperation, OperationRecord, ReserveOutcome, OPERATION_COLUMNS,
};

/// Stores a payment as `pending` and reserves its amount, unless the
/// reference exists or the float does not cover it.
pub(crate) async fn reserve(pool: &AnyPool, new: &NewOperation) -> Result<ReserveOutcome, StoreError> {
    let now = crate::now_ms();
    let operation = OperationRecord::new_pending(OperationId::generate(), new, now);

    let nonce = new.request_nonce.as_ref();
    let row = sqlx::query(
        "SELECT outcome, float_cents, existing_id FROM cps_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(operation.id.as_str())
    .bind(operation.client_id.as_str())
    .bind(operation.reference.as_deref())
    .bind(operation.service_id)
    .bind(operation.number.as_str())
    .bind(operation.amount.cents())
    .bind(now)
    .bind(nonce.map(|record| record.api_key.as_str()))
    .bind(nonce.map(|record| record.nonce.as_str()))
    .bind(nonce.map(|record| record.signature.as_str()))
    .fetch_one(pool)
    .await?;
    let outcome: String = row.get("outcome");
    let float = Money::from_cents(row.get::<Option<i64>, _>("float_cents").unwrap_or_default());

    match outcome.as_str() {
        "reserved" => Ok(ReserveOutcome::Reserved { operation, float }),
        "insufficient_funds" => Ok(ReserveOutcome::InsufficientFunds { float }),
        "nonce_reused" => Ok(ReserveOutcome::NonceReused),
        "reference_exists" => {
            let existing_id: String = row.get("existing_id");
            Ok(ReserveOutcome::ReferenceExists(select_by_id(pool, &existing_id).await?))
        }
        other => Err(StoreError::WriteFailed(format!("cps_reserve returned an unknown outcome {other:?}"))),
    }
}

/// Moves a `pending` operation to its final state with its posting, event
/// and webhook. A final operation is returned unchanged.
pub(crate) async fn finalize(
    pool: &AnyPool,
    operation_id: &OperationId,
    finalization: &Finalization,
    cause: &str,
) -> Result<(OperationRecord, Money), StoreError> {
    let (status, provider_reference, reject_reason) = match finalization {
        Finalization::Approved { provider_reference } => ("approved", Some(provider_reference.as_str()), None),
        Finalization::Rejected { reason } => ("rejected", None, Some(reason.as_str())),
    };

    let float_cents: i64 = sqlx::query_scalar("SELECT float_cents FROM cps_finalize($1, $2, $3, $4, $5, $6, $7)")
        .bind(operation_id.as_str())
        .bind(status)
        .bind(provider_reference)
        .bind(reject_reason)
        .bind(cause)
        .bind(crate::now_ms())
        .bind(crate::webhooks::new_delivery_id())
        .fetch_one(pool)
        .await?;

    let operation = select_by_id(pool, operation_id.as_str()).await?;
    Ok((operation, Money::from_cents(float_cents)))
}

async fn select_by_id(pool: &AnyPool, operation_id: &str) -> Result<OperationRecord, StoreError> {
    let row = sqlx::query(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE id = $1"))
        .bind(operation_id)
        .fetch_one(pool)
        .await?;
    operation_from_row(&row)
}
