//! The HTTP adapter: one upstream biller that speaks the JSON protocol of
//! [`crate::wire`].

use std::time::Duration;

use async_trait::async_trait;
use cps_domain::{Money, OperationId, Service, ServiceId, ServiceNumber};

use crate::wire::{BalanceBody, PaymentAnswer, PaymentBody};
use crate::{AccountBalance, BalanceAnswer, Biller, BillerError, PaymentOutcome, PaymentRequest, PaymentStatus};

/// Pause between attempts to connect, doubled after each failure.
const CONNECT_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Where an upstream biller is and how long to wait for it.
#[derive(Clone, Debug)]
pub struct HttpBillerConfig {
    /// Base URL, such as `http://127.0.0.1:4100`.
    pub url: String,
    pub connect_timeout: Duration,
    /// The whole exchange, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Extra attempts after a failed connection. Only a connection failure is
    /// retried, because then no byte of the request reached the biller.
    pub connect_retries: u32,
}

impl HttpBillerConfig {
    pub fn new(url: &str) -> HttpBillerConfig {
        HttpBillerConfig {
            url: url.trim_end_matches('/').to_string(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            connect_retries: 2,
        }
    }
}

/// An upstream biller reached over HTTP.
#[derive(Clone, Debug)]
pub struct HttpBiller {
    client: reqwest::Client,
    config: HttpBillerConfig,
}

impl HttpBiller {
    pub fn new(config: HttpBillerConfig) -> Result<HttpBiller, BillerError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|error| BillerError::Unavailable(format!("failed to build the HTTP client: {error}")))?;
        Ok(HttpBiller { client, config })
    }

    /// Sends a request built by `build`, retrying only failed connections.
    /// Returns the status and the whole body.
    async fn exchange(&self, build: impl Fn() -> reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), BillerError> {
        let mut pause = CONNECT_RETRY_PAUSE;
        let mut attempt = 0;
        let response = loop {
            match build().send().await {
                Ok(response) => break response,
                Err(error) if error.is_connect() && attempt < self.config.connect_retries => {
                    let error = error.without_url();
                    tracing::warn!(url = %self.config.url, attempt, error = %error, "biller connection failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                Err(error) => return Err(transport_error(error)),
            }
        };

        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport_error)?;
        Ok((status, body.to_vec()))
    }
}

/// Converts a transport error, dropping its URL: a balance query's URL
/// contains the subscriber number, and the error text ends up in logs and in
/// stored settle errors.
fn transport_error(error: reqwest::Error) -> BillerError {
    if error.is_timeout() {
        BillerError::Timeout
    } else {
        BillerError::Unavailable(error.without_url().to_string())
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, BillerError> {
    serde_json::from_slice(body).map_err(|error| BillerError::InvalidResponse(format!("unreadable body: {error}")))
}

fn unexpected_status(status: u16) -> BillerError {
    if status >= 500 {
        BillerError::Unavailable(format!("the biller answered HTTP {status}"))
    } else {
        BillerError::InvalidResponse(format!("unexpected HTTP {status}"))
    }
}

/// Reads a payment's state. `processing` is only valid for a status query.
fn payment_status_of(answer: PaymentAnswer) -> Result<PaymentStatus, BillerError> {
    match answer.status.as_str() {
        "approved" => Ok(PaymentStatus::Final(PaymentOutcome::Approved {
            provider_reference: answer.provider_reference.unwrap_or_default(),
        })),
        "rejected" => Ok(PaymentStatus::Final(PaymentOutcome::Rejected { reason: answer.reason.unwrap_or_default() })),
        "processing" => Ok(PaymentStatus::Processing),
        other => Err(BillerError::InvalidResponse(format!("unknown payment status {other:?}"))),
    }
}

#[async_trait]
impl Biller for HttpBiller {
    async fn pay(&self, request: &PaymentRequest) -> Result<PaymentOutcome, BillerError> {
        let body = PaymentBody {
            operation_id: request.operation_id.to_string(),
            service_id: request.service_id,
            service_code: request.service_code.clone(),
            number: request.number.as_str().to_string(),
            amount: request.amount.to_string(),
        };
        let url = format!("{}/payments", self.config.url);
        let (status, bytes) = self.exchange(|| self.client.post(&url).json(&body)).await?;
        if status != 200 {
            return Err(unexpected_status(status));
        }

        match payment_status_of(parse(&bytes)?)? {
            PaymentStatus::Final(outcome) => Ok(outcome),
            // Still processing: the outcome is unknown, so the settler asks later.
            PaymentStatus::Processing | PaymentStatus::NotFound => Err(BillerError::Timeout),
        }
    }

    async fn payment_status(
        &self,
        operation_id: &OperationId,
        _service_id: ServiceId,
    ) -> Result<PaymentStatus, BillerError> {
        let url = format!("{}/payments/{}", self.config.url, operation_id);
        let (status, bytes) = self.exchange(|| self.client.get(&url)).await?;
        match status {
            200 => payment_status_of(parse(&bytes)?),
            404 => Ok(PaymentStatus::NotFound),
            other => Err(unexpected_status(other)),
        }
    }

    async fn balance(&self, service: &Service, number: &ServiceNumber) -> Result<BalanceAnswer, BillerError> {
        let url = format!("{}/balances/{}/{}", self.config.url, service.id, number.as_str());
        let (status, bytes) = self.exchange(|| self.client.get(&url)).await?;
        match status {
            200 => {
                let body: BalanceBody = parse(&bytes)?;
                let balance = Money::parse_decimal(&body.balance).map_err(|error| {
                    BillerError::InvalidResponse(format!("invalid balance {:?}: {error}", body.balance))
                })?;
                Ok(BalanceAnswer::Found(AccountBalance {
                    balance,
                    holder_name: body.holder_name,
                    due_date: body.due_date,
                }))
            }
            404 => Ok(BalanceAnswer::AccountNotFound),
            other => Err(unexpected_status(other)),
        }
    }
}
