//! Fresh databases for tests, so one test suite runs on both backends.
//!
//! `CPS_TEST_DATABASE=postgres` makes every test use a new PostgreSQL
//! database on the server at `CPS_TEST_POSTGRES_URL` (an administrator URL
//! such as `postgres://postgres@localhost/postgres?host=/tmp/cluster`);
//! otherwise each test gets a new SQLite file. `scripts/test` runs the suite
//! both ways against a throw-away PostgreSQL cluster.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

use crate::database::Backend;

/// The backend the tests run on, from `CPS_TEST_DATABASE`.
pub fn backend_under_test() -> Backend {
    match std::env::var("CPS_TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("CPS_TEST_DATABASE={other:?} is not a backend: use sqlite or postgres"),
    }
}

/// The administrator URL of the test PostgreSQL server. Panics with the fix
/// when it is missing, so a PostgreSQL test never passes by skipping.
pub fn postgres_admin_url() -> String {
    std::env::var("CPS_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "CPS_TEST_POSTGRES_URL is not set: run the suite with scripts/test, which starts a throw-away PostgreSQL"
        )
    })
}

/// Creates an empty database for one test and returns its URL: a file in
/// `folder` for SQLite, a new database on the test server for PostgreSQL.
pub async fn fresh_database_url(folder: &Path) -> String {
    match backend_under_test() {
        Backend::Sqlite => format!("sqlite://{}", folder.join("cps.db").display()),
        Backend::Postgres => fresh_postgres_database().await,
    }
}

/// The same as [`fresh_database_url`], for tests without an async runtime or
/// inside one (it runs on its own thread).
pub fn fresh_database_url_blocking(folder: &Path) -> String {
    let folder = folder.to_path_buf();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("test runtime");
        runtime.block_on(fresh_database_url(&folder))
    })
    .join()
    .expect("database creation thread")
}

/// Creates a new database on the test server and returns its URL.
pub async fn fresh_postgres_database() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    sqlx::any::install_default_drivers();
    let admin_url = postgres_admin_url();
    let name =
        format!("cps_test_{}_{}_{}", std::process::id(), crate::now_ms(), COUNTER.fetch_add(1, Ordering::SeqCst));
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("failed to connect to the test PostgreSQL at {admin_url}: {error}"));
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("failed to create test database {name}: {error}"));
    let _ = admin.close().await;

    with_database(&admin_url, &name)
}

/// Replaces the database name of a PostgreSQL URL, keeping its parameters.
fn with_database(url: &str, database: &str) -> String {
    let (base, parameters) = match url.split_once('?') {
        Some((base, parameters)) => (base, Some(parameters)),
        None => (url, None),
    };
    let server = match base.rsplit_once('/') {
        Some((server, _old_database)) if server.contains("://") && server.len() > server.find("://").unwrap() + 2 => {
            server
        }
        _ => base.trim_end_matches('/'),
    };
    match parameters {
        Some(parameters) => format!("{server}/{database}?{parameters}"),
        None => format!("{server}/{database}"),
    }
}

/// Moves an operation's creation time, so a test can place it at a month's
/// edge. Only tests change history.
pub async fn backdate_operation(
    store: &crate::Store,
    operation_id: &cps_domain::OperationId,
    created_at_ms: i64,
) -> Result<(), crate::StoreError> {
    let _lock = store.lock_writes().await;
    sqlx::query("UPDATE operations SET created_at_ms = $1 WHERE id = $2")
        .bind(created_at_ms)
        .bind(operation_id.as_str())
        .execute(&store.writer)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@localhost/postgres?host=/tmp/x", "cps_test_1"),
            "postgres://postgres@localhost/cps_test_1?host=/tmp/x"
        );
        assert_eq!(with_database("postgres://u@h:5432/db", "other"), "postgres://u@h:5432/other");
    }
}
