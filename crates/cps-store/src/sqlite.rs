//! The SQLite store: one writer connection and a pool of readers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::error::StoreError;
use crate::migrate;

/// How long a statement waits for another process's write lock (for example
/// `cps client credit` while `cps serve` runs) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Readers run in parallel in WAL mode; 4 covers the API's read paths.
const MAX_READ_CONNECTIONS: u32 = 4;

/// How long a request waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The database of one CPS deployment.
///
/// SQLite allows one writer at a time. Routing every write through a single
/// connection queues writers inside the process instead of letting them fail
/// with `SQLITE_BUSY`, and write transactions start with `BEGIN IMMEDIATE` so a
/// read inside one can never be invalidated by another process's commit.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `url`, such as
    /// `sqlite://cps.db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        migrate::run(&writer).await?;

        let reader = SqlitePoolOptions::new()
            .max_connections(MAX_READ_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.read_only(true))
            .await?;

        Ok(Store { writer, reader })
    }

    /// Starts a write transaction that holds SQLite's write lock from its first
    /// statement.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Checks that the database answers, for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// Waits for in-flight statements and closes every connection.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
