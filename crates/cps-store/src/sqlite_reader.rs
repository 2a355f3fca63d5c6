//! Native SQLite reads for the look-up every request makes: its client, by
//! api-key.
//!
//! Through sqlx each read is a message to a worker thread and a wake-up on
//! the way back. Under load those thread switches cost more than the query.
//! Here the calling task runs the query itself on one of a few rusqlite
//! connections. An indexed read of one row from the page cache takes
//! microseconds, and in WAL mode a reader does not wait for the writer. The
//! runtime thread is therefore busy about as long as with a mutex-guarded map.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;

/// Read connections: one per runtime thread on a small machine, plus spares
/// for a task that still has one while another thread reads.
const CONNECTIONS: usize = 4;

/// A few read-only connections to one SQLite file.
#[derive(Clone)]
pub(crate) struct SqliteReader {
    connections: Arc<[Mutex<Connection>]>,
    next: Arc<AtomicUsize>,
}

impl std::fmt::Debug for SqliteReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReader").field("connections", &self.connections.len()).finish()
    }
}

impl SqliteReader {
    /// Opens the connections to the (already migrated) file at `path`.
    pub fn open(path: &str, busy_timeout_ms: u64) -> Result<SqliteReader, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connections = (0..CONNECTIONS)
            .map(|_| {
                let connection = Connection::open_with_flags(path, flags)?;
                connection.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms))?;
                Ok(Mutex::new(connection))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SqliteReader { connections: connections.into(), next: Arc::default() })
    }

    /// Runs `query` on a free connection, or waits for one.
    pub fn read<T>(&self, query: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let connection = self.free_connection();
        Ok(query(&connection)?)
    }

    fn free_connection(&self) -> MutexGuard<'_, Connection> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.connections.len();
        for offset in 0..count {
            if let Ok(connection) = self.connections[(start + offset) % count].try_lock() {
                return connection;
            }
        }
        // A read that panicked leaves its connection usable: rusqlite resets
        // statements when they drop.
        self.connections[start % count].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
