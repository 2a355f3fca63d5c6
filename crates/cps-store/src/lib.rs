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
mod group_commit;
mod ledger;
mod migrate;
mod nonces;
mod operations;
pub mod testing;

pub use clients::{ClientRecord, ClientSummary, NewClient};
pub use database::{Backend, PoolConfig, Store};
pub use error::StoreError;
pub use ledger::LedgerCheck;
pub use operations::{Finalization, NewOperation, OperationRecord, PendingSummary, ReserveOutcome, SettleAttempt};

/// Milliseconds since the Unix epoch, the time unit of every stored timestamp.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}
