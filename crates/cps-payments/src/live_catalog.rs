//! The catalog in force: the catalog file with the operator's overrides from
//! the database, reloaded periodically so every instance applies a change
//! without a restart.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use cps_domain::{Catalog, ServiceOverride};
use cps_store::Store;

#[derive(Clone)]
pub struct LiveCatalog {
    base: Arc<Catalog>,
    store: Store,
    state: Arc<RwLock<Applied>>,
}

struct Applied {
    overrides: Vec<ServiceOverride>,
    catalog: Arc<Catalog>,
}

impl LiveCatalog {
    /// Loads the overrides and applies them to `base`.
    pub async fn load(store: Store, base: Arc<Catalog>) -> anyhow::Result<LiveCatalog> {
        let live = LiveCatalog {
            base: base.clone(),
            store,
            state: Arc::new(RwLock::new(Applied { overrides: Vec::new(), catalog: base })),
        };
        live.refresh().await?;
        Ok(live)
    }

    /// Returns the catalog in force, for one request.
    pub fn current(&self) -> Arc<Catalog> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner()).catalog.clone()
    }

    /// Reads the overrides again and rebuilds the catalog if they changed. An
    /// override the catalog file no longer allows is an error, and the
    /// catalog in force stays as it was.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let overrides = self.store.service_overrides().await.context("failed to read catalog overrides")?;
        if self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner()).overrides == overrides {
            return Ok(());
        }
        let catalog = self.base.with_overrides(&overrides).context("catalog overrides do not apply")?;
        tracing::info!(overrides = overrides.len(), "catalog overrides applied");
        *self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Applied { overrides, catalog: Arc::new(catalog) };
        Ok(())
    }

    /// Refreshes every interval, forever; the caller aborts the task.
    pub async fn run(self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = self.refresh().await {
                tracing::error!(error = format!("{error:#}"), "catalog refresh failed");
            }
        }
    }
}
