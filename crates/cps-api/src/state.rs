use std::sync::Arc;
use std::time::Duration;

use cps_payments::{BalanceQuery, LiveCatalog, Payments};
use cps_store::Store;

use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Store,
    /// The catalog file with the operator's overrides.
    pub catalog: LiveCatalog,
    pub payments: Payments,
    pub balances: BalanceQuery,
    /// How far an api-nonce may be from the server clock, either way.
    pub nonce_window: Duration,
    pub body_limit_bytes: usize,
    pub body_read_timeout: Duration,
    /// `None` when rate limiting is off.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    pub metrics: Metrics,
}
