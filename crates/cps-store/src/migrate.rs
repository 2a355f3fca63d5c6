//! Schema migrations, embedded in the binary and applied in order at start-up.
//!
//! Each migration runs in its own transaction together with the row that
//! records it, so a crash leaves it either applied and recorded or neither.

use sqlx::SqlitePool;

use crate::error::StoreError;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "settlement",
        sql: include_str!("../migrations/sqlite/0002_settlement.sql"),
    },
];

pub(crate) async fn run(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS cps_migrations (
             version       INTEGER PRIMARY KEY,
             name          TEXT NOT NULL,
             applied_at_ms INTEGER NOT NULL
         )",
    )
    .execute(pool)
    .await?;

    for migration in SQLITE_MIGRATIONS {
        apply(pool, migration).await?;
    }
    Ok(())
}

async fn apply(pool: &SqlitePool, migration: &Migration) -> Result<(), StoreError> {
    let failed = |source| StoreError::Migration { version: migration.version, source };

    let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)?;
    let applied: Option<i64> = sqlx::query_scalar("SELECT version FROM cps_migrations WHERE version = $1")
        .bind(migration.version)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(failed)?;
    if applied.is_some() {
        return Ok(());
    }

    sqlx::raw_sql(migration.sql).execute(&mut *transaction).await.map_err(failed)?;
    sqlx::query("INSERT INTO cps_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)")
        .bind(migration.version)
        .bind(migration.name)
        .bind(crate::now_ms())
        .execute(&mut *transaction)
        .await
        .map_err(failed)?;
    transaction.commit().await.map_err(failed)?;

    tracing::info!(version = migration.version, name = migration.name, "applied database migration");
    Ok(())
}
