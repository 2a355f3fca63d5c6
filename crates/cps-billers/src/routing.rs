//! Routing: which biller receives each service's payments.
//!
//! A routes file (TOML) names billers and maps service ids to them:
//!
//! ```toml
//! default = "sandbox"
//!
//! [billers.sandbox]
//! kind = "simulator"
//!
//! [billers.movistar]
//! kind = "http"
//! url = "http://127.0.0.1:4100"
//! connect_timeout_ms = 1000
//! request_timeout_ms = 5000
//!
//! [services]
//! 57 = "movistar"
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cps_domain::{OperationId, Service, ServiceId, ServiceNumber};
use serde::Deserialize;

use crate::{
    BalanceAnswer, Biller, BillerError, HttpBiller, HttpBillerConfig, PaymentOutcome, PaymentRequest, PaymentStatus,
    Simulator,
};

/// Billers by service, with a default for services not listed.
#[derive(Clone)]
pub struct BillerRoutes {
    default: Arc<dyn Biller>,
    by_service: HashMap<ServiceId, Arc<dyn Biller>>,
    uses_simulator: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("routes file is not valid TOML: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("routes file: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    default: String,
    billers: HashMap<String, BillerEntry>,
    #[serde(default)]
    services: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
enum BillerEntry {
    Simulator,
    Http {
        url: String,
        #[serde(default = "default_connect_timeout_ms")]
        connect_timeout_ms: u64,
        #[serde(default = "default_request_timeout_ms")]
        request_timeout_ms: u64,
        #[serde(default = "default_connect_retries")]
        connect_retries: u32,
    },
}

fn default_connect_timeout_ms() -> u64 {
    2_000
}

fn default_request_timeout_ms() -> u64 {
    10_000
}

fn default_connect_retries() -> u32 {
    2
}

impl BillerRoutes {
    /// Routes every service to one HTTP biller.
    pub fn single_http(biller: HttpBiller) -> BillerRoutes {
        BillerRoutes { default: Arc::new(biller), by_service: HashMap::new(), uses_simulator: false }
    }

    /// Routes every service to the built-in simulator.
    pub fn simulator() -> BillerRoutes {
        BillerRoutes { default: Arc::new(Simulator::default()), by_service: HashMap::new(), uses_simulator: true }
    }

    /// Whether some service goes to the built-in simulator, whose payments
    /// live in the memory of the process that made them.
    pub fn uses_simulator(&self) -> bool {
        self.uses_simulator
    }

    /// Parses a routes file and builds its billers.
    pub fn from_toml(text: &str) -> Result<BillerRoutes, RoutingError> {
        let file: RoutesFile = toml::from_str(text)?;

        let mut billers: HashMap<String, Arc<dyn Biller>> = HashMap::new();
        let mut simulators = Vec::new();
        for (name, entry) in file.billers {
            if matches!(entry, BillerEntry::Simulator) {
                simulators.push(name.clone());
            }
            billers.insert(name, build_biller(entry)?);
        }
        let find = |name: &str| {
            billers
                .get(name)
                .cloned()
                .ok_or_else(|| RoutingError::Invalid(format!("biller {name:?} is not defined under [billers]")))
        };

        let default = find(&file.default)?;
        let mut uses_simulator = simulators.contains(&file.default);
        let mut by_service = HashMap::new();
        for (service, biller_name) in &file.services {
            let service_id: ServiceId = service
                .parse()
                .map_err(|_| RoutingError::Invalid(format!("service {service:?} is not a service id")))?;
            by_service.insert(service_id, find(biller_name)?);
            uses_simulator |= simulators.contains(biller_name);
        }
        Ok(BillerRoutes { default, by_service, uses_simulator })
    }

    fn biller_for(&self, service_id: ServiceId) -> &Arc<dyn Biller> {
        self.by_service.get(&service_id).unwrap_or(&self.default)
    }
}

fn build_biller(entry: BillerEntry) -> Result<Arc<dyn Biller>, RoutingError> {
    match entry {
        BillerEntry::Simulator => Ok(Arc::new(Simulator::default())),
        BillerEntry::Http { url, connect_timeout_ms, request_timeout_ms, connect_retries } => {
            let config = HttpBillerConfig {
                url: url.trim_end_matches('/').to_string(),
                connect_timeout: Duration::from_millis(connect_timeout_ms),
                request_timeout: Duration::from_millis(request_timeout_ms),
                connect_retries,
            };
            let biller = HttpBiller::new(config).map_err(|error| RoutingError::Invalid(error.to_string()))?;
            Ok(Arc::new(biller))
        }
    }
}

#[async_trait]
impl Biller for BillerRoutes {
    async fn pay(&self, request: &PaymentRequest) -> Result<PaymentOutcome, BillerError> {
        self.biller_for(request.service_id).pay(request).await
    }

    async fn payment_status(
        &self,
        operation_id: &OperationId,
        service_id: ServiceId,
    ) -> Result<PaymentStatus, BillerError> {
        self.biller_for(service_id).payment_status(operation_id, service_id).await
    }

    async fn balance(&self, service: &Service, number: &ServiceNumber) -> Result<BalanceAnswer, BillerError> {
        self.biller_for(service.id).balance(service, number).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_file_parses() {
        let text = r#"
            default = "sandbox"
            [billers.sandbox]
            kind = "simulator"
            [billers.movistar]
            kind = "http"
            url = "http://127.0.0.1:4100/"
            request_timeout_ms = 5000
            [services]
            57 = "movistar"
        "#;
        let routes = BillerRoutes::from_toml(text).expect("routes parse");
        assert_eq!(routes.by_service.len(), 1);
        assert!(routes.uses_simulator());
    }

    #[test]
    fn unknown_biller_is_rejected() {
        let text = "default = \"nowhere\"\n[billers.sandbox]\nkind = \"simulator\"\n";
        assert!(matches!(BillerRoutes::from_toml(text), Err(RoutingError::Invalid(_))));
        let text = "default = \"sandbox\"\n[billers.sandbox]\nkind = \"simulator\"\n[services]\nabc = \"sandbox\"\n";
        assert!(matches!(BillerRoutes::from_toml(text), Err(RoutingError::Invalid(_))));
        let text = "default = \"sandbox\"\n[billers.sandbox]\nkind = \"carrier-pigeon\"\n";
        assert!(BillerRoutes::from_toml(text).is_err());
    }
}
