//! A span, a log line and metrics around every biller call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cps_billers::{BalanceAnswer, Biller, BillerError, PaymentOutcome, PaymentRequest, PaymentStatus};
use cps_domain::{OperationId, Service, ServiceId, ServiceNumber};
use tracing::Instrument;

use super::Metrics;

/// The outcome recorded for a call whose caller stopped waiting, usually
/// because its deadline passed, before the biller responded.
const ABANDONED: &str = "abandoned";

/// Wraps a biller so each call gets its own span and is counted and timed.
/// The subscriber number never enters the span: the operation id and the
/// service identify the call.
pub(crate) struct InstrumentedBiller {
    inner: Arc<dyn Biller>,
    metrics: Metrics,
}

impl InstrumentedBiller {
    pub fn new(inner: Arc<dyn Biller>, metrics: Metrics) -> InstrumentedBiller {
        InstrumentedBiller { inner, metrics }
    }
}

#[async_trait]
impl Biller for InstrumentedBiller {
    async fn pay(&self, request: &PaymentRequest) -> Result<PaymentOutcome, BillerError> {
        let span = tracing::info_span!(
            "biller_call",
            call = "pay",
            operation_id = %request.operation_id,
            service = %request.service_code,
        );
        let timer = CallTimer::start(&self.metrics, "pay", &span);
        let result = self.inner.pay(request).instrument(span.clone()).await;
        let outcome = match &result {
            Ok(PaymentOutcome::Approved { .. }) => "approved",
            Ok(PaymentOutcome::Rejected { .. }) => "rejected",
            Err(error) => error_outcome(error),
        };
        timer.finish(outcome);
        result
    }

    async fn payment_status(
        &self,
        operation_id: &OperationId,
        service_id: ServiceId,
    ) -> Result<PaymentStatus, BillerError> {
        let span = tracing::info_span!(
            "biller_call",
            call = "payment_status",
            operation_id = %operation_id,
            service_id,
        );
        let timer = CallTimer::start(&self.metrics, "payment_status", &span);
        let result = self.inner.payment_status(operation_id, service_id).instrument(span.clone()).await;
        let outcome = match &result {
            Ok(PaymentStatus::Final(PaymentOutcome::Approved { .. })) => "approved",
            Ok(PaymentStatus::Final(PaymentOutcome::Rejected { .. })) => "rejected",
            Ok(PaymentStatus::Processing) => "processing",
            Ok(PaymentStatus::NotFound) => "not_found",
            Err(error) => error_outcome(error),
        };
        timer.finish(outcome);
        result
    }

    async fn balance(&self, service: &Service, number: &ServiceNumber) -> Result<BalanceAnswer, BillerError> {
        let span = tracing::info_span!("biller_call", call = "balance", service = %service.code);
        let timer = CallTimer::start(&self.metrics, "balance", &span);
        let result = self.inner.balance(service, number).instrument(span.clone()).await;
        let outcome = match &result {
            Ok(BalanceAnswer::Found(_)) => "found",
            Ok(BalanceAnswer::AccountNotFound) => "account_not_found",
            Err(error) => error_outcome(error),
        };
        timer.finish(outcome);
        result
    }
}

fn error_outcome(error: &BillerError) -> &'static str {
    match error {
        BillerError::Timeout => "timeout",
        BillerError::Unavailable(_) => "unavailable",
        BillerError::InvalidResponse(_) => "invalid_response",
    }
}

/// Measures one call. A timer dropped before `finish` belongs to a call
/// whose future was dropped, which `tokio::time::timeout` does at a deadline.
/// Such a call is recorded as abandoned, so it still shows in the metrics.
struct CallTimer {
    metrics: Metrics,
    call: &'static str,
    span: tracing::Span,
    started: Instant,
    finished: bool,
}

impl CallTimer {
    fn start(metrics: &Metrics, call: &'static str, span: &tracing::Span) -> CallTimer {
        CallTimer { metrics: metrics.clone(), call, span: span.clone(), started: Instant::now(), finished: false }
    }

    fn finish(mut self, outcome: &'static str) {
        self.finished = true;
        let elapsed = self.started.elapsed();
        self.metrics.record_biller_call(self.call, outcome, elapsed);
        self.span.in_scope(|| tracing::info!(outcome, duration_ms = millis(elapsed), "biller call finished"));
    }
}

impl Drop for CallTimer {
    fn drop(&mut self) {
        if !self.finished {
            let elapsed = self.started.elapsed();
            self.metrics.record_biller_call(self.call, ABANDONED, elapsed);
            self.span.in_scope(|| {
                tracing::info!(
                    outcome = ABANDONED,
                    duration_ms = millis(elapsed),
                    "biller call abandoned before its answer"
                );
            });
        }
    }
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}
