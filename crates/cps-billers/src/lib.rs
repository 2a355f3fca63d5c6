//! Billers: the upstream companies that receive payments, behind one trait.
//!
//! The built-in [`Simulator`] is the default biller in development and tests.
//! [`HttpBiller`] speaks JSON to an upstream biller, [`BillerRoutes`] sends
//! each service to its biller, and [`sim_server`] is the stand-alone upstream
//! simulator behind `cps biller-sim`.

mod http;
mod routing;
pub mod sim_server;
mod simulator;
pub mod wire;

pub use http::{HttpBiller, HttpBillerConfig};
pub use routing::{BillerRoutes, RoutingError};
pub use simulator::Simulator;

use async_trait::async_trait;
use cps_domain::{Money, OperationId, Service, ServiceId, ServiceNumber};

/// A payment to forward to a biller.
#[derive(Clone, Debug)]
pub struct PaymentRequest {
    /// CPS's operation id, sent as the biller's idempotency key so a repeated
    /// request never charges twice.
    pub operation_id: OperationId,
    pub service_id: ServiceId,
    pub service_code: String,
    pub number: ServiceNumber,
    pub amount: Money,
}

/// The biller's definite answer to a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    Approved { provider_reference: String },
    Rejected { reason: String },
}

/// What the biller reports about a payment sent earlier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    Final(PaymentOutcome),
    /// The biller is still processing it.
    Processing,
    /// The biller never received it.
    NotFound,
}

/// A subscriber's balance as the biller reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BalanceAnswer {
    Found(AccountBalance),
    AccountNotFound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountBalance {
    /// What the subscriber owes.
    pub balance: Money,
    pub holder_name: Option<String>,
    /// ISO 8601 date (`2026-12-20`).
    pub due_date: Option<String>,
}

/// A failure to get an answer from a biller. For a payment, every variant
/// means the outcome is unknown: the biller may or may not have charged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BillerError {
    #[error("the biller did not answer in time")]
    Timeout,
    #[error("the biller is unavailable: {0}")]
    Unavailable(String),
    #[error("the biller's answer could not be read: {0}")]
    InvalidResponse(String),
}

/// One upstream biller.
#[async_trait]
pub trait Biller: Send + Sync + 'static {
    /// Sends a payment. Repeating it with the same operation id must not
    /// charge again.
    async fn pay(&self, request: &PaymentRequest) -> Result<PaymentOutcome, BillerError>;

    /// Asks what became of the payment sent with `operation_id` for
    /// `service_id` (which routing needs to find the biller).
    async fn payment_status(
        &self,
        operation_id: &OperationId,
        service_id: ServiceId,
    ) -> Result<PaymentStatus, BillerError>;

    /// Queries what a subscriber owes.
    async fn balance(&self, service: &Service, number: &ServiceNumber) -> Result<BalanceAnswer, BillerError>;
}
