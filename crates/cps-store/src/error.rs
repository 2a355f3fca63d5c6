use cps_domain::Money;

/// A storage failure. Variants other than `Database` are outcomes a caller
/// acts on; `Database` carries the driver error for logs, never for responses.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no client has api-key {0}")]
    UnknownApiKey(String),
    #[error("the database URL {0:?} is not supported: use sqlite://PATH")]
    UnsupportedUrl(String),
    #[error("the credit would take the float past the maximum balance (float {balance})")]
    BalanceOverflow { balance: Money },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database write failed: {0}")]
    WriteFailed(String),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
}
