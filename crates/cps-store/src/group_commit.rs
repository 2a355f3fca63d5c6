//! Group commit for SQLite: the writes of concurrent requests share one
//! transaction and one fsync.
//!
//! With `synchronous=FULL` each commit waits for the disk, so a commit per
//! write caps a SQLite store at a few thousand writes per second. Here one
//! task owns the writer connection. It takes every write job queued while the
//! previous batch was committing, runs them in one transaction, commits once,
//! and only then tells each caller its result. No caller hears "done" before
//! its write is durable.
//!
//! A job that fails (a database error, which the pay flow's own checks make
//! rare) rolls the whole transaction back; the writer reports that job's
//! error and runs the other jobs again in a new transaction. Jobs are
//! therefore `Fn`, not `FnOnce`. This costs less than a savepoint around
//! every job, which would add two statements to each write.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;

/// Jobs per transaction at most, so one batch cannot hold the write lock for
/// long.
const MAX_BATCH: usize = 256;

/// Jobs that may wait for the writer; a caller past this waits to enqueue.
const QUEUE_CAPACITY: usize = 4_096;

/// A write job's future, borrowing the writer connection.
pub(crate) type JobFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

type RunFuture<'c> = Pin<Box<dyn Future<Output = bool> + Send + 'c>>;

type RunJob = Box<dyn for<'c> Fn(&'c mut AnyConnection) -> RunFuture<'c> + Send + Sync>;

/// A queued write: `run` executes it and reports whether it failed; `finish`
/// then delivers its result, or the batch's commit error, to the caller.
struct Job {
    run: RunJob,
    finish: Box<dyn FnOnce(Result<(), String>) + Send + Sync>,
}

/// Runs a job and keeps its result in `slot` until the commit.
fn run_job<'c, T, F>(
    job: &F,
    slot: Arc<Mutex<Option<Result<T, StoreError>>>>,
    connection: &'c mut AnyConnection,
) -> RunFuture<'c>
where
    T: Send + 'static,
    F: for<'a> Fn(&'a mut AnyConnection) -> JobFuture<'a, T> + Send + Sync + 'static,
{
    let future = job(connection);
    Box::pin(async move {
        let result = future.await;
        let failed = result.is_err();
        *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(result);
        failed
    })
}

/// The handle requests use to queue writes.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    sender: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer task on `pool`, which must have one connection.
    pub fn start(pool: AnyPool) -> GroupCommit {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run_writer(pool, receiver));
        GroupCommit { sender }
    }

    /// Runs `job` in the next shared transaction and returns its result once
    /// that transaction has committed.
    pub async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut AnyConnection) -> JobFuture<'c, T> + Send + Sync + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        // The result waits here between the job's run and the commit.
        let result_slot: Arc<Mutex<Option<Result<T, StoreError>>>> = Arc::default();

        let run_slot = result_slot.clone();
        let run: RunJob = Box::new(move |connection| run_job(&job, run_slot.clone(), connection));
        let finish = Box::new(move |commit: Result<(), String>| {
            let result = result_slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            let delivered = match (commit, result) {
                (Ok(()), Some(result)) => result,
                (Ok(()), None) => Err(StoreError::WriteFailed("the write job did not run".into())),
                (Err(error), _) => Err(StoreError::WriteFailed(error)),
            };
            let _ = reply.send(delivered);
        });

        self.sender
            .send(Job { run, finish })
            .await
            .map_err(|_| StoreError::WriteFailed("the database writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::WriteFailed("the database writer stopped before answering".into()))?
    }
}

async fn run_writer(pool: AnyPool, mut receiver: mpsc::Receiver<Job>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&pool, batch).await;
    }
}

async fn run_batch(pool: &AnyPool, mut batch: Vec<Job>) {
    let mut connection = match pool.acquire().await {
        Ok(connection) => connection,
        Err(error) => return fail_all(batch, &format!("failed to get the writer connection: {error}")),
    };

    while !batch.is_empty() {
        if let Err(error) = connection.execute("BEGIN IMMEDIATE").await {
            return fail_all(batch, &format!("failed to begin a transaction: {error}"));
        }

        let mut failed_job = None;
        for (index, job) in batch.iter().enumerate() {
            if (job.run)(&mut connection).await {
                failed_job = Some(index);
                break;
            }
        }

        // A failed job takes the transaction down with it: report its error
        // and run the others again.
        if let Some(index) = failed_job {
            let _ = connection.execute("ROLLBACK").await;
            let job = batch.remove(index);
            (job.finish)(Ok(()));
            continue;
        }

        let commit =
            connection.execute("COMMIT").await.map(|_| ()).map_err(|error| format!("failed to commit: {error}"));
        if let Err(error) = &commit {
            tracing::error!(error = %error, jobs = batch.len(), "group commit failed");
            let _ = connection.execute("ROLLBACK").await;
        }
        for job in batch.drain(..) {
            (job.finish)(commit.clone());
        }
    }
}

fn fail_all(batch: Vec<Job>, error: &str) {
    tracing::error!(error, jobs = batch.len(), "write batch failed");
    for job in batch {
        (job.finish)(Err(error.to_string()));
    }
}

#[cfg(test)]
mod tests {
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
    async fn write_job(store: &Store, index: i64, fail: bool) -> Result<i64, StoreError> {
        store
            .write(move |connection| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO request_nonces (api_key, nonce, signature, seen_at_ms) VALUES ('k', $1, 's', 0)",
                    )
                    .bind(index.to_string())
                    .execute(&mut *connection)
                    .await?;
                    if fail {
                        return Err(StoreError::WriteFailed(format!("job {index} fails on purpose")));
                    }
                    Ok(index)
                })
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
    async fn results_arrive_after_commit() {
        let (store, folder) = store().await;
        write_job(&store, 1, false).await.unwrap();

        // A fresh store on the same file sees the row, so it was committed.
        let other = Store::open(&url(&folder)).await.unwrap();
        assert_eq!(nonce_count(&other).await, 1);
    }
}
