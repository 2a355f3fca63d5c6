//! `cps operation`: the operations still waiting for their biller's outcome,
//! one operation with its history and webhooks, and refunds.

use std::process::ExitCode;

use cps_domain::{format_ms, OperationId, OperationStatus};
use cps_i18n::{message, Lang};
use cps_store::{DeliveryFilter, RefundOutcome};
use serde_json::json;

use crate::cli::{DatabaseArgs, OperationCommand};
use crate::output::{print_line, say};

pub async fn run(command: OperationCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    match command {
        OperationCommand::Pending { json, database } => pending(json, &database, lang).await,
        OperationCommand::Show { id, json, database } => {
            show(&OperationId::from_stored(id), json, &database, lang).await
        }
        OperationCommand::Refund { id, reason, database } => {
            refund(&OperationId::from_stored(id), &reason, &database, lang).await
        }
    }
}

/// Lists the operations still waiting for their biller's outcome, with the
/// settler's attempts and last error.
async fn pending(json: bool, database: &DatabaseArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let store = super::open_existing_store(database, lang).await?;
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

/// Prints one operation as an operator needs it: every stored field, its
/// events, and its webhook deliveries with their attempts.
async fn show(id: &OperationId, json: bool, database: &DatabaseArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let store = super::open_existing_store(database, lang).await?;
    let Some(operation) = store.find_operation(id).await? else {
        say(lang, "cli-operation-not-found", &[("id", id.as_str().into())]);
        return Ok(ExitCode::FAILURE);
    };
    let events = store.operation_events(id).await?;
    let webhooks = DeliveryFilter { operation_id: Some(id.clone()), limit: 100, ..DeliveryFilter::default() };

    let fields = json!({
        "id": operation.id.as_str(),
        "clientId": operation.client_id.as_str(),
        "reference": operation.reference,
        "status": operation.status.as_str(),
        "idTypeService": operation.service_id,
        "numberService": operation.number.as_str(),
        "amount": operation.amount,
        "providerReference": operation.provider_reference,
        "rejectReason": operation.reject_reason,
        "createdAt": format_ms(operation.created_at_ms),
        "completedAt": operation.completed_at_ms.map(format_ms),
        "refundedAt": operation.refunded_at_ms.map(format_ms),
        "refundReason": operation.refund_reason,
        "settleAttempts": operation.settle_attempts,
        "lastSettleError": operation.last_settle_error,
        "needsOperator": operation.needs_operator,
    });
    let event_documents: Vec<_> = events
        .iter()
        .map(|(status, cause, at_ms)| json!({"at": format_ms(*at_ms), "status": status, "cause": cause}))
        .collect();

    if json {
        let mut document = fields;
        document["events"] = serde_json::Value::Array(event_documents);
        let deliveries = store.webhook_deliveries(&webhooks).await?;
        document["webhooks"] = json!(deliveries
            .iter()
            .map(|delivery| json!({"id": delivery.id, "event": delivery.event.as_str(), "status": delivery.status, "attempts": delivery.attempts, "lastError": delivery.last_error}))
            .collect::<Vec<_>>());
        print_line(&format!("{document:#}"));
        return Ok(ExitCode::SUCCESS);
    }

    if let serde_json::Value::Object(fields) = &fields {
        for (name, value) in fields {
            let shown = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            print_line(&format!("{name:<18} {shown}"));
        }
    }
    print_line("");
    say(lang, "cli-operation-events", &[]);
    for (status, cause, at_ms) in &events {
        print_line(&format!("  {}  {status:<9} {cause}", format_ms(*at_ms)));
    }
    print_line("");
    say(lang, "cli-operation-webhooks", &[]);
    super::webhook::list(&store, &webhooks, false, lang).await
}

async fn refund(id: &OperationId, reason: &str, database: &DatabaseArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    if reason.trim().is_empty() {
        say(lang, "cli-operation-refund-reason-missing", &[]);
        return Ok(ExitCode::from(2));
    }
    let store = super::open_existing_store(database, lang).await?;
    match store.refund(id, reason.trim()).await? {
        RefundOutcome::Refunded { operation, float } => {
            say(
                lang,
                "cli-operation-refunded",
                &[
                    ("id", operation.id.as_str().into()),
                    ("amount", operation.amount.to_string().into()),
                    ("float", float.to_string().into()),
                ],
            );
            Ok(ExitCode::SUCCESS)
        }
        RefundOutcome::NotApproved(operation) => {
            say(
                lang,
                "cli-operation-not-refundable",
                &[("id", operation.id.as_str().into()), ("status", operation.status.as_str().into())],
            );
            Ok(ExitCode::FAILURE)
        }
        RefundOutcome::NotFound => {
            say(lang, "cli-operation-not-found", &[("id", id.as_str().into())]);
            Ok(ExitCode::FAILURE)
        }
    }
}
