//! The built-in sandbox biller. It answers by the last four digits of the
//! subscriber number, so tests and integrators get every outcome on demand:
//!
//! | ending | payment | balance query |
//! | --- | --- | --- |
//! | `9001` | rejected | unknown account |
//! | `9002` | times out; its status later reads approved | derived from the number |
//! | `9003` | times out; its status later reads rejected | derived from the number |
//! | other | approved | derived from the number |

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use cps_domain::{Money, OperationId, Service, ServiceNumber};

use crate::{AccountBalance, BalanceAnswer, Biller, BillerError, PaymentOutcome, PaymentRequest, PaymentStatus};

pub(crate) const REJECTED_ENDING: &str = "9001";
pub(crate) const TIMEOUT_THEN_APPROVED_ENDING: &str = "9002";
pub(crate) const TIMEOUT_THEN_REJECTED_ENDING: &str = "9003";

const HOLDER_NAMES: [&str; 6] =
    ["María Pérez", "José Rodríguez", "Ana González", "Luis Hernández", "Carmen Díaz", "Pedro Martínez"];

/// The in-process sandbox biller. Like a real biller it is idempotent per
/// operation id: a repeated payment returns the first outcome and charges
/// nothing more. Its memory is lost when the process stops.
#[derive(Debug, Default)]
pub struct Simulator {
    latency: Duration,
    charges: Mutex<HashMap<OperationId, PaymentOutcome>>,
}

impl Simulator {
    /// A simulator that answers after `latency`, to make load tests realistic.
    pub fn with_latency(latency: Duration) -> Simulator {
        Simulator { latency, charges: Mutex::default() }
    }

    /// The number of distinct operations the simulator has received.
    pub fn payment_count(&self) -> usize {
        self.lock_charges().len()
    }

    fn lock_charges(&self) -> std::sync::MutexGuard<'_, HashMap<OperationId, PaymentOutcome>> {
        // A panic while holding the lock leaves the map consistent (every
        // write is a single insert), so a poisoned lock is safe to reuse.
        self.charges.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn wait(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

#[async_trait]
impl Biller for Simulator {
    async fn pay(&self, request: &PaymentRequest) -> Result<PaymentOutcome, BillerError> {
        self.wait().await;

        let ending = request.number.last_four();
        let outcome = self
            .lock_charges()
            .entry(request.operation_id.clone())
            .or_insert_with(|| outcome_for(ending, &request.operation_id))
            .clone();

        match ending {
            TIMEOUT_THEN_APPROVED_ENDING | TIMEOUT_THEN_REJECTED_ENDING => Err(BillerError::Timeout),
            _ => Ok(outcome),
        }
    }

    async fn payment_status(
        &self,
        operation_id: &OperationId,
        _service_id: cps_domain::ServiceId,
    ) -> Result<PaymentStatus, BillerError> {
        self.wait().await;
        let status = match self.lock_charges().get(operation_id) {
            Some(outcome) => PaymentStatus::Final(outcome.clone()),
            None => PaymentStatus::NotFound,
        };
        Ok(status)
    }

    async fn balance(&self, _service: &Service, number: &ServiceNumber) -> Result<BalanceAnswer, BillerError> {
        self.wait().await;
        if number.last_four() == REJECTED_ENDING {
            return Ok(BalanceAnswer::AccountNotFound);
        }
        Ok(BalanceAnswer::Found(balance_for(number.as_str())))
    }
}

pub(crate) fn outcome_for(ending: &str, operation_id: &OperationId) -> PaymentOutcome {
    match ending {
        REJECTED_ENDING | TIMEOUT_THEN_REJECTED_ENDING => {
            PaymentOutcome::Rejected { reason: "sandbox: subscriber account rejected".to_string() }
        }
        _ => PaymentOutcome::Approved { provider_reference: provider_reference_for(operation_id.as_str()) },
    }
}

/// A stable 10-character reference, as a biller would issue one.
fn provider_reference_for(operation_id: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut hash = fnv1a(operation_id);
    (0..10)
        .map(|_| {
            let character = ALPHABET[(hash % ALPHABET.len() as u64) as usize] as char;
            hash /= ALPHABET.len() as u64;
            if hash == 0 {
                hash = fnv1a(operation_id).rotate_left(17);
            }
            character
        })
        .collect()
}

/// Derives a balance between 10.00 and 5,009.99 VES, a holder and a due date
/// 1 to 28 days ahead from the number, so the same number always gets the
/// same balance and holder.
pub(crate) fn balance_for(number: &str) -> AccountBalance {
    let hash = fnv1a(number);
    let cents = 1_000 + (hash % 500_000) as i64;
    let holder = HOLDER_NAMES[(hash / 500_000 % HOLDER_NAMES.len() as u64) as usize];
    let days_until_due = 1 + (hash / 7 % 28) as i64;
    let due_date = time::OffsetDateTime::now_utc().date() + time::Duration::days(days_until_due);
    AccountBalance {
        balance: Money::from_cents(cents),
        holder_name: Some(holder.to_string()),
        due_date: Some(due_date.to_string()),
    }
}

/// FNV-1a, a small stable hash; the simulator needs determinism, not secrecy.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cps_domain::Catalog;

    fn request(number: &str) -> PaymentRequest {
        PaymentRequest {
            operation_id: OperationId::generate(),
            service_id: 57,
            service_code: "MOVISTAR_PREPAGO".into(),
            number: ServiceNumber::from_stored(number.into()),
            amount: Money::from_cents(1000),
        }
    }

    #[tokio::test]
    async fn sandbox_endings_give_their_outcomes() {
        let simulator = Simulator::default();
        assert!(matches!(simulator.pay(&request("04140000001")).await, Ok(PaymentOutcome::Approved { .. })));
        assert!(matches!(simulator.pay(&request("04140009001")).await, Ok(PaymentOutcome::Rejected { .. })));

        let approved_later = request("04140009002");
        assert_eq!(simulator.pay(&approved_later).await, Err(BillerError::Timeout));
        let status = simulator.payment_status(&approved_later.operation_id, 57).await.unwrap();
        assert!(matches!(status, PaymentStatus::Final(PaymentOutcome::Approved { .. })));

        let rejected_later = request("04140009003");
        assert_eq!(simulator.pay(&rejected_later).await, Err(BillerError::Timeout));
        let status = simulator.payment_status(&rejected_later.operation_id, 57).await.unwrap();
        assert!(matches!(status, PaymentStatus::Final(PaymentOutcome::Rejected { .. })));
    }

    #[tokio::test]
    async fn repeated_payment_charges_once() {
        let simulator = Simulator::default();
        let payment = request("04140000001");
        let first = simulator.pay(&payment).await.unwrap();
        let second = simulator.pay(&payment).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(simulator.payment_count(), 1);
    }

    #[tokio::test]
    async fn balances_are_deterministic() {
        let simulator = Simulator::default();
        let catalog = Catalog::default_catalog();
        let service = catalog.service(63).unwrap();
        let number = ServiceNumber::from_stored("02123457654".into());
        let first = simulator.balance(service, &number).await.unwrap();
        let second = simulator.balance(service, &number).await.unwrap();
        assert_eq!(first, second);

        let unknown = ServiceNumber::from_stored("02123459001".into());
        assert_eq!(simulator.balance(service, &unknown).await.unwrap(), BalanceAnswer::AccountNotFound);
    }

    #[test]
    fn provider_references_are_stable() {
        assert_eq!(provider_reference_for("op_1"), provider_reference_for("op_1"));
        assert_ne!(provider_reference_for("op_1"), provider_reference_for("op_2"));
        assert_eq!(provider_reference_for("op_1").len(), 10);
    }
}
