//! Building the billers from `--biller-url`, `--billers` or the default
//! built-in simulator.

use std::time::Duration;

use anyhow::Context;
use cps_billers::{BillerRoutes, HttpBiller, HttpBillerConfig};

use crate::cli::BillerArgs;

pub fn build_routes(args: &BillerArgs) -> anyhow::Result<BillerRoutes> {
    if let Some(path) = &args.billers {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the routes file {}", path.display()))?;
        return BillerRoutes::from_toml(&text).with_context(|| format!("invalid routes file {}", path.display()));
    }
    if let Some(url) = &args.biller_url {
        let mut config = HttpBillerConfig::new(url);
        config.request_timeout = Duration::from_millis(args.biller_timeout_ms);
        let biller = HttpBiller::new(config).with_context(|| format!("failed to set up the biller at {url}"))?;
        return Ok(BillerRoutes::single_http(biller));
    }
    Ok(BillerRoutes::simulator())
}
