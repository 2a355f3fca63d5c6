//! Operator overrides of the service catalog.

use cps_domain::{Money, ServiceId, ServiceOverride};
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;

impl Store {
    /// Reads every stored override, by service id.
    pub async fn service_overrides(&self) -> Result<Vec<ServiceOverride>, StoreError> {
        let rows = sqlx::query(
            "SELECT service_id, min_amount_cents, max_amount_cents, enabled, can_get_balance
             FROM service_overrides ORDER BY service_id",
        )
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(override_from_row).collect())
    }

    /// Stores `change` as the whole override of its service, replacing any
    /// earlier one. Callers merge and check it against the catalog first.
    pub async fn put_service_override(&self, change: &ServiceOverride) -> Result<(), StoreError> {
        let _lock = self.lock_writes().await;
        sqlx::query(
            "INSERT INTO service_overrides
                 (service_id, min_amount_cents, max_amount_cents, enabled, can_get_balance, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (service_id) DO UPDATE SET
                 min_amount_cents = excluded.min_amount_cents,
                 max_amount_cents = excluded.max_amount_cents,
                 enabled = excluded.enabled,
                 can_get_balance = excluded.can_get_balance,
                 updated_at_ms = excluded.updated_at_ms",
        )
        .bind(change.service_id)
        .bind(change.min_amount.map(Money::cents))
        .bind(change.max_amount.map(Money::cents))
        .bind(change.enabled.map(i64::from))
        .bind(change.can_get_balance.map(i64::from))
        .bind(crate::now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Removes a service's override; returns whether there was one.
    pub async fn clear_service_override(&self, service_id: ServiceId) -> Result<bool, StoreError> {
        let _lock = self.lock_writes().await;
        let deleted = sqlx::query("DELETE FROM service_overrides WHERE service_id = $1")
            .bind(service_id)
            .execute(&self.writer)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }
}

fn override_from_row(row: &sqlx::any::AnyRow) -> ServiceOverride {
    let flag = |name: &str| row.get::<Option<i64>, _>(name).map(|value| value == 1);
    ServiceOverride {
        service_id: row.get("service_id"),
        min_amount: row.get::<Option<i64>, _>("min_amount_cents").map(Money::from_cents),
        max_amount: row.get::<Option<i64>, _>("max_amount_cents").map(Money::from_cents),
        enabled: flag("enabled"),
        can_get_balance: flag("can_get_balance"),
    }
}
