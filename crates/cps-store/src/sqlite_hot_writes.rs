//! The hot writes of the pay flow on SQLite, run by the [`SqliteWriter`]
//! thread through rusqlite: nonce records, reservations, finalizations. They
//! mirror the sqlx versions in `operations.rs` and `nonces.rs`, which serve
//! PostgreSQL; the test suite runs the same API tests on both.
//!
//! [`SqliteWriter`]: crate::sqlite_writer::SqliteWriter

use cps_domain::{ClientId, Money, OperationId, OperationStatus, ServiceNumber};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::clients::{float_account, payable_account, reserved_account};
use crate::error::StoreError;
use crate::ledger::PostingKind;
use crate::operations::{Finalization, NewOperation, OperationRecord, ReserveOutcome, OPERATION_COLUMNS};
use crate::webhooks::WebhookEvent;

/// Records a signed request; returns false when it was recorded before.
pub(crate) fn record_nonce(
    connection: &Connection,
    api_key: &str,
    nonce: &str,
    signature: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let inserted = connection
        .prepare_cached(
            "INSERT INTO request_nonces (api_key, nonce, signature, seen_at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![api_key, nonce, signature, now_ms])?;
    Ok(inserted == 1)
}

/// Stores a payment as `pending` and moves its amount from float to
/// reserved, unless the reference exists or the float does not cover it.
pub(crate) fn reserve(connection: &Connection, new: &NewOperation) -> Result<ReserveOutcome, StoreError> {
    let client_id = new.client_id.as_str();

    if let Some(record) = &new.request_nonce {
        if !record_nonce(connection, &record.api_key, &record.nonce, &record.signature, record.seen_at_ms)? {
            return Ok(ReserveOutcome::NonceReused);
        }
    }
    if let Some(reference) = &new.reference {
        if let Some(existing) = select_by_reference(connection, client_id, reference)? {
            return Ok(ReserveOutcome::ReferenceExists(existing));
        }
    }
    let covered: Option<i64> = connection
        .prepare_cached(
            "UPDATE accounts SET balance_cents = balance_cents - ?1
             WHERE id = ?2 AND balance_cents >= ?1 RETURNING balance_cents",
        )?
        .query_row(params![new.amount.cents(), float_account(client_id)], |row| row.get(0))
        .optional()?;
    let Some(float_cents) = covered else {
        let float = account_balance(connection, &float_account(client_id))?;
        return Ok(ReserveOutcome::InsufficientFunds { float });
    };

    let now = crate::now_ms();
    let operation = OperationRecord::new_pending(OperationId::generate(), new, now);
    connection
        .prepare_cached(
            "INSERT INTO operations (id, client_id, reference, service_id, number, amount_cents, status, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            operation.id.as_str(),
            client_id,
            operation.reference,
            operation.service_id,
            operation.number.as_str(),
            operation.amount.cents(),
            operation.status.as_str(),
            now,
        ])?;
    let (from, to) = (float_account(client_id), reserved_account(client_id));
    add_to_account(connection, &to, new.amount.cents())?;
    insert_posting(connection, PostingKind::Reserve, &from, &to, new.amount, operation.id.as_str(), now)?;
    insert_event(connection, operation.id.as_str(), OperationStatus::Pending, "accepted", now)?;

    Ok(ReserveOutcome::Reserved { operation, float: Money::from_cents(float_cents) })
}

/// Moves a `pending` operation to its final state with its posting, event
/// and webhook. A final operation is returned unchanged.
pub(crate) fn finalize(
    connection: &Connection,
    operation_id: &OperationId,
    finalization: &Finalization,
    cause: &str,
) -> Result<(OperationRecord, Money), StoreError> {
    let now = crate::now_ms();
    let (status, provider_reference, reject_reason) = match finalization {
        Finalization::Approved { provider_reference } => {
            (OperationStatus::Approved, Some(provider_reference.as_str()), None)
        }
        Finalization::Rejected { reason } => (OperationStatus::Rejected, None, Some(reason.as_str())),
    };

    let updated = connection
        .prepare_cached(&format!(
            "UPDATE operations SET status = ?1, provider_reference = ?2, reject_reason = ?3, completed_at_ms = ?4,
                 answered = 1
             WHERE id = ?5 AND status = 'pending'
             RETURNING {OPERATION_COLUMNS}"
        ))?
        .query_row(params![status.as_str(), provider_reference, reject_reason, now, operation_id.as_str()], |row| {
            Ok(operation_from_row(row))
        })
        .optional()?;
    let Some(operation) = updated else {
        let operation = select_by_id(connection, operation_id.as_str())?;
        let float = account_balance(connection, &float_account(operation.client_id.as_str()))?;
        return Ok((operation, float));
    };
    let operation = operation?;
    let client_id = operation.client_id.as_str();

    let reserved = reserved_account(client_id);
    add_to_account(connection, &reserved, -operation.amount.cents())?;
    let (kind, to_account, event) = match status {
        OperationStatus::Approved => (PostingKind::Capture, payable_account(client_id), WebhookEvent::Approved),
        _ => (PostingKind::Release, float_account(client_id), WebhookEvent::Rejected),
    };
    let to_balance = add_to_account(connection, &to_account, operation.amount.cents())?;
    insert_posting(connection, kind, &reserved, &to_account, operation.amount, operation_id.as_str(), now)?;
    insert_event(connection, operation_id.as_str(), status, cause, now)?;
    enqueue_webhook(connection, &operation.id, &operation.client_id, event, now)?;

    let float = match kind {
        PostingKind::Release => to_balance,
        _ => account_balance(connection, &float_account(client_id))?,
    };
    Ok((operation, float))
}

/// Records that the request which created the operation has sent its
/// response.
pub(crate) fn mark_answered(connection: &Connection, operation_id: &OperationId) -> Result<(), StoreError> {
    connection
        .prepare_cached("UPDATE operations SET answered = 1 WHERE id = ?1 AND answered = 0")?
        .execute([operation_id.as_str()])?;
    Ok(())
}

fn account_balance(connection: &Connection, account: &str) -> Result<Money, StoreError> {
    let cents: i64 = connection
        .prepare_cached("SELECT balance_cents FROM accounts WHERE id = ?1")?
        .query_row([account], |row| row.get(0))?;
    Ok(Money::from_cents(cents))
}

fn add_to_account(connection: &Connection, account: &str, amount_cents: i64) -> Result<Money, StoreError> {
    let cents: i64 = connection
        .prepare_cached("UPDATE accounts SET balance_cents = balance_cents + ?1 WHERE id = ?2 RETURNING balance_cents")?
        .query_row(params![amount_cents, account], |row| row.get(0))?;
    Ok(Money::from_cents(cents))
}

fn insert_posting(
    connection: &Connection,
    kind: PostingKind,
    from_account: &str,
    to_account: &str,
    amount: Money,
    operation_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO postings (kind, from_account, to_account, amount_cents, operation_id, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![kind.as_str(), from_account, to_account, amount.cents(), operation_id, now_ms])?;
    Ok(())
}

fn insert_event(
    connection: &Connection,
    operation_id: &str,
    status: OperationStatus,
    cause: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO operation_events (operation_id, status, cause, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![operation_id, status.as_str(), cause, now_ms])?;
    Ok(())
}

/// Queues the event's webhook when the client has a callback URL.
fn enqueue_webhook(
    connection: &Connection,
    operation_id: &OperationId,
    client_id: &ClientId,
    event: WebhookEvent,
    now_ms: i64,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO webhook_deliveries
                 (id, client_id, operation_id, event, status, attempts, next_attempt_at_ms, created_at_ms)
             SELECT ?1, id, ?2, ?3, 'pending', 0, ?4, ?4 FROM clients WHERE id = ?5 AND callback_url IS NOT NULL
             ON CONFLICT (operation_id, event) DO NOTHING",
        )?
        .execute(params![
            crate::webhooks::new_delivery_id(),
            operation_id.as_str(),
            event.as_str(),
            now_ms,
            client_id.as_str()
        ])?;
    Ok(())
}

fn select_by_id(connection: &Connection, operation_id: &str) -> Result<OperationRecord, StoreError> {
    connection
        .prepare_cached(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE id = ?1"))?
        .query_row([operation_id], |row| Ok(operation_from_row(row)))?
}

fn select_by_reference(
    connection: &Connection,
    client_id: &str,
    reference: &str,
) -> Result<Option<OperationRecord>, StoreError> {
    connection
        .prepare_cached(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE client_id = ?1 AND reference = ?2"))?
        .query_row(params![client_id, reference], |row| Ok(operation_from_row(row)))
        .optional()?
        .transpose()
}

fn operation_from_row(row: &Row<'_>) -> Result<OperationRecord, StoreError> {
    let status: String = row.get("status")?;
    let status = status.parse().map_err(|message: String| StoreError::WriteFailed(message))?;
    Ok(OperationRecord {
        id: OperationId::from_stored(row.get("id")?),
        client_id: ClientId::from_stored(row.get("client_id")?),
        reference: row.get("reference")?,
        service_id: row.get("service_id")?,
        number: ServiceNumber::from_stored(row.get("number")?),
        amount: Money::from_cents(row.get("amount_cents")?),
        status,
        provider_reference: row.get("provider_reference")?,
        reject_reason: row.get("reject_reason")?,
        answered: row.get::<_, i64>("answered")? == 1,
        created_at_ms: row.get("created_at_ms")?,
        completed_at_ms: row.get("completed_at_ms")?,
        settle_attempts: row.get("settle_attempts")?,
        last_settle_error: row.get("last_settle_error")?,
        needs_operator: row.get::<_, i64>("needs_operator")? == 1,
        refunded_at_ms: row.get("refunded_at_ms")?,
        refund_reason: row.get("refund_reason")?,
    })
}
