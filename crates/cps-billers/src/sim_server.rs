//! The stand-alone upstream biller behind `cps biller-sim`: the far side of
//! [`crate::HttpBiller`], with the sandbox numbers of the built-in simulator
//! and injectable faults.
//!
//! Like a real biller it is idempotent per operation id: a repeated payment
//! returns the first outcome and charges nothing more. Faults apply to pay
//! requests only. A 5xx fault answers before charging. Timeouts, unreadable
//! bodies and dropped connections happen after charging, so the answer is lost
//! while the money moved, the hardest case for the client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cps_domain::OperationId;

use crate::simulator::{
    balance_for, outcome_for, REJECTED_ENDING, TIMEOUT_THEN_APPROVED_ENDING, TIMEOUT_THEN_REJECTED_ENDING,
};
use crate::wire::{BalanceBody, PaymentAnswer, PaymentBody, SimulatorStats};
use crate::PaymentOutcome;

/// Faults and delays of the stand-alone simulator. Rates are probabilities
/// from 0 to 1, drawn once per pay request.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// Delay before every answer.
    pub latency: Duration,
    /// Share of pay requests answered with HTTP 503 before charging.
    pub error_rate: f64,
    /// Share of pay requests that charge, then wait `timeout_delay` before
    /// answering, longer than a client should wait.
    pub timeout_rate: f64,
    pub timeout_delay: Duration,
    /// Share of pay requests that charge, then answer 200 with a body that is
    /// not JSON.
    pub garbage_rate: f64,
    /// Share of pay requests that charge, then close the connection without a
    /// complete answer.
    pub drop_rate: f64,
    /// How long the sandbox endings 9002 and 9003 wait before answering.
    pub sandbox_timeout_delay: Duration,
    /// Seed of the fault draws, so a run can be repeated.
    pub seed: u64,
}

impl Default for SimulatorConfig {
    fn default() -> SimulatorConfig {
        SimulatorConfig {
            latency: Duration::ZERO,
            error_rate: 0.0,
            timeout_rate: 0.0,
            timeout_delay: Duration::from_secs(30),
            garbage_rate: 0.0,
            drop_rate: 0.0,
            sandbox_timeout_delay: Duration::from_secs(30),
            seed: 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    ServerError,
    Timeout,
    Garbage,
    Drop,
}

#[derive(Default)]
struct Ledger {
    payments: HashMap<String, PaymentOutcome>,
    stats: SimulatorStats,
}

struct Shared {
    config: SimulatorConfig,
    ledger: Mutex<Ledger>,
    random: Mutex<u64>,
}

impl Shared {
    fn lock_ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // Every update is a few plain assignments, so a poisoned lock still
        // guards consistent data.
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Draws the fault of one pay request (xorshift64: small and seedable).
    fn draw_fault(&self) -> Fault {
        let mut state = self.random.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let draw = (*state >> 11) as f64 / (1_u64 << 53) as f64;

        let config = &self.config;
        let thresholds = [
            (config.error_rate, Fault::ServerError),
            (config.timeout_rate, Fault::Timeout),
            (config.garbage_rate, Fault::Garbage),
            (config.drop_rate, Fault::Drop),
        ];
        let mut cumulative = 0.0;
        for (rate, fault) in thresholds {
            cumulative += rate;
            if draw < cumulative {
                return fault;
            }
        }
        Fault::None
    }
}

/// Builds the simulator's routes.
pub fn router(config: SimulatorConfig) -> Router {
    let seed = config.seed.max(1);
    let shared = Arc::new(Shared { config, ledger: Mutex::default(), random: Mutex::new(seed) });
    Router::new()
        .route("/payments", post(pay))
        .route("/payments/{operation_id}", get(payment_status))
        .route("/balances/{service_id}/{number}", get(balance))
        .route("/stats", get(stats))
        .with_state(shared)
}

async fn pay(State(shared): State<Arc<Shared>>, Json(body): Json<PaymentBody>) -> Response {
    tokio::time::sleep(shared.config.latency).await;

    let fault = shared.draw_fault();
    if fault == Fault::ServerError {
        return (StatusCode::SERVICE_UNAVAILABLE, "biller temporarily unavailable").into_response();
    }

    let ending = &body.number[body.number.len().saturating_sub(4)..];
    let outcome = charge(&shared, &body, ending);

    if ending == TIMEOUT_THEN_APPROVED_ENDING || ending == TIMEOUT_THEN_REJECTED_ENDING {
        tokio::time::sleep(shared.config.sandbox_timeout_delay).await;
    }
    match fault {
        Fault::Timeout => tokio::time::sleep(shared.config.timeout_delay).await,
        Fault::Garbage => return (StatusCode::OK, "<html>gateway says hello").into_response(),
        Fault::Drop => return dropped_connection(),
        Fault::None | Fault::ServerError => {}
    }
    Json(answer_of(&outcome)).into_response()
}

/// Records the payment once and returns its outcome.
fn charge(shared: &Shared, body: &PaymentBody, ending: &str) -> PaymentOutcome {
    let mut ledger = shared.lock_ledger();
    ledger.stats.pay_requests += 1;

    if let Some(existing) = ledger.payments.get(&body.operation_id).cloned() {
        if matches!(existing, PaymentOutcome::Approved { .. }) {
            ledger.stats.repeated_charged_requests += 1;
        }
        return existing;
    }

    let operation_id = OperationId::from_stored(body.operation_id.clone());
    let outcome = outcome_for(ending, &operation_id);
    match outcome {
        PaymentOutcome::Approved { .. } => ledger.stats.charged += 1,
        PaymentOutcome::Rejected { .. } => ledger.stats.rejected += 1,
    }
    ledger.payments.insert(body.operation_id.clone(), outcome.clone());
    outcome
}

/// A 200 whose body fails after the headers, so the client never reads a
/// complete answer and the connection is closed.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
    });
    Response::new(Body::from_stream(failing))
}

fn answer_of(outcome: &PaymentOutcome) -> PaymentAnswer {
    match outcome {
        PaymentOutcome::Approved { provider_reference } => PaymentAnswer {
            status: "approved".into(),
            provider_reference: Some(provider_reference.clone()),
            reason: None,
        },
        PaymentOutcome::Rejected { reason } => {
            PaymentAnswer { status: "rejected".into(), provider_reference: None, reason: Some(reason.clone()) }
        }
    }
}

async fn payment_status(State(shared): State<Arc<Shared>>, Path(operation_id): Path<String>) -> Response {
    tokio::time::sleep(shared.config.latency).await;
    let outcome = {
        let mut ledger = shared.lock_ledger();
        ledger.stats.status_requests += 1;
        ledger.payments.get(&operation_id).cloned()
    };
    match outcome {
        Some(outcome) => Json(answer_of(&outcome)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(serde_json::json!({"error": "payment not found"}))).into_response(),
    }
}

async fn balance(State(shared): State<Arc<Shared>>, Path((_service_id, number)): Path<(i64, String)>) -> Response {
    tokio::time::sleep(shared.config.latency).await;
    if number.ends_with(REJECTED_ENDING) {
        return (StatusCode::NOT_FOUND, Json(serde_json::json!({"error": "account not found"}))).into_response();
    }
    let account = balance_for(&number);
    Json(BalanceBody {
        balance: account.balance.to_string(),
        holder_name: account.holder_name,
        due_date: account.due_date,
    })
    .into_response()
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<SimulatorStats> {
    Json(shared.lock_ledger().stats.clone())
}
