//! Schema migrations, one folder per database, embedded in the binary and
//! applied in order at start-up.
//!
//! Each migration runs in its own transaction together with the row that
//! records it, so a crash leaves it either applied and recorded or neither.
//! On PostgreSQL an advisory lock makes instances that start together apply
//! each migration once.

use sqlx::AnyPool;

use crate::database::Backend;
use crate::error::StoreError;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("../migrations/sqlite/0001_initial.sql") },
    Migration { version: 2, name: "settlement", sql: include_str!("../migrations/sqlite/0002_settlement.sql") },
    Migration {
        version: 3,
        name: "payable per client",
        sql: include_str!("../migrations/sqlite/0003_payable_per_client.sql"),
    },
    Migration { version: 4, name: "operator tools", sql: include_str!("../migrations/sqlite/0004_operator_tools.sql") },
];

const POSTGRES_MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("../migrations/postgres/0001_initial.sql") },
    Migration { version: 2, name: "settlement", sql: include_str!("../migrations/postgres/0002_settlement.sql") },
    Migration {
        version: 3,
        name: "payable per client",
        sql: include_str!("../migrations/postgres/0003_payable_per_client.sql"),
    },
    Migration {
        version: 4,
        name: "operator tools",
        sql: include_str!("../migrations/postgres/0004_operator_tools.sql"),
    },
    Migration {
        version: 5,
        name: "hot write functions",
        sql: include_str!("../migrations/postgres/0005_hot_write_functions.sql"),
    },
];

/// The key of the PostgreSQL advisory lock held while migrating.
const MIGRATION_LOCK_KEY: i64 = 0x4350_5300_0001;

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let migrations = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    for migration in migrations {
        apply(pool, backend, migration).await?;
    }
    Ok(())
}

async fn apply(pool: &AnyPool, backend: Backend, migration: &Migration) -> Result<(), StoreError> {
    let failed = |source| StoreError::Migration { version: migration.version, source };

    let mut transaction = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)?,
        Backend::Postgres => pool.begin().await.map_err(failed)?,
    };
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *transaction)
            .await
            .map_err(failed)?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS cps_migrations (
             version       BIGINT PRIMARY KEY,
             name          TEXT NOT NULL,
             applied_at_ms BIGINT NOT NULL
         )",
    )
    .execute(&mut *transaction)
    .await
    .map_err(failed)?;

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
