use std::sync::Arc;
use std::time::Duration;

use cps_billers::{AccountBalance, BalanceAnswer, Biller, BillerError};
use cps_domain::{Service, ServiceNumber};

/// Subscriber balance queries, forwarded to the biller under a deadline.
#[derive(Clone)]
pub struct BalanceQuery {
    biller: Arc<dyn Biller>,
    deadline: Duration,
}

/// Why a balance query has no balance to show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    #[error("the service does not support balance queries")]
    NotSupported,
    #[error("the biller does not know the account")]
    AccountNotFound,
    #[error("the biller did not answer in time")]
    BillerTimeout,
    #[error("the biller failed: {0}")]
    BillerUnavailable(String),
}

impl BalanceQuery {
    pub fn new(biller: Arc<dyn Biller>, deadline: Duration) -> BalanceQuery {
        BalanceQuery { biller, deadline }
    }

    pub async fn query(&self, service: &Service, number: &ServiceNumber) -> Result<AccountBalance, BalanceError> {
        if !service.can_get_balance {
            return Err(BalanceError::NotSupported);
        }

        let answer = match tokio::time::timeout(self.deadline, self.biller.balance(service, number)).await {
            Ok(answer) => answer,
            Err(_elapsed) => Err(BillerError::Timeout),
        };
        match answer {
            Ok(BalanceAnswer::Found(balance)) => Ok(balance),
            Ok(BalanceAnswer::AccountNotFound) => Err(BalanceError::AccountNotFound),
            Err(BillerError::Timeout) => Err(BalanceError::BillerTimeout),
            Err(other) => Err(BalanceError::BillerUnavailable(other.to_string())),
        }
    }
}
