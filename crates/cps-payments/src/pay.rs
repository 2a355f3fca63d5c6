use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cps_billers::{Biller, BillerError, PaymentOutcome, PaymentRequest};
use cps_domain::{ClientId, Money, OperationId, OperationStatus, Service, ServiceNumber};
use cps_store::{Finalization, NewOperation, NonceRecord, OperationRecord, ReserveOutcome, Store};
use tracing::Instrument;

/// How long after its deadline a retry still sees an unanswered operation
/// as in progress. Past that, the first request has died (a crash or a lost
/// task) and a retry gets the stored state.
const IN_PROGRESS_GRACE: Duration = Duration::from_secs(5);

/// Runs payments against one store and one biller.
#[derive(Clone)]
pub struct Payments {
    store: Store,
    biller: Arc<dyn Biller>,
    biller_deadline: Duration,
}

/// A validated payment request.
#[derive(Clone, Debug)]
pub struct PaymentCommand {
    pub client_id: ClientId,
    pub reference: Option<String>,
    pub service: Arc<Service>,
    pub number: ServiceNumber,
    pub amount: Money,
    /// The request's replay record, written with the reservation; `None`
    /// when the caller recorded it already.
    pub request_nonce: Option<NonceRecord>,
}

/// What became of a payment request.
#[derive(Clone, Debug)]
// One result per request, moved once: boxing the large variant saves nothing.
#[allow(clippy::large_enum_variant)]
pub enum PaymentResult {
    /// The operation in its current state, with the client's float after it.
    /// `replayed` is true when a previous request with the same reference
    /// created it.
    Processed { operation: OperationRecord, float: Money, replayed: bool },
    /// The float does not cover the amount; nothing was stored or sent.
    InsufficientFunds { float: Money },
    /// The reference belongs to an operation with another service, number or
    /// amount.
    ReferenceReused,
    /// The reference belongs to an operation whose first request is still
    /// running.
    InProgress,
    /// The request's nonce was recorded before: a replay, refused before
    /// anything changed.
    NonceReused,
}

impl Payments {
    /// `biller_deadline` bounds each biller call; past it the operation stays
    /// `pending` and the client gets 202.
    pub fn new(store: Store, biller: Arc<dyn Biller>, biller_deadline: Duration) -> Payments {
        Payments { store, biller, biller_deadline }
    }

    /// Processes a payment. It runs in its own task, so a client that
    /// disconnects cannot stop it between the reservation and the final
    /// state. The task stays in the caller's span, so its logs carry the
    /// request's ids.
    pub async fn pay(&self, command: PaymentCommand) -> anyhow::Result<PaymentResult> {
        let payments = self.clone();
        let payment = async move { payments.run_payment(command).await }.instrument(tracing::Span::current());
        tokio::spawn(payment).await.context("payment task failed")?
    }

    async fn run_payment(&self, command: PaymentCommand) -> anyhow::Result<PaymentResult> {
        let new_operation = NewOperation {
            client_id: command.client_id.clone(),
            reference: command.reference.clone(),
            service_id: command.service.id,
            number: command.number.clone(),
            amount: command.amount,
            request_nonce: command.request_nonce.clone(),
        };
        let reserved = self.store.reserve(&new_operation).await.context("failed to reserve funds")?;

        let operation = match reserved {
            ReserveOutcome::Reserved { operation, .. } => operation,
            ReserveOutcome::InsufficientFunds { float } => return Ok(PaymentResult::InsufficientFunds { float }),
            ReserveOutcome::NonceReused => return Ok(PaymentResult::NonceReused),
            ReserveOutcome::ReferenceExists(existing) => {
                record_operation_id(&existing.id);
                return self.answer_retry(&new_operation, existing).await;
            }
        };
        record_operation_id(&operation.id);

        let outcome = self.call_biller(&command, &operation).await;

        let (operation, float) = self.record_outcome(operation, outcome).await?;
        Ok(PaymentResult::Processed { operation, float, replayed: false })
    }

    async fn call_biller(
        &self,
        command: &PaymentCommand,
        operation: &OperationRecord,
    ) -> Result<PaymentOutcome, BillerError> {
        let request = PaymentRequest {
            operation_id: operation.id.clone(),
            service_id: command.service.id,
            service_code: command.service.code.clone(),
            number: command.number.clone(),
            amount: command.amount,
        };
        match tokio::time::timeout(self.biller_deadline, self.biller.pay(&request)).await {
            Ok(answer) => answer,
            Err(_elapsed) => Err(BillerError::Timeout),
        }
    }

    /// Finalizes on a definite answer; on an unknown outcome keeps the
    /// operation `pending` and marks it answered.
    async fn record_outcome(
        &self,
        operation: OperationRecord,
        outcome: Result<PaymentOutcome, BillerError>,
    ) -> anyhow::Result<(OperationRecord, Money)> {
        let finalization = match outcome {
            Ok(PaymentOutcome::Approved { provider_reference }) => Finalization::Approved { provider_reference },
            Ok(PaymentOutcome::Rejected { reason }) => Finalization::Rejected { reason },
            Err(error) => {
                tracing::warn!(operation_id = %operation.id, error = %error, "biller outcome unknown; operation stays pending");
                self.store.mark_answered(&operation.id).await.context("failed to mark operation answered")?;
                let float = self.store.client_float(&operation.client_id).await.context("failed to read float")?;
                return Ok((operation, float));
            }
        };

        let (operation, float) = self
            .store
            .finalize(&operation.id, &finalization, "biller answer")
            .await
            .context("failed to finalize operation")?;
        tracing::info!(operation_id = %operation.id, status = %operation.status, "payment finalized");
        Ok((operation, float))
    }

    /// Answers a request whose reference already has an operation: a replay
    /// when the request is the same, a conflict otherwise.
    async fn answer_retry(&self, request: &NewOperation, existing: OperationRecord) -> anyhow::Result<PaymentResult> {
        let same_request = existing.service_id == request.service_id
            && existing.number == request.number
            && existing.amount == request.amount;
        if !same_request {
            return Ok(PaymentResult::ReferenceReused);
        }

        let age_ms = cps_store::now_ms().saturating_sub(existing.created_at_ms);
        let in_progress_ms = (self.biller_deadline + IN_PROGRESS_GRACE).as_millis() as i64;
        if existing.status == OperationStatus::Pending && !existing.answered && age_ms < in_progress_ms {
            return Ok(PaymentResult::InProgress);
        }

        let float = self.store.client_float(&existing.client_id).await.context("failed to read float")?;
        Ok(PaymentResult::Processed { operation: existing, float, replayed: true })
    }
}

/// Records the operation id on the current span. The API's request span
/// declares an `operation_id` field for it; in other spans this does nothing.
fn record_operation_id(operation_id: &OperationId) {
    tracing::Span::current().record("operation_id", operation_id.as_str());
}
