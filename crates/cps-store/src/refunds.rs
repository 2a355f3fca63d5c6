//! Refunds of approved operations, an operator's decision.

use cps_domain::{Money, OperationId, OperationStatus};

use crate::clients::{float_account, payable_account};
use crate::database::Store;
use crate::error::StoreError;
use crate::ledger::{self, PostingKind};
use crate::operations::{insert_event, operation_from_row, select_by_id_locked, OperationRecord, OPERATION_COLUMNS};
use crate::webhooks::{self, WebhookEvent};

/// The result of a refund request.
#[derive(Clone, Debug)]
pub enum RefundOutcome {
    /// Refunded now: the amount went back to the client's float.
    Refunded {
        operation: OperationRecord,
        float: Money,
    },
    /// Only approved operations can be refunded; this one is not.
    NotApproved(OperationRecord),
    NotFound,
}

impl Store {
    /// Refunds an approved operation in full: moves its amount from what CPS
    /// owes the biller back to the client's float, marks it `refunded`,
    /// records the reason as an event, and queues a webhook. All or nothing.
    pub async fn refund(&self, operation_id: &OperationId, reason: &str) -> Result<RefundOutcome, StoreError> {
        let mut transaction = self.begin_write().await?;

        let found = select_by_id_locked(&mut transaction, operation_id.as_str(), self.lock_rows()).await;
        let operation = match found {
            Ok(operation) => operation,
            Err(StoreError::Database(sqlx::Error::RowNotFound)) => return Ok(RefundOutcome::NotFound),
            Err(error) => return Err(error),
        };
        if operation.status != OperationStatus::Approved {
            return Ok(RefundOutcome::NotApproved(operation));
        }

        let now = crate::now_ms();
        let row = sqlx::query(&format!(
            "UPDATE operations SET status = 'refunded', refunded_at_ms = $1, refund_reason = $2
             WHERE id = $3 AND status = 'approved'
             RETURNING {OPERATION_COLUMNS}"
        ))
        .bind(now)
        .bind(reason)
        .bind(operation_id.as_str())
        .fetch_one(&mut *transaction)
        .await?;
        let refunded = operation_from_row(&row)?;

        // The float is locked before the payable account, in the order the
        // pay flow's writes follow (float, reserved, payable), so a refund
        // and a payment of one client wait for each other, not deadlock.
        let client_id = refunded.client_id.as_str();
        ledger::lock_float(&mut transaction, client_id, self.lock_rows()).await?;
        let (from, to) = (payable_account(client_id), float_account(client_id));
        ledger::post(
            &mut transaction,
            PostingKind::Refund,
            &from,
            &to,
            refunded.amount,
            Some(operation_id.as_str()),
            now,
        )
        .await?;
        insert_event(
            &mut transaction,
            operation_id.as_str(),
            OperationStatus::Refunded,
            &format!("refund: {reason}"),
            now,
        )
        .await?;
        webhooks::enqueue_in(&mut transaction, &refunded, WebhookEvent::Refunded, now).await?;
        let float = ledger::float_balance(&mut transaction, client_id).await?;

        transaction.commit().await?;
        Ok(RefundOutcome::Refunded { operation: refunded, float })
    }
}
