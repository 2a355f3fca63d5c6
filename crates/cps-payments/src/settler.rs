//! The settler: finalizes `pending` operations by asking the biller what
//! became of them. It never sends a payment again, because a payment whose
//! outcome is unknown may already have been charged.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cps_billers::{Biller, BillerError, PaymentOutcome, PaymentStatus};
use cps_store::{Finalization, OperationRecord, SettleAttempt, Store};

/// Added to a claim's lease beyond twice the query deadline.
const LEASE_MARGIN_MS: i64 = 1_000;

/// Settings of the settler.
#[derive(Clone, Debug)]
pub struct SettlerConfig {
    /// Minimum age of an operation before the first status query. It must
    /// exceed the biller deadline of payments, so no pay request of the
    /// operation is still in flight when a "not found" releases its funds.
    pub settle_after: Duration,
    /// Operations claimed per pass; their queries run concurrently.
    pub batch_size: i64,
    /// Wait before the second query; it doubles after each failed attempt.
    pub backoff_initial: Duration,
    /// Longest wait between two queries of one operation.
    pub backoff_max: Duration,
    /// Age after which an operation still unsettled is flagged for an
    /// operator and no longer queried.
    pub give_up_after: Duration,
    /// Deadline of each status query.
    pub query_deadline: Duration,
    /// Pause between passes of the background task.
    pub interval: Duration,
}

impl Default for SettlerConfig {
    fn default() -> SettlerConfig {
        SettlerConfig {
            settle_after: Duration::from_secs(30),
            batch_size: 20,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            give_up_after: Duration::from_secs(24 * 60 * 60),
            query_deadline: Duration::from_secs(10),
            interval: Duration::from_secs(1),
        }
    }
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettleReport {
    pub approved: u64,
    pub rejected: u64,
    /// Operations the biller could not settle yet; they are tried again later.
    pub deferred: u64,
    /// Operations handed to an operator in this pass.
    pub flagged: u64,
}

impl SettleReport {
    pub fn examined(&self) -> u64 {
        self.approved + self.rejected + self.deferred + self.flagged
    }
}

#[derive(Clone)]
pub struct Settler {
    store: Store,
    biller: Arc<dyn Biller>,
    config: SettlerConfig,
}

impl Settler {
    pub fn new(store: Store, biller: Arc<dyn Biller>, config: SettlerConfig) -> Settler {
        Settler { store, biller, config }
    }

    /// Examines one batch of due pending operations.
    pub async fn settle_once(&self) -> anyhow::Result<SettleReport> {
        let now_ms = cps_store::now_ms();
        let created_before_ms = now_ms - self.config.settle_after.as_millis() as i64;
        // The batch's queries run concurrently, so the lease only has to
        // outlast one query. After a crash, the claimed operations wait for
        // the lease to end before another settler takes them.
        let lease_ms = 2 * self.config.query_deadline.as_millis() as i64 + LEASE_MARGIN_MS;
        let due = self
            .store
            .claim_pending(now_ms, created_before_ms, self.config.batch_size, now_ms + lease_ms)
            .await
            .context("failed to claim pending operations")?;

        let mut tasks = tokio::task::JoinSet::new();
        for operation in due {
            let settler = self.clone();
            tasks.spawn(async move {
                let mut report = SettleReport::default();
                settler.settle(&operation, now_ms, &mut report).await.map(|()| report)
            });
        }

        let mut report = SettleReport::default();
        while let Some(joined) = tasks.join_next().await {
            let one = joined.context("settlement task failed")??;
            report.approved += one.approved;
            report.rejected += one.rejected;
            report.deferred += one.deferred;
            report.flagged += one.flagged;
        }
        Ok(report)
    }

    /// Runs passes until no operation is due, for `cps settle`. Deferred
    /// operations are due again only after their backoff, so the passes end.
    pub async fn settle_all_due(&self) -> anyhow::Result<SettleReport> {
        const MAX_PASSES: usize = 10_000;

        let mut total = SettleReport::default();
        for _ in 0..MAX_PASSES {
            let report = self.settle_once().await?;
            if report.examined() == 0 {
                break;
            }
            total.approved += report.approved;
            total.rejected += report.rejected;
            total.deferred += report.deferred;
            total.flagged += report.flagged;
        }
        Ok(total)
    }

    /// Runs a pass every interval, forever; the caller aborts the task.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(self.config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match self.settle_once().await {
                Ok(report) if report.examined() > 0 => tracing::info!(?report, "settler pass"),
                Ok(_) => {}
                Err(error) => tracing::error!(error = format!("{error:#}"), "settler pass failed"),
            }
        }
    }

    async fn settle(&self, operation: &OperationRecord, now_ms: i64, report: &mut SettleReport) -> anyhow::Result<()> {
        let status = match tokio::time::timeout(
            self.config.query_deadline,
            self.biller.payment_status(&operation.id, operation.service_id),
        )
        .await
        {
            Ok(status) => status,
            Err(_elapsed) => Err(BillerError::Timeout),
        };

        let (finalization, cause) = match status {
            Ok(PaymentStatus::Final(PaymentOutcome::Approved { provider_reference })) => {
                (Finalization::Approved { provider_reference }, "settled: the biller reports it approved")
            }
            Ok(PaymentStatus::Final(PaymentOutcome::Rejected { reason })) => {
                (Finalization::Rejected { reason }, "settled: the biller reports it rejected")
            }
            // Old enough that no pay request can still be in flight, so the
            // biller never charged it: release the funds.
            // NOTE: this assumes the biller finishes or drops a request within
            // `settle_after`; one that charges later would charge a payment
            // CPS released. Billers with slower processing need a longer age.
            Ok(PaymentStatus::NotFound) => (
                Finalization::Rejected { reason: "the biller has no record of the payment".into() },
                "settled: the biller has no record of it",
            ),
            Ok(PaymentStatus::Processing) => {
                return self.defer(operation, now_ms, "the biller is still processing it", report).await
            }
            Err(error) => return self.defer(operation, now_ms, &error.to_string(), report).await,
        };

        let (settled, _float) = self
            .store
            .finalize(&operation.id, &finalization, cause)
            .await
            .context("failed to finalize a settled operation")?;
        tracing::info!(operation_id = %settled.id, status = %settled.status, "operation settled");
        match finalization {
            Finalization::Approved { .. } => report.approved += 1,
            Finalization::Rejected { .. } => report.rejected += 1,
        }
        Ok(())
    }

    /// Records a failed attempt with bounded exponential backoff, or flags the
    /// operation for an operator once it is older than `give_up_after`.
    async fn defer(
        &self,
        operation: &OperationRecord,
        now_ms: i64,
        error: &str,
        report: &mut SettleReport,
    ) -> anyhow::Result<()> {
        let age_ms = now_ms - operation.created_at_ms;
        let give_up = age_ms > self.config.give_up_after.as_millis() as i64;

        let exponent = operation.settle_attempts.clamp(0, 30) as u32;
        let backoff =
            self.config.backoff_initial.saturating_mul(2_u32.saturating_pow(exponent)).min(self.config.backoff_max);
        let attempt = SettleAttempt {
            error: error.to_string(),
            next_attempt_at_ms: now_ms + backoff.as_millis() as i64,
            give_up,
        };
        self.store
            .record_settle_attempt(&operation.id, &attempt)
            .await
            .context("failed to record a settlement attempt")?;

        if give_up {
            tracing::error!(operation_id = %operation.id, attempts = operation.settle_attempts + 1, error, "operation could not be settled; operator needed");
            report.flagged += 1;
        } else {
            tracing::warn!(operation_id = %operation.id, attempts = operation.settle_attempts + 1, error, "operation not settled yet; will retry");
            report.deferred += 1;
        }
        Ok(())
    }
}
