//! WAL checkpoints for SQLite, on a thread of their own.
//!
//! By default SQLite checkpoints inside the commit that grows the WAL past
//! 1,000 pages. Under load that commit is the writer's: it copies the pages
//! into the database file and waits for that file's fsync, and every queued
//! payment waits with it. This thread runs passive checkpoints instead. They
//! do not wait for readers or the writer, so most pages reach the database
//! file outside the writer's commits.
//!
//! A passive checkpoint cannot finish while the writer keeps appending, so
//! the WAL does not restart under sustained load. It grows until the writer's
//! own threshold, and the writer then checkpoints itself, with most pages
//! already copied.

use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::StoreError;

/// How often the thread copies new WAL pages into the database file.
const INTERVAL: Duration = Duration::from_millis(100);

/// The writer's own checkpoint threshold, in pages (about 78 MiB at 4 KiB a
/// page). A 30-second load run grew the WAL to this size.
// NOTE: only 20,000 and 40,000 pages were measured. A lower value keeps the WAL
// smaller at the cost of more checkpoints inside the writer's commits.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 20_000;

/// Keeps the checkpoint thread running; the thread ends once every clone of
/// this handle is dropped.
#[derive(Clone, Debug)]
pub(crate) struct Checkpointer {
    _alive: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Opens its own connection to the database file at `path` and starts
    /// the thread.
    pub fn start(path: &str, busy_timeout_ms: u64) -> Result<Checkpointer, StoreError> {
        let connection = Connection::open(path)?;
        connection.execute_batch(&format!("PRAGMA synchronous = FULL; PRAGMA busy_timeout = {busy_timeout_ms};"))?;

        let (alive, stopped) = mpsc::channel();
        std::thread::Builder::new()
            .name("cps-sqlite-checkpoint".into())
            .spawn(move || run(connection, stopped))
            .map_err(|error| StoreError::WriteFailed(format!("failed to start the SQLite checkpointer: {error}")))?;
        Ok(Checkpointer { _alive: alive })
    }
}

fn run(connection: Connection, stopped: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        // A failed checkpoint loses nothing: the pages stay in the WAL and
        // the next round, or the writer's backstop, copies them.
        if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %error, "SQLite checkpoint failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::database::Store;

    /// Counts the nonce rows in the database file alone: `immutable=1` makes
    /// SQLite ignore the WAL, so only checkpointed rows count.
    fn rows_in_database_file(path: &std::path::Path) -> Option<i64> {
        let uri = format!("file:{}?immutable=1", path.display());
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let connection = rusqlite::Connection::open_with_flags(uri, flags).ok()?;
        connection.query_row("SELECT COUNT(*) FROM request_nonces", [], |row| row.get(0)).ok()
    }

    #[tokio::test]
    async fn checkpoint_thread_copies_committed_pages() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("cps.db");
        let store = Store::open(&format!("sqlite://{}", path.display())).await.unwrap();
        for index in 0..200 {
            crate::sqlite_writer::tests::write_job(&store, index, false).await.unwrap();
        }

        // 200 commits stay far below the writer's own threshold, so only the
        // checkpoint thread can copy them into the database file. A read of
        // the file can race a checkpoint; it is retried.
        let deadline = Instant::now() + Duration::from_secs(10);
        while rows_in_database_file(&path) != Some(200) {
            assert!(Instant::now() < deadline, "the rows never reached the database file");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
