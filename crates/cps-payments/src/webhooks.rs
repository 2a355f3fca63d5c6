//! Webhook delivery: posts each final outcome to the client's callback URL,
//! signed the way clients sign requests, from the durable outbox the store
//! fills in the same transaction as the outcome.
//!
//! Delivery is at least once: a crash after the receiver's 2xx and before
//! the delivery is marked sends it again, with the same `cps-webhook-id`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cps_domain::{format_ms, Catalog, OperationStatus};
use cps_store::{AttemptOutcome, Store, WebhookAttempt, WebhookDelivery, WebhookEvent};
use serde::Serialize;
use tracing::Instrument;

use crate::view::OperationView;

/// Added to a claim's lease beyond the request timeout.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// A receiver's error text kept in the delivery log, at most.
const MAX_ERROR_CHARS: usize = 300;

/// Settings of the webhook dispatcher.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Pause between passes when nothing was due.
    pub interval: Duration,
    /// Deliveries claimed per pass, posted concurrently.
    pub batch_size: i64,
    /// Deadline of one POST, connection included.
    pub request_timeout: Duration,
    /// Wait before the second attempt. It doubles after each failure.
    pub retry_initial: Duration,
    /// Maximum wait between two attempts.
    pub retry_max: Duration,
    /// Attempts before a delivery is marked failed for an operator.
    pub max_attempts: i64,
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        WebhookConfig {
            interval: Duration::from_millis(500),
            batch_size: 20,
            request_timeout: Duration::from_secs(10),
            retry_initial: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            max_attempts: 15,
        }
    }
}

/// The JSON body of a webhook.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody {
    id: String,
    event: &'static str,
    created_at: String,
    operation: OperationView,
}

#[derive(Clone)]
pub struct WebhookDispatcher {
    store: Store,
    catalog: Arc<Catalog>,
    http: reqwest::Client,
    config: WebhookConfig,
}

impl WebhookDispatcher {
    pub fn new(store: Store, catalog: Arc<Catalog>, config: WebhookConfig) -> anyhow::Result<WebhookDispatcher> {
        // Redirects are not followed: the operator set this URL, not the
        // receiver.
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("failed to build the webhook HTTP client")?;
        Ok(WebhookDispatcher { store, catalog, http, config })
    }

    /// Delivers one batch of due webhooks and returns how many were attempted.
    pub async fn deliver_once(&self) -> anyhow::Result<usize> {
        let now_ms = cps_store::now_ms();
        let lease_ms = (self.config.request_timeout + LEASE_MARGIN).as_millis() as i64;
        let due = self
            .store
            .claim_due_webhooks(now_ms, self.config.batch_size, now_ms + lease_ms)
            .await
            .context("failed to claim due webhooks")?;
        let attempted = due.len();

        let mut tasks = tokio::task::JoinSet::new();
        for delivery in due {
            let dispatcher = self.clone();
            tasks.spawn(async move { dispatcher.deliver(&delivery).await });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.context("webhook task failed")??;
        }
        Ok(attempted)
    }

    /// Runs passes until the caller aborts the task. A full batch is followed
    /// at once by the next.
    pub async fn run(self) {
        loop {
            let full = match self.deliver_once().await {
                Ok(attempted) => attempted as i64 >= self.config.batch_size,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "webhook pass failed");
                    false
                }
            };
            if !full {
                tokio::time::sleep(self.config.interval).await;
            }
        }
    }

    async fn deliver(&self, delivery: &WebhookDelivery) -> anyhow::Result<()> {
        // A span entered across an await would tag other tasks' logs, so the
        // attempt runs instrumented instead.
        let span = tracing::info_span!("webhook", delivery_id = %delivery.id, operation_id = %delivery.operation_id);
        self.attempt(delivery).instrument(span).await
    }

    async fn attempt(&self, delivery: &WebhookDelivery) -> anyhow::Result<()> {
        let client = self.store.find_client_by_id(&delivery.client_id).await.context("failed to load the client")?;
        let operation =
            self.store.find_operation(&delivery.operation_id).await.context("failed to load the operation")?;
        let (Some(client), Some(operation)) = (client, operation) else {
            anyhow::bail!("webhook {} refers to a missing client or operation", delivery.id);
        };
        let started_at_ms = cps_store::now_ms();
        let Some(url) = client.callback_url.clone() else {
            let attempt = failed_attempt(String::new(), started_at_ms, "the client has no callback URL any more");
            return self.record(delivery, &attempt, AttemptOutcome::GiveUp).await;
        };

        let body = self.body(delivery, &operation)?;
        let started = Instant::now();
        let sent = self.post(&url, &client.api_key, &client.secret, delivery, body).await;
        let duration_ms = started.elapsed().as_millis() as i64;

        let attempt = match &sent {
            Ok(status) => WebhookAttempt {
                url: url.clone(),
                status_code: Some(i64::from(*status)),
                error: None,
                duration_ms,
                attempted_at_ms: started_at_ms,
            },
            Err(error) => WebhookAttempt { duration_ms, ..failed_attempt(url.clone(), started_at_ms, error) },
        };
        let delivered = matches!(sent, Ok(status) if (200..300).contains(&status));
        // The wait before the next attempt counts from the end of this one,
        // so a receiver that times out still gets the whole backoff.
        let outcome = self.next_step(delivery, delivered, cps_store::now_ms());
        match outcome {
            AttemptOutcome::Delivered => tracing::info!(duration_ms, "webhook delivered"),
            AttemptOutcome::RetryAt(_) => {
                tracing::warn!(attempts = delivery.attempts + 1, status = ?attempt.status_code, error = ?attempt.error, "webhook not delivered; will retry")
            }
            AttemptOutcome::GiveUp => {
                tracing::error!(attempts = delivery.attempts + 1, status = ?attempt.status_code, error = ?attempt.error, "webhook not delivered; gave up")
            }
        }
        self.record(delivery, &attempt, outcome).await
    }

    fn body(&self, delivery: &WebhookDelivery, operation: &cps_store::OperationRecord) -> anyhow::Result<String> {
        let status = match delivery.event {
            WebhookEvent::Approved => OperationStatus::Approved,
            WebhookEvent::Rejected => OperationStatus::Rejected,
            WebhookEvent::Refunded => OperationStatus::Refunded,
        };
        let body = WebhookBody {
            id: delivery.id.clone(),
            event: delivery.event.as_str(),
            created_at: format_ms(delivery.created_at_ms),
            operation: OperationView::new(operation, &self.catalog).as_of(status),
        };
        serde_json::to_string(&body).context("failed to encode a webhook")
    }

    /// Posts the body signed with the client's current secret and returns the
    /// receiver's HTTP status. The signature covers PATH + NONCE + BODY, the
    /// string a client signs for a request, so one check serves both.
    async fn post(
        &self,
        url: &str,
        api_key: &str,
        secret: &str,
        delivery: &WebhookDelivery,
        body: String,
    ) -> Result<u16, String> {
        let parsed = reqwest::Url::parse(url).map_err(|error| format!("invalid callback URL: {error}"))?;
        let nonce = cps_store::now_ms().to_string();
        let signature = cps_signing::sign(secret, &format!("{}{nonce}{body}", parsed.path()));

        let response = self
            .http
            .post(parsed)
            .header("content-type", "application/json")
            .header("api-key", api_key)
            .header("api-nonce", &nonce)
            .header("api-signature", signature)
            .header("cps-webhook-id", &delivery.id)
            .header("cps-event", delivery.event.as_str())
            .body(body)
            .send()
            .await
            .map_err(|error| describe(&error))?;
        Ok(response.status().as_u16())
    }

    /// Decides what follows an attempt: delivered, due again after a bounded
    /// exponential backoff, or given up once the attempts are spent.
    fn next_step(&self, delivery: &WebhookDelivery, delivered: bool, now_ms: i64) -> AttemptOutcome {
        if delivered {
            return AttemptOutcome::Delivered;
        }
        let attempts = delivery.attempts + 1;
        if attempts >= self.config.max_attempts {
            return AttemptOutcome::GiveUp;
        }
        let exponent = (attempts - 1).clamp(0, 30) as u32;
        let wait = self.config.retry_initial.saturating_mul(2_u32.saturating_pow(exponent)).min(self.config.retry_max);
        AttemptOutcome::RetryAt(now_ms + wait.as_millis() as i64)
    }

    async fn record(
        &self,
        delivery: &WebhookDelivery,
        attempt: &WebhookAttempt,
        outcome: AttemptOutcome,
    ) -> anyhow::Result<()> {
        self.store
            .record_webhook_attempt(&delivery.id, attempt, outcome)
            .await
            .context("failed to record a webhook attempt")
    }
}

fn failed_attempt(url: String, at_ms: i64, error: impl ToString) -> WebhookAttempt {
    WebhookAttempt { url, status_code: None, error: Some(error.to_string()), duration_ms: 0, attempted_at_ms: at_ms }
}

/// Describes a failed post in a few words for the delivery log: timed out,
/// could not connect, or the error's own text.
fn describe(error: &reqwest::Error) -> String {
    let text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    };
    text.chars().take(MAX_ERROR_CHARS).collect()
}
