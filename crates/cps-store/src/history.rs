//! A client's view of its own operations: look-ups and the paged history.

use cps_domain::{ClientId, OperationId, OperationStatus, ServiceId};

use crate::database::Store;
use crate::error::StoreError;
use crate::operations::{operation_from_row, OperationRecord, OPERATION_COLUMNS};

/// A filter over a client's operations, listed newest first.
#[derive(Clone, Debug, Default)]
pub struct HistoryQuery {
    /// Created at or after this instant (Unix milliseconds).
    pub from_ms: Option<i64>,
    /// Created before this instant.
    pub to_ms: Option<i64>,
    pub status: Option<OperationStatus>,
    pub service_id: Option<ServiceId>,
    /// Only operations after this one in newest-first order: the last one of
    /// the previous page.
    pub after: Option<HistoryPosition>,
    pub limit: u32,
}

/// The sort key of a page's last operation. Creation time comes first, then
/// id, so the order is total and stable under inserts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPosition {
    pub created_at_ms: i64,
    pub id: String,
}

/// One page of history, and where the next one starts if there is more.
#[derive(Clone, Debug)]
pub struct HistoryPage {
    pub operations: Vec<OperationRecord>,
    pub next: Option<HistoryPosition>,
}

impl Store {
    /// Finds the client's operation with this id. Another client's operation
    /// is `None`.
    pub async fn find_client_operation(
        &self,
        client_id: &ClientId,
        operation_id: &OperationId,
    ) -> Result<Option<OperationRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE id = $1 AND client_id = $2"))
            .bind(operation_id.as_str())
            .bind(client_id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(operation_from_row).transpose()
    }

    /// Reads a page of the client's operations, newest first. Pages follow
    /// one another by keyset, never by offset, so an insert during paging
    /// neither repeats an operation nor skips one.
    pub async fn client_history(&self, client_id: &ClientId, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        let mut sql = format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE client_id = $1");
        let mut parameter = Placeholders { next: 2 };
        if query.from_ms.is_some() {
            sql.push_str(&format!(" AND created_at_ms >= {}", parameter.take()));
        }
        if query.to_ms.is_some() {
            sql.push_str(&format!(" AND created_at_ms < {}", parameter.take()));
        }
        if query.status.is_some() {
            sql.push_str(&format!(" AND status = {}", parameter.take()));
        }
        if query.service_id.is_some() {
            sql.push_str(&format!(" AND service_id = {}", parameter.take()));
        }
        if query.after.is_some() {
            let (before, same, id) = (parameter.take(), parameter.take(), parameter.take());
            sql.push_str(&format!(" AND (created_at_ms < {before} OR (created_at_ms = {same} AND id < {id}))"));
        }
        sql.push_str(&format!(" ORDER BY created_at_ms DESC, id DESC LIMIT {}", parameter.take()));

        let mut statement = sqlx::query(&sql).bind(client_id.as_str());
        if let Some(from_ms) = query.from_ms {
            statement = statement.bind(from_ms);
        }
        if let Some(to_ms) = query.to_ms {
            statement = statement.bind(to_ms);
        }
        if let Some(status) = query.status {
            statement = statement.bind(status.as_str());
        }
        if let Some(service_id) = query.service_id {
            statement = statement.bind(service_id);
        }
        if let Some(after) = &query.after {
            statement = statement.bind(after.created_at_ms).bind(after.created_at_ms).bind(after.id.clone());
        }
        // One row beyond the limit shows whether another page exists.
        let rows = statement.bind(i64::from(query.limit) + 1).fetch_all(&self.reader).await?;

        let mut operations: Vec<OperationRecord> = rows.iter().map(operation_from_row).collect::<Result<_, _>>()?;
        let more = operations.len() > query.limit as usize;
        operations.truncate(query.limit as usize);
        let next = match operations.last() {
            Some(last) if more => {
                Some(HistoryPosition { created_at_ms: last.created_at_ms, id: last.id.as_str().to_string() })
            }
            _ => None,
        };
        Ok(HistoryPage { operations, next })
    }
}

/// Numbers the `$n` parameters of a statement built piece by piece.
struct Placeholders {
    next: usize,
}

impl Placeholders {
    fn take(&mut self) -> String {
        self.next += 1;
        format!("${}", self.next - 1)
    }
}
