//! Totals of operations over a period, for monthly statements.

use cps_domain::{ClientId, Money, ServiceId};
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;

/// The count and amount of operations of one service in one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceTotal {
    pub service_id: ServiceId,
    pub status: String,
    pub count: i64,
    pub amount: Money,
}

impl Store {
    /// Totals per service and current status of the operations created in
    /// `[from_ms, to_ms)`, of one client or of all.
    pub async fn totals_by_service(
        &self,
        from_ms: i64,
        to_ms: i64,
        client_id: Option<&ClientId>,
    ) -> Result<Vec<ServiceTotal>, StoreError> {
        let client = client_id.map(|id| id.as_str().to_string());
        // PostgreSQL sums BIGINT as NUMERIC; the cast brings it back to i64.
        let rows = sqlx::query(
            "SELECT service_id, status, COUNT(*) AS operations, CAST(SUM(amount_cents) AS BIGINT) AS amount_cents
             FROM operations
             WHERE created_at_ms >= $1 AND created_at_ms < $2 AND (CAST($3 AS TEXT) IS NULL OR client_id = $4)
             GROUP BY service_id, status
             ORDER BY service_id, status",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(client.clone())
        .bind(client)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .iter()
            .map(|row| ServiceTotal {
                service_id: row.get("service_id"),
                status: row.get("status"),
                count: row.get("operations"),
                amount: Money::from_cents(row.get("amount_cents")),
            })
            .collect())
    }
}
