//! The connection pools of one CPS database, SQLite or PostgreSQL.
//!
//! Queries go through sqlx's `Any` driver, so one set of SQL serves both
//! databases. The few places where they differ (write locks, row locks)
//! branch on [`Backend`].

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;

use crate::error::StoreError;
use crate::group_commit::{GroupCommit, JobFuture};
use crate::migrate;

/// How long a SQLite statement waits for another process's write lock (for
/// example `cps client credit` while `cps serve` runs) before failing.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 5_000;

/// SQLite readers run in parallel in WAL mode; 4 covers the API's read paths.
const SQLITE_READ_CONNECTIONS: u32 = 4;

/// How long a request waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL statement running longer than this is cancelled, so a stuck
/// query cannot hold row locks forever.
const POSTGRES_STATEMENT_TIMEOUT_MS: u64 = 30_000;

/// The database engine behind a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pool limits of a store.
#[derive(Clone, Copy, Debug)]
pub struct PoolConfig {
    /// Connections to PostgreSQL per CPS instance. SQLite always uses one
    /// writer and a few readers.
    pub max_connections: u32,
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig { max_connections: 16 }
    }
}

/// The database of one CPS deployment.
///
/// SQLite allows one writer at a time. Routing every write through a single
/// connection queues writers inside the process instead of letting them fail
/// with `SQLITE_BUSY`, and write transactions start with `BEGIN IMMEDIATE` so a
/// read inside one can never be invalidated by another process's commit.
/// PostgreSQL uses one pool, and transactions lock the rows they change.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) writer: AnyPool,
    pub(crate) reader: AnyPool,
    pub(crate) backend: Backend,
    /// The shared-transaction writer of hot writes, on SQLite only.
    group_commit: Option<GroupCommit>,
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `url`:
    /// `sqlite://cps.db` or `postgres://user@host/database`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, PoolConfig::default()).await
    }

    pub async fn open_with(url: &str, config: PoolConfig) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            open_sqlite(url).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            open_postgres(url, config).await
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. On SQLite it holds the write lock from
    /// its first statement.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let transaction = match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        };
        Ok(transaction)
    }

    /// Runs a hot write (nonce record, reservation, finalization) in a
    /// transaction and returns its result once committed. On SQLite the writes
    /// of concurrent callers share one transaction (see `group_commit`); on
    /// PostgreSQL each runs in its own.
    pub(crate) async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut sqlx::AnyConnection) -> JobFuture<'c, T> + Send + Sync + 'static,
    {
        if let Some(group_commit) = &self.group_commit {
            return group_commit.write(job).await;
        }
        let mut transaction = self.writer.begin().await?;
        let value = job(&mut transaction).await?;
        transaction.commit().await?;
        Ok(value)
    }

    /// The clause that locks selected rows until the transaction ends:
    /// `FOR UPDATE` on PostgreSQL. SQLite needs none, because a write
    /// transaction already excludes every other writer.
    pub(crate) fn lock_rows(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// The clause that locks selected rows and skips rows another transaction
    /// holds, for claiming work: `FOR UPDATE SKIP LOCKED` on PostgreSQL.
    /// SQLite needs none, for the same reason as [`Store::lock_rows`].
    pub(crate) fn skip_locked_rows(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
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

/// SQLite in WAL mode with `synchronous=FULL`, so a committed payment
/// survives a power cut.
async fn open_sqlite(url: &str) -> Result<Store, StoreError> {
    let pragmas =
        format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;");

    let writer_pragmas = format!("PRAGMA journal_mode = WAL; {pragmas}");
    let writer = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |connection, _| {
            let pragmas = writer_pragmas.clone();
            Box::pin(async move {
                connection.execute(pragmas.as_str()).await?;
                Ok(())
            })
        })
        .connect(&with_sqlite_mode(url, "rwc"))
        .await?;
    migrate::run(&writer, Backend::Sqlite).await?;

    let reader = AnyPoolOptions::new()
        .max_connections(SQLITE_READ_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |connection, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                connection.execute(pragmas.as_str()).await?;
                Ok(())
            })
        })
        .connect(&with_sqlite_mode(url, "ro"))
        .await?;

    let group_commit = Some(GroupCommit::start(writer.clone()));
    Ok(Store { writer, reader, backend: Backend::Sqlite, group_commit })
}

/// Adds `mode=` to a SQLite URL unless it already has one.
fn with_sqlite_mode(url: &str, mode: &str) -> String {
    if url.contains("mode=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode={mode}")
}

async fn open_postgres(url: &str, config: PoolConfig) -> Result<Store, StoreError> {
    let pool = AnyPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection.execute(format!("SET statement_timeout = {POSTGRES_STATEMENT_TIMEOUT_MS}").as_str()).await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    migrate::run(&pool, Backend::Postgres).await?;
    Ok(Store { writer: pool.clone(), reader: pool, backend: Backend::Postgres, group_commit: None })
}
