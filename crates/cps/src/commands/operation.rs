//! `cps operation pending`: the operations still waiting for their biller's
//! outcome, with the settler's attempts and last error.

use std::process::ExitCode;

use cps_domain::OperationStatus;
use cps_i18n::{message, Lang};
use serde_json::json;

use crate::cli::OperationCommand;
use crate::output::{print_line, say};

pub async fn run(command: OperationCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    let OperationCommand::Pending { json, database } = command;
    let store = super::open_existing_store(&database, lang).await?;
    let pending: Vec<_> = store
        .all_operations()
        .await?
        .into_iter()
        .filter(|operation| operation.status == OperationStatus::Pending)
        .collect();

    if json {
        let document: Vec<_> = pending
            .iter()
            .map(|operation| {
                json!({
                    "id": operation.id.as_str(),
                    "clientId": operation.client_id.as_str(),
                    "reference": operation.reference,
                    "idTypeService": operation.service_id,
                    "amount": operation.amount,
                    "createdAtMs": operation.created_at_ms,
                    "settleAttempts": operation.settle_attempts,
                    "lastSettleError": operation.last_settle_error,
                    "needsOperator": operation.needs_operator,
                })
            })
            .collect();
        print_line(&format!("{:#}", serde_json::Value::Array(document)));
        return Ok(ExitCode::SUCCESS);
    }

    if pending.is_empty() {
        say(lang, "cli-operation-none-pending", &[]);
        return Ok(ExitCode::SUCCESS);
    }
    let column = |key: &str| message(lang, key, &[]);
    print_line(&format!(
        "{:<29}  {:>7}  {:>12}  {:>8}  {:<16}  {}",
        column("cli-column-id"),
        column("cli-column-service"),
        column("cli-column-amount"),
        column("cli-column-attempts"),
        column("cli-column-state"),
        column("cli-column-last-error"),
    ));
    for operation in pending {
        let state = message(
            lang,
            if operation.needs_operator { "cli-operation-needs-operator" } else { "cli-operation-settling" },
            &[],
        );
        let error = operation.last_settle_error.unwrap_or_default();
        let (id, amount) = (operation.id.to_string(), operation.amount.to_string());
        print_line(&format!(
            "{id:<29}  {:>7}  {amount:>12}  {:>8}  {state:<16}  {error}",
            operation.service_id, operation.settle_attempts
        ));
    }
    Ok(ExitCode::SUCCESS)
}
