//! The webhook outbox: one delivery per final outcome, written in the same
//! transaction as the outcome, and a log of every attempt to deliver it.

use cps_domain::{ClientId, OperationId};
use sqlx::{AnyConnection, Row};

use crate::database::Store;
use crate::error::StoreError;
use crate::operations::OperationRecord;

/// The event a webhook reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookEvent {
    Approved,
    Rejected,
    Refunded,
}

impl WebhookEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::Approved => "operation.approved",
            WebhookEvent::Rejected => "operation.rejected",
            WebhookEvent::Refunded => "operation.refunded",
        }
    }

    fn parse(text: &str) -> Result<WebhookEvent, StoreError> {
        match text {
            "operation.approved" => Ok(WebhookEvent::Approved),
            "operation.rejected" => Ok(WebhookEvent::Rejected),
            "operation.refunded" => Ok(WebhookEvent::Refunded),
            other => Err(StoreError::Database(sqlx::Error::Decode(format!("unknown webhook event {other:?}").into()))),
        }
    }
}

/// One event to deliver to a client, with its delivery state.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    /// `whk_` and a ULID; receivers use it to ignore a repeated delivery.
    pub id: String,
    pub client_id: ClientId,
    pub operation_id: OperationId,
    pub event: WebhookEvent,
    /// `pending`, `delivered` or `failed` (given up; an operator may retry).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
}

/// One try to deliver a webhook, as the delivery log shows it.
#[derive(Clone, Debug)]
pub struct WebhookAttempt {
    pub url: String,
    /// The receiver's HTTP status, when it responded.
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub attempted_at_ms: i64,
}

/// The next step after an attempt.
#[derive(Clone, Copy, Debug)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(i64),
    GiveUp,
}

/// A filter over deliveries, for operators.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub client_id: Option<ClientId>,
    pub operation_id: Option<OperationId>,
    pub status: Option<String>,
    pub limit: i64,
}

const DELIVERY_COLUMNS: &str = "id, client_id, operation_id, event, status, attempts, next_attempt_at_ms,
     last_error, created_at_ms, delivered_at_ms";

/// Makes the id of a new delivery: `whk_` and a ULID.
pub(crate) fn new_delivery_id() -> String {
    format!("whk_{}", ulid::Ulid::new())
}

/// Queues `event` for the operation's client, in the caller's transaction.
/// A client without a callback URL gets no row, and the same event is never
/// queued twice.
pub(crate) async fn enqueue_in(
    connection: &mut AnyConnection,
    operation: &OperationRecord,
    event: WebhookEvent,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries
             (id, client_id, operation_id, event, status, attempts, next_attempt_at_ms, created_at_ms)
         SELECT $1, id, $2, $3, 'pending', 0, $4, $5 FROM clients WHERE id = $6 AND callback_url IS NOT NULL
         ON CONFLICT (operation_id, event) DO NOTHING",
    )
    .bind(new_delivery_id())
    .bind(operation.id.as_str())
    .bind(event.as_str())
    .bind(now_ms)
    .bind(now_ms)
    .bind(operation.client_id.as_str())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

impl Store {
    /// Claims up to `limit` due deliveries for one dispatcher, oldest first,
    /// and moves their next attempt to `lease_until_ms` so no other
    /// dispatcher takes them meanwhile. After a crash they come back when the
    /// lease ends.
    pub async fn claim_due_webhooks(
        &self,
        now_ms: i64,
        limit: i64,
        lease_until_ms: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let skip_locked = self.skip_locked_rows();
        let mut transaction = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "UPDATE webhook_deliveries SET next_attempt_at_ms = $1
             WHERE id IN (
                 SELECT id FROM webhook_deliveries
                 WHERE status = 'pending' AND next_attempt_at_ms <= $2
                 ORDER BY next_attempt_at_ms, id LIMIT $3{skip_locked}
             )
             RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(lease_until_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;

        let mut claimed: Vec<WebhookDelivery> = rows.iter().map(delivery_from_row).collect::<Result<_, _>>()?;
        claimed.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(claimed)
    }

    /// Logs an attempt and moves the delivery on: delivered, due again at a
    /// later time, or failed for good.
    pub async fn record_webhook_attempt(
        &self,
        delivery_id: &str,
        attempt: &WebhookAttempt,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        let (status, next_attempt_at_ms, delivered_at_ms) = match outcome {
            AttemptOutcome::Delivered => ("delivered", attempt.attempted_at_ms, Some(attempt.attempted_at_ms)),
            AttemptOutcome::RetryAt(at_ms) => ("pending", at_ms, None),
            AttemptOutcome::GiveUp => ("failed", attempt.attempted_at_ms, None),
        };
        let last_error = attempt.error.clone().or_else(|| attempt.status_code.map(|code| format!("HTTP {code}")));
        let last_error = if matches!(outcome, AttemptOutcome::Delivered) { None } else { last_error };

        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, url, status_code, error, duration_ms, attempted_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(delivery_id)
        .bind(&attempt.url)
        .bind(attempt.status_code)
        .bind(attempt.error.as_deref())
        .bind(attempt.duration_ms)
        .bind(attempt.attempted_at_ms)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries
             SET status = $1, attempts = attempts + 1, next_attempt_at_ms = $2, last_error = $3, delivered_at_ms = $4
             WHERE id = $5 AND status = 'pending'",
        )
        .bind(status)
        .bind(next_attempt_at_ms)
        .bind(last_error)
        .bind(delivered_at_ms)
        .bind(delivery_id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Deliveries matching `filter`, newest first.
    pub async fn webhook_deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
             WHERE (CAST($1 AS TEXT) IS NULL OR client_id = $2)
               AND (CAST($3 AS TEXT) IS NULL OR operation_id = $4)
               AND (CAST($5 AS TEXT) IS NULL OR status = $6)
             ORDER BY created_at_ms DESC, id DESC LIMIT $7"
        ))
        .bind(filter.client_id.as_ref().map(|id| id.as_str().to_string()))
        .bind(filter.client_id.as_ref().map(|id| id.as_str().to_string()))
        .bind(filter.operation_id.as_ref().map(|id| id.as_str().to_string()))
        .bind(filter.operation_id.as_ref().map(|id| id.as_str().to_string()))
        .bind(filter.status.clone())
        .bind(filter.status.clone())
        .bind(filter.limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// Reads the attempts of one delivery, oldest first.
    pub async fn webhook_attempts(&self, delivery_id: &str) -> Result<Vec<WebhookAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT url, status_code, error, duration_ms, attempted_at_ms
             FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(delivery_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .iter()
            .map(|row| WebhookAttempt {
                url: row.get("url"),
                status_code: row.get("status_code"),
                error: row.get("error"),
                duration_ms: row.get("duration_ms"),
                attempted_at_ms: row.get("attempted_at_ms"),
            })
            .collect())
    }

    /// Puts a failed delivery back in the queue, due now. Returns false when
    /// no failed delivery has this id.
    pub async fn retry_webhook(&self, delivery_id: &str) -> Result<bool, StoreError> {
        let _lock = self.lock_writes().await;
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at_ms = $1
             WHERE id = $2 AND status = 'failed'",
        )
        .bind(crate::now_ms())
        .bind(delivery_id)
        .execute(&self.writer)
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}

fn delivery_from_row(row: &sqlx::any::AnyRow) -> Result<WebhookDelivery, StoreError> {
    Ok(WebhookDelivery {
        id: row.get("id"),
        client_id: ClientId::from_stored(row.get("client_id")),
        operation_id: OperationId::from_stored(row.get("operation_id")),
        event: WebhookEvent::parse(row.get("event"))?,
        status: row.get("status"),
        attempts: row.get("attempts"),
        next_attempt_at_ms: row.get("next_attempt_at_ms"),
        last_error: row.get("last_error"),
        created_at_ms: row.get("created_at_ms"),
        delivered_at_ms: row.get("delivered_at_ms"),
    })
}
