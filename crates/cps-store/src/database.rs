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
use crate::migrate;
use crate::sqlite_reader::SqliteReader;
use crate::sqlite_writer::{SqliteWriter, WriteLock};

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
    pub(crate) sqlite_writer: Option<SqliteWriter>,
    /// Native connections for the per-request client look-up, on SQLite only.
    pub(crate) sqlite_reader: Option<SqliteReader>,
    /// Taken by every SQLite write of this process, so writers queue here
    /// rather than in SQLite's busy handler. PostgreSQL locks rows instead.
    write_lock: Option<WriteLock>,
}

/// A write transaction that holds the process's SQLite write lock, if any,
/// until it ends. It dereferences to its connection.
pub(crate) struct WriteTransaction {
    transaction: sqlx::Transaction<'static, sqlx::Any>,
    _lock: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTransaction {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.transaction.commit().await
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.transaction
    }
}

impl std::ops::DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.transaction
    }
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

    /// Starts a write transaction. On SQLite it holds the process's write
    /// lock and SQLite's from its first statement.
    pub(crate) async fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        let lock = self.lock_writes().await;
        let transaction = match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        };
        Ok(WriteTransaction { transaction, _lock: lock })
    }

    /// Takes the process's SQLite write lock, for a single write statement
    /// outside [`Store::begin_write`]. On PostgreSQL there is none.
    pub(crate) async fn lock_writes(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
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

    /// Returns the clause that locks selected rows and skips rows another
    /// transaction has locked, for claiming work: `FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL. SQLite needs none, for the same reason as
    /// [`Store::lock_rows`].
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

    // Checkpoints run on their own thread (see `sqlite_checkpointer`), so the
    // threshold here is only a backstop.
    let writer_pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = {}; {pragmas}",
        crate::sqlite_checkpointer::WRITER_AUTOCHECKPOINT_PAGES
    );
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

    let write_lock = WriteLock::default();
    let path = sqlite_file(url).ok_or_else(|| StoreError::UnsupportedUrl(url.to_string()))?;
    let sqlite_writer = SqliteWriter::start(&path, SQLITE_BUSY_TIMEOUT_MS, write_lock.clone())?;
    let sqlite_reader = SqliteReader::open(&path, SQLITE_BUSY_TIMEOUT_MS)?;
    Ok(Store {
        writer,
        reader,
        backend: Backend::Sqlite,
        sqlite_writer: Some(sqlite_writer),
        sqlite_reader: Some(sqlite_reader),
        write_lock: Some(write_lock),
    })
}

/// Returns the file of a `sqlite://PATH` or `sqlite:PATH` URL, without
/// parameters. An in-memory database has none, and the writer needs a file it
/// can share.
fn sqlite_file(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.to_string())
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
    Ok(Store {
        writer: pool.clone(),
        reader: pool,
        backend: Backend::Postgres,
        sqlite_writer: None,
        sqlite_reader: None,
        write_lock: None,
    })
}
