//! `cps webhook`: the delivery log, and a new round of attempts for a
//! delivery that gave up.

use std::process::ExitCode;

use cps_domain::format_ms;
use cps_i18n::{message, Lang};
use cps_store::{DeliveryFilter, Store};
use serde_json::json;

use crate::cli::WebhookCommand;
use crate::output::{print_line, say};

/// Statuses a delivery can have.
const STATUSES: [&str; 3] = ["pending", "delivered", "failed"];

pub async fn run(command: WebhookCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    match command {
        WebhookCommand::List { client, status, limit, json, database } => {
            if let Some(status) = status.as_deref().filter(|status| !STATUSES.contains(status)) {
                say(lang, "cli-webhook-invalid-status", &[("status", status.into())]);
                return Ok(ExitCode::from(2));
            }
            let store = super::open_existing_store(&database, lang).await?;
            let client_id = match client {
                None => None,
                Some(api_key) => match store.find_client_by_api_key(&api_key).await? {
                    Some(client) => Some(client.id),
                    None => {
                        say(lang, "cli-unknown-api-key", &[("apiKey", api_key.as_str().into())]);
                        return Ok(ExitCode::FAILURE);
                    }
                },
            };
            let filter = DeliveryFilter { client_id, operation_id: None, status, limit: limit.clamp(1, 10_000) };
            list(&store, &filter, json, lang).await
        }
        WebhookCommand::Retry { delivery_id, database } => {
            let store = super::open_existing_store(&database, lang).await?;
            if store.retry_webhook(&delivery_id).await? {
                say(lang, "cli-webhook-requeued", &[("id", delivery_id.as_str().into())]);
                Ok(ExitCode::SUCCESS)
            } else {
                say(lang, "cli-webhook-not-failed", &[("id", delivery_id.as_str().into())]);
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// Prints deliveries with each one's attempts under it.
pub(super) async fn list(store: &Store, filter: &DeliveryFilter, json: bool, lang: Lang) -> anyhow::Result<ExitCode> {
    let deliveries = store.webhook_deliveries(filter).await?;
    let mut documents = Vec::new();
    for delivery in &deliveries {
        let attempts = store.webhook_attempts(&delivery.id).await?;
        if json {
            let attempts: Vec<_> = attempts
                .iter()
                .map(|attempt| {
                    json!({
                        "at": format_ms(attempt.attempted_at_ms),
                        "url": attempt.url,
                        "statusCode": attempt.status_code,
                        "error": attempt.error,
                        "durationMs": attempt.duration_ms,
                    })
                })
                .collect();
            documents.push(json!({
                "id": delivery.id,
                "clientId": delivery.client_id.as_str(),
                "operationId": delivery.operation_id.as_str(),
                "event": delivery.event.as_str(),
                "status": delivery.status,
                "attempts": attempts,
                "nextAttemptAt": (delivery.status == "pending").then(|| format_ms(delivery.next_attempt_at_ms)),
                "lastError": delivery.last_error,
                "createdAt": format_ms(delivery.created_at_ms),
                "deliveredAt": delivery.delivered_at_ms.map(format_ms),
            }));
            continue;
        }
        say(
            lang,
            "cli-webhook-delivery",
            &[
                ("id", delivery.id.as_str().into()),
                ("event", delivery.event.as_str().into()),
                ("operationId", delivery.operation_id.as_str().into()),
                ("status", delivery.status.as_str().into()),
                ("attempts", delivery.attempts.into()),
            ],
        );
        for attempt in attempts {
            let outcome = match (attempt.status_code, &attempt.error) {
                (Some(code), _) => format!("HTTP {code}"),
                (None, Some(error)) => error.clone(),
                (None, None) => String::new(),
            };
            print_line(&format!(
                "    {}  {}  {outcome}  {} ms",
                format_ms(attempt.attempted_at_ms),
                attempt.url,
                attempt.duration_ms
            ));
        }
    }
    if json {
        print_line(&format!("{:#}", serde_json::Value::Array(documents)));
    } else if deliveries.is_empty() {
        print_line(&message(lang, "cli-webhook-none", &[]));
    }
    Ok(ExitCode::SUCCESS)
}
