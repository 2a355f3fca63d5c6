//! The SQLite writer: one thread owns a native connection and commits the hot
//! writes of concurrent requests (nonce records, reservations,
//! finalizations) together, in one transaction and one fsync.
//!
//! With `synchronous=FULL` each commit waits for the disk, so a commit per
//! write caps a SQLite store at a few thousand writes per second. The writer
//! takes every job queued while the previous batch was committing, runs them
//! in one transaction, commits once, and only then hands each caller its
//! result. No caller hears of a write before it is durable. When a job fails,
//! the batch is rolled back and run again with each job in its own
//! savepoint, so the failure leaves the rest of the batch alone.
//!
//! The writer uses rusqlite, on the same SQLite library as sqlx, because a
//! statement through sqlx's SQLite worker costs tens of microseconds of
//! channel traffic, and the single writer's time bounds the payment rate.
//! Other writes (operator commands, settler claims) keep using sqlx and take
//! [`WriteLock`] first, so they wait in the process instead of in SQLite's
//! busy handler, which sleeps in steps of up to 100 ms.

use std::sync::mpsc;
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::StoreError;
use crate::sqlite_checkpointer::{Checkpointer, WRITER_AUTOCHECKPOINT_PAGES};

/// Jobs per transaction at most, so one batch cannot hold the write lock for
/// long.
const MAX_BATCH: usize = 256;

/// The lock every writer of this process takes before writing to SQLite.
pub(crate) type WriteLock = Arc<tokio::sync::Mutex<()>>;

/// A queued write with its caller's reply channel.
trait QueuedJob: Send {
    /// Runs the write, inside a savepoint of its own when `isolated`, and
    /// keeps its result. Returns false when the write failed.
    fn run(&mut self, connection: &Connection, isolated: bool) -> bool;

    /// Hands the caller the kept result once the commit succeeded, or the
    /// batch's error.
    fn finish(self: Box<Self>, batch: Result<(), String>);
}

struct PendingWrite<T, F> {
    write: F,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> QueuedJob for PendingWrite<T, F>
where
    T: Send,
    F: Fn(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, connection: &Connection, isolated: bool) -> bool {
        let result =
            if isolated { run_in_savepoint(connection, &self.write) } else { run_caught(connection, &self.write) };
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn finish(self: Box<Self>, batch: Result<(), String>) {
        let delivered = match (batch, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::WriteFailed("the write was never run".into())),
            (Err(error), _) => Err(StoreError::WriteFailed(error)),
        };
        let _ = self.reply.send(delivered);
    }
}

/// The handle requests use to queue writes.
#[derive(Clone, Debug)]
pub(crate) struct SqliteWriter {
    sender: mpsc::Sender<Box<dyn QueuedJob>>,
    _checkpointer: Checkpointer,
}

impl SqliteWriter {
    /// Opens the database file at `path` (already migrated) and starts the
    /// writer thread.
    pub fn start(path: &str, busy_timeout_ms: u64, lock: WriteLock) -> Result<SqliteWriter, StoreError> {
        let connection = Connection::open(path)?;
        connection.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES};"
        ))?;
        let checkpointer = Checkpointer::start(path, busy_timeout_ms)?;

        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("cps-sqlite-writer".into())
            .spawn(move || run_writer(connection, receiver, lock))
            .map_err(|error| StoreError::WriteFailed(format!("failed to start the SQLite writer: {error}")))?;
        Ok(SqliteWriter { sender, _checkpointer: checkpointer })
    }

    /// Runs `write` in the next shared transaction and returns its result
    /// once that transaction has committed. `write` may run twice: when
    /// another write of its batch fails, the batch is rolled back and run
    /// again with each write in its own savepoint.
    pub async fn write<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(PendingWrite { write, result: None, reply });

        self.sender.send(job).map_err(|_| StoreError::WriteFailed("the SQLite writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::WriteFailed("the SQLite writer stopped before returning a result".into()))?
    }
}

/// Runs a write, turning a panic into an error so the writer thread lives on.
fn run_caught<T>(
    connection: &Connection,
    write: &impl Fn(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(connection)))
        .unwrap_or_else(|_| Err(StoreError::WriteFailed("a write job panicked".into())))
}

/// Runs a write inside a savepoint, so its failure undoes only its own
/// writes.
fn run_in_savepoint<T>(
    connection: &Connection,
    write: &impl Fn(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    connection.prepare_cached("SAVEPOINT job")?.execute([])?;
    match run_caught(connection, write) {
        Ok(value) => {
            connection.prepare_cached("RELEASE job")?.execute([])?;
            Ok(value)
        }
        Err(error) => {
            connection.prepare_cached("ROLLBACK TO job")?.execute([])?;
            connection.prepare_cached("RELEASE job")?.execute([])?;
            Err(error)
        }
    }
}

fn run_writer(connection: Connection, receiver: mpsc::Receiver<Box<dyn QueuedJob>>, lock: WriteLock) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let _guard = lock.blocking_lock();
        run_batch(&connection, batch);
    }
}

/// Runs the batch's writes one after another in one transaction. Savepoints
/// cost a copy of every page a write touches, so they are kept for the rare
/// batch in which a write fails: that batch is rolled back and run again
/// with each write isolated.
fn run_batch(connection: &Connection, mut batch: Vec<Box<dyn QueuedJob>>) {
    let delivered = match run_in_transaction(connection, &mut batch, false) {
        Ok(false) => run_in_transaction(connection, &mut batch, true).map(|_| ()),
        other => other.map(|_| ()),
    };

    for job in batch {
        job.finish(delivered.clone());
    }
}

/// Runs every write of the batch and commits. Returns whether it committed:
/// without `isolated`, a failed write rolls the whole batch back and the
/// result is false. An `Err` means the transaction could not begin or commit.
fn run_in_transaction(
    connection: &Connection,
    batch: &mut [Box<dyn QueuedJob>],
    isolated: bool,
) -> Result<bool, String> {
    connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(|error| transaction_failure(batch.len(), format!("failed to begin a transaction: {error}")))?;

    let mut all_succeeded = true;
    for job in batch.iter_mut() {
        all_succeeded &= job.run(connection, isolated);
    }
    if !isolated && !all_succeeded {
        let _ = connection.execute_batch("ROLLBACK");
        return Ok(false);
    }

    if let Err(error) = connection.execute_batch("COMMIT") {
        let _ = connection.execute_batch("ROLLBACK");
        return Err(transaction_failure(batch.len(), format!("failed to commit: {error}")));
    }
    Ok(true)
}

fn transaction_failure(jobs: usize, error: String) -> String {
    tracing::error!(error = %error, jobs, "write batch failed");
    error
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::database::Store;
    use crate::error::StoreError;

    async fn store() -> (Store, tempfile::TempDir) {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(&url(&folder)).await.unwrap();
        (store, folder)
    }

    fn url(folder: &tempfile::TempDir) -> String {
        format!("sqlite://{}", folder.path().join("cps.db").display())
    }

    async fn nonce_count(store: &Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM request_nonces").fetch_one(&store.reader).await.unwrap()
    }

    /// Inserts a nonce row, then fails when `fail` is set, after its write.
    pub(crate) async fn write_job(store: &Store, index: i64, fail: bool) -> Result<i64, StoreError> {
        let writer = store.sqlite_writer.clone().expect("a SQLite store has a writer");
        writer
            .write(move |connection| {
                connection.execute(
                    "INSERT INTO request_nonces (api_key, nonce, signature, seen_at_ms) VALUES ('k', ?1, 's', 0)",
                    [index.to_string()],
                )?;
                if fail {
                    return Err(StoreError::WriteFailed(format!("job {index} fails on purpose")));
                }
                Ok(index)
            })
            .await
    }

    #[tokio::test]
    async fn failed_job_rolls_back_alone() {
        let (store, _folder) = store().await;

        let jobs = (0..50).map(|index| write_job(&store, index, index % 10 == 3));
        let results = futures_util::future::join_all(jobs).await;

        for (index, result) in results.iter().enumerate() {
            match result {
                Ok(value) => assert_eq!(*value, index as i64),
                Err(error) => assert!(index % 10 == 3, "job {index} failed: {error}"),
            }
        }
        assert_eq!(results.iter().filter(|result| result.is_err()).count(), 5);
        assert_eq!(nonce_count(&store).await, 45, "the failed jobs' inserts were rolled back");
    }

    #[tokio::test]
    async fn panicking_job_rolls_back_alone() {
        let (store, _folder) = store().await;
        let writer = store.sqlite_writer.clone().unwrap();

        let panicking = writer.write(|connection| -> Result<(), StoreError> {
            connection.execute(
                "INSERT INTO request_nonces (api_key, nonce, signature, seen_at_ms) VALUES ('k', 'p', 's', 0)",
                [],
            )?;
            panic!("job panics on purpose after its write");
        });
        let (panicked, after) = tokio::join!(panicking, write_job(&store, 7, false));

        assert!(panicked.is_err());
        assert_eq!(after.unwrap(), 7, "the writer still runs jobs");
        assert_eq!(nonce_count(&store).await, 1, "only the healthy job's row was committed");
    }

    #[tokio::test]
    async fn results_arrive_after_commit() {
        let (store, folder) = store().await;
        write_job(&store, 1, false).await.unwrap();

        // A fresh store on the same file reads the row, so it was committed.
        let other = Store::open(&url(&folder)).await.unwrap();
        assert_eq!(nonce_count(&other).await, 1);
    }
}
