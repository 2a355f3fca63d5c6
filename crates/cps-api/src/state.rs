use std::time::Duration;

use cps_payments::{BalanceQuery, LiveCatalog, Payments};
use cps_store::Store;

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
}
