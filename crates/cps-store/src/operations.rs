//! Operations: reservation of funds, finalization, and look-ups.

use cps_domain::{ClientId, Money, OperationId, OperationStatus, ServiceId, ServiceNumber};
use sqlx::{AnyConnection, Row};

use crate::database::Store;
use crate::error::StoreError;
use crate::{postgres_hot_writes, sqlite_hot_writes};

/// A payment accepted for processing, before anything is stored.
#[derive(Clone, Debug)]
pub struct NewOperation {
    pub client_id: ClientId,
    pub reference: Option<String>,
    pub service_id: ServiceId,
    pub number: ServiceNumber,
    pub amount: Money,
    /// The replay record of the request, written in the same transaction as
    /// the reservation, so a payment waits for one commit less. `None` when
    /// the caller recorded it already.
    pub request_nonce: Option<crate::NonceRecord>,
}

/// A stored operation.
#[derive(Clone, Debug)]
pub struct OperationRecord {
    pub id: OperationId,
    pub client_id: ClientId,
    pub reference: Option<String>,
    pub service_id: ServiceId,
    pub number: ServiceNumber,
    pub amount: Money,
    pub status: OperationStatus,
    pub provider_reference: Option<String>,
    pub reject_reason: Option<String>,
    /// Whether the request that created the operation has sent its answer.
    pub answered: bool,
    pub created_at_ms: i64,
    pub completed_at_ms: Option<i64>,
    /// How many times the settler has asked the biller about it.
    pub settle_attempts: i64,
    pub last_settle_error: Option<String>,
    /// Set when the settler gave up and an operator must decide.
    pub needs_operator: bool,
    pub refunded_at_ms: Option<i64>,
    pub refund_reason: Option<String>,
}

impl OperationRecord {
    /// Builds the record of a payment just accepted: `pending`, with no
    /// response sent yet, created at `now_ms`.
    pub(crate) fn new_pending(id: OperationId, new: &NewOperation, now_ms: i64) -> OperationRecord {
        OperationRecord {
            id,
            client_id: new.client_id.clone(),
            reference: new.reference.clone(),
            service_id: new.service_id,
            number: new.number.clone(),
            amount: new.amount,
            status: OperationStatus::Pending,
            provider_reference: None,
            reject_reason: None,
            answered: false,
            created_at_ms: now_ms,
            completed_at_ms: None,
            settle_attempts: 0,
            last_settle_error: None,
            needs_operator: false,
            refunded_at_ms: None,
            refund_reason: None,
        }
    }
}

/// The result of trying to store a payment and reserve its amount.
#[derive(Clone, Debug)]
pub enum ReserveOutcome {
    /// Stored as `pending` with the amount moved from float to reserved.
    Reserved { operation: OperationRecord, float: Money },
    /// The float does not cover the amount; nothing was stored, so the
    /// reference stays free.
    InsufficientFunds { float: Money },
    /// The client already has an operation with this reference.
    ReferenceExists(OperationRecord),
    /// The request's nonce was recorded before: a replay. Nothing changed.
    NonceReused,
}

/// The biller's final word on a pending operation.
#[derive(Clone, Debug)]
pub enum Finalization {
    Approved { provider_reference: String },
    Rejected { reason: String },
}

/// Pending operations at one moment, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingSummary {
    /// Every pending operation, including those waiting for an operator.
    pub pending: i64,
    /// Pending operations the settler gave up on.
    pub needs_operator: i64,
    /// Creation time of the oldest pending operation, in Unix milliseconds;
    /// `None` when nothing is pending.
    pub oldest_created_at_ms: Option<i64>,
}

pub(crate) const OPERATION_COLUMNS: &str = "id, client_id, reference, service_id, number, amount_cents, status,
     provider_reference, reject_reason, answered, created_at_ms, completed_at_ms,
     settle_attempts, last_settle_error, needs_operator, refunded_at_ms, refund_reason";

impl Store {
    /// Stores a payment as `pending` and reserves its amount from the client's
    /// float, in one transaction. Either both happen or neither.
    pub async fn reserve(&self, new: &NewOperation) -> Result<ReserveOutcome, StoreError> {
        let new = new.clone();
        if let Some(writer) = &self.sqlite_writer {
            return writer.write(move |connection| sqlite_hot_writes::reserve(connection, &new)).await;
        }
        postgres_hot_writes::reserve(&self.writer, &new).await
    }

    /// Moves a `pending` operation to its final state with the matching
    /// posting: capture on approval, release on rejection. An operation that
    /// is already final is returned unchanged, so finalizing twice never posts
    /// twice. Returns the operation and the client's float afterwards.
    pub async fn finalize(
        &self,
        operation_id: &OperationId,
        finalization: &Finalization,
        cause: &str,
    ) -> Result<(OperationRecord, Money), StoreError> {
        let (operation_id, finalization, cause) = (operation_id.clone(), finalization.clone(), cause.to_string());
        if let Some(writer) = &self.sqlite_writer {
            return writer
                .write(move |connection| sqlite_hot_writes::finalize(connection, &operation_id, &finalization, &cause))
                .await;
        }
        postgres_hot_writes::finalize(&self.writer, &operation_id, &finalization, &cause).await
    }

    /// Records that the request which created the operation has answered, so
    /// a retry with the same reference replays instead of waiting.
    pub async fn mark_answered(&self, operation_id: &OperationId) -> Result<(), StoreError> {
        if let Some(writer) = &self.sqlite_writer {
            let operation_id = operation_id.clone();
            return writer.write(move |connection| sqlite_hot_writes::mark_answered(connection, &operation_id)).await;
        }
        let _lock = self.lock_writes().await;
        sqlx::query("UPDATE operations SET answered = 1 WHERE id = $1 AND answered = 0")
            .bind(operation_id.as_str())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn find_operation_by_reference(
        &self,
        client_id: &ClientId,
        reference: &str,
    ) -> Result<Option<OperationRecord>, StoreError> {
        let mut connection = self.reader.acquire().await?;
        select_by_reference(&mut connection, client_id.as_str(), reference).await
    }
}

/// A pending operation's latest failed settlement attempt.
#[derive(Clone, Debug)]
pub struct SettleAttempt {
    pub error: String,
    /// When the settler may try again (Unix milliseconds).
    pub next_attempt_at_ms: i64,
    /// True when the settler gives up and hands the operation to an operator.
    pub give_up: bool,
}

impl Store {
    /// Claims up to `limit` pending operations for one settler: created
    /// before `created_before_ms`, due by `now_ms`, and not handed to an
    /// operator. A claim moves the operation's next attempt to
    /// `lease_until_ms`, so another settler, in this instance or another,
    /// skips it meanwhile; on PostgreSQL `SKIP LOCKED` also keeps two claims
    /// from waiting on each other. Oldest first.
    pub async fn claim_pending(
        &self,
        now_ms: i64,
        created_before_ms: i64,
        limit: i64,
        lease_until_ms: i64,
    ) -> Result<Vec<OperationRecord>, StoreError> {
        let skip_locked = self.skip_locked_rows();
        let mut transaction = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "UPDATE operations SET next_settle_at_ms = $1
             WHERE id IN (
                 SELECT id FROM operations
                 WHERE status = 'pending' AND needs_operator = 0 AND next_settle_at_ms <= $2 AND created_at_ms <= $3
                 ORDER BY created_at_ms, id LIMIT $4{skip_locked}
             )
             RETURNING {OPERATION_COLUMNS}"
        ))
        .bind(lease_until_ms)
        .bind(now_ms)
        .bind(created_before_ms)
        .bind(limit)
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;

        let mut claimed: Vec<OperationRecord> = rows.iter().map(operation_from_row).collect::<Result<_, _>>()?;
        claimed.sort_by(|a, b| (a.created_at_ms, a.id.as_str()).cmp(&(b.created_at_ms, b.id.as_str())));
        Ok(claimed)
    }

    /// Records a failed settlement attempt on a pending operation. When the
    /// attempt gives up, the operation is flagged for an operator and an event
    /// says so.
    pub async fn record_settle_attempt(
        &self,
        operation_id: &OperationId,
        attempt: &SettleAttempt,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE operations
             SET settle_attempts = settle_attempts + 1, last_settle_error = $1, next_settle_at_ms = $2, needs_operator = $3
             WHERE id = $4 AND status = 'pending'",
        )
        .bind(&attempt.error)
        .bind(attempt.next_attempt_at_ms)
        .bind(i64::from(attempt.give_up))
        .bind(operation_id.as_str())
        .execute(&mut *transaction)
        .await?;
        if attempt.give_up && updated.rows_affected() == 1 {
            let cause = format!("settlement gave up, operator needed: {}", attempt.error);
            insert_event(&mut transaction, operation_id.as_str(), OperationStatus::Pending, &cause, crate::now_ms())
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Counts pending operations: those the settler still works on, and those
    /// waiting for an operator.
    pub async fn count_pending(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(CASE WHEN needs_operator = 0 THEN 1 END) AS settling,
                    COUNT(CASE WHEN needs_operator = 1 THEN 1 END) AS flagged
             FROM operations WHERE status = 'pending'",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok((row.get("settling"), row.get("flagged")))
    }

    /// Summarizes the pending operations for monitoring: how many there are,
    /// how many wait for an operator, and when the oldest was created. Reads
    /// only the partial index of pending operations.
    pub async fn pending_summary(&self) -> Result<PendingSummary, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS pending,
                    COUNT(CASE WHEN needs_operator = 1 THEN 1 END) AS needs_operator,
                    MIN(created_at_ms) AS oldest_created_at_ms
             FROM operations WHERE status = 'pending'",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(PendingSummary {
            pending: row.try_get("pending")?,
            needs_operator: row.try_get("needs_operator")?,
            oldest_created_at_ms: row.try_get("oldest_created_at_ms")?,
        })
    }

    pub async fn find_operation(&self, operation_id: &OperationId) -> Result<Option<OperationRecord>, StoreError> {
        let mut connection = self.reader.acquire().await?;
        match select_by_id(&mut connection, operation_id.as_str()).await {
            Ok(operation) => Ok(Some(operation)),
            Err(StoreError::Database(sqlx::Error::RowNotFound)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Returns the state changes of an operation, oldest first, as
    /// `(status, cause, time in Unix milliseconds)`.
    pub async fn operation_events(&self, operation_id: &OperationId) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, cause, created_at_ms FROM operation_events WHERE operation_id = $1 ORDER BY id",
        )
        .bind(operation_id.as_str())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(|row| (row.get("status"), row.get("cause"), row.get("created_at_ms"))).collect())
    }

    /// Returns every operation, oldest first, for checks and reports.
    pub async fn all_operations(&self) -> Result<Vec<OperationRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {OPERATION_COLUMNS} FROM operations ORDER BY created_at_ms, id"))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(operation_from_row).collect()
    }
}

pub(crate) async fn insert_event(
    connection: &mut AnyConnection,
    operation_id: &str,
    status: OperationStatus,
    cause: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO operation_events (operation_id, status, cause, created_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(operation_id)
        .bind(status.as_str())
        .bind(cause)
        .bind(now_ms)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

async fn select_by_id(connection: &mut AnyConnection, operation_id: &str) -> Result<OperationRecord, StoreError> {
    select_by_id_locked(connection, operation_id, "").await
}

pub(crate) async fn select_by_id_locked(
    connection: &mut AnyConnection,
    operation_id: &str,
    lock: &str,
) -> Result<OperationRecord, StoreError> {
    let row = sqlx::query(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE id = $1{lock}"))
        .bind(operation_id)
        .fetch_one(&mut *connection)
        .await?;
    operation_from_row(&row)
}

async fn select_by_reference(
    connection: &mut AnyConnection,
    client_id: &str,
    reference: &str,
) -> Result<Option<OperationRecord>, StoreError> {
    let row =
        sqlx::query(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE client_id = $1 AND reference = $2"))
            .bind(client_id)
            .bind(reference)
            .fetch_optional(&mut *connection)
            .await?;
    row.as_ref().map(operation_from_row).transpose()
}

pub(crate) fn operation_from_row(row: &sqlx::any::AnyRow) -> Result<OperationRecord, StoreError> {
    let status: String = row.get("status");
    let status = status.parse().map_err(|message: String| StoreError::Database(sqlx::Error::Decode(message.into())))?;
    Ok(OperationRecord {
        id: OperationId::from_stored(row.get("id")),
        client_id: ClientId::from_stored(row.get("client_id")),
        reference: row.get("reference"),
        service_id: row.get("service_id"),
        number: ServiceNumber::from_stored(row.get("number")),
        amount: Money::from_cents(row.get("amount_cents")),
        status,
        provider_reference: row.get("provider_reference"),
        reject_reason: row.get("reject_reason"),
        answered: row.get::<i64, _>("answered") == 1,
        created_at_ms: row.get("created_at_ms"),
        completed_at_ms: row.get("completed_at_ms"),
        settle_attempts: row.get("settle_attempts"),
        last_settle_error: row.get("last_settle_error"),
        needs_operator: row.get::<i64, _>("needs_operator") == 1,
        refunded_at_ms: row.get("refunded_at_ms"),
        refund_reason: row.get("refund_reason"),
    })
}
