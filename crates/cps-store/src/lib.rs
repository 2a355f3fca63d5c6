//! Storage of CPS: clients, operations, nonce records and the double-entry
//! ledger.
//!
//! Queries are checked at run time rather than by sqlx's compile-time macros,
//! so the crate builds without a database; they go through sqlx's `Any`
//! driver, so one set of SQL serves SQLite and PostgreSQL. The test suite runs
//! them against both. SQLite is opened in WAL mode with `synchronous=FULL`, so
//! a committed payment survives a power cut.

mod clients;
mod database;
mod error;
mod history;
mod ledger;
mod migrate;
mod nonces;
mod operations;
mod overrides;
mod postgres_hot_writes;
mod refunds;
mod reports;
mod sqlite_checkpointer;
mod sqlite_hot_writes;
mod sqlite_reader;
mod sqlite_writer;
pub mod testing;
mod webhooks;

pub use clients::{ClientRecord, ClientSummary, NewClient, RotatedSecret};
pub use database::{Backend, PoolConfig, Store};
pub use error::StoreError;
pub use history::{HistoryPage, HistoryPosition, HistoryQuery};
pub use ledger::LedgerCheck;
pub use nonces::NonceRecord;
pub use operations::{Finalization, NewOperation, OperationRecord, PendingSummary, ReserveOutcome, SettleAttempt};
pub use refunds::RefundOutcome;
pub use reports::ServiceTotal;
pub use webhooks::{AttemptOutcome, DeliveryFilter, WebhookAttempt, WebhookDelivery, WebhookEvent};

/// Milliseconds since the Unix epoch, the time unit of every stored timestamp.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}
