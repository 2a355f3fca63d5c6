//! The JSON protocol between CPS and an upstream HTTP biller, shared by the
//! adapter and the stand-alone simulator so both sides read the same shapes.
//!
//! | request | success | not found |
//! | --- | --- | --- |
//! | `POST /payments` with [`PaymentBody`] | 200 [`PaymentAnswer`] | |
//! | `GET /payments/{operationId}` | 200 [`PaymentAnswer`] | 404 |
//! | `GET /balances/{serviceId}/{number}` | 200 [`BalanceBody`] | 404 |
//!
//! Amounts are decimal strings with 2 decimals. The operation id is the
//! idempotency key: a biller never charges one operation twice.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentBody {
    pub operation_id: String,
    pub service_id: i64,
    pub service_code: String,
    pub number: String,
    pub amount: String,
}

/// A payment's state at the biller.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAnswer {
    /// `approved`, `rejected` or `processing`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceBody {
    pub balance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
}

/// The counters `GET /stats` of the stand-alone simulator returns.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimulatorStats {
    /// Pay requests received, repeats included.
    pub pay_requests: u64,
    /// Distinct operations approved, that is, charged.
    pub charged: u64,
    /// Distinct operations rejected.
    pub rejected: u64,
    /// Pay requests for an operation already charged. A client that never
    /// re-sends a payment keeps this at zero.
    pub repeated_charged_requests: u64,
    /// Status queries received, repeats included.
    pub status_requests: u64,
}
