//! `cps settle`: one settlement pass over the due pending operations.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cps_i18n::Lang;
use cps_payments::{Settler, SettlerConfig};

use crate::cli::SettleArgs;
use crate::output::say;

pub async fn run(args: SettleArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    if args.settle_after_ms <= args.biller.biller_timeout_ms {
        say(lang, "cli-settle-after-too-short", &[]);
        return Ok(ExitCode::from(2));
    }
    let routes = super::billers::build_routes(&args.biller)?;
    if routes.uses_simulator() {
        // The built-in simulator remembers payments only inside the server
        // that made them; asking a fresh one would release charged payments.
        say(lang, "cli-settle-needs-upstream", &[]);
        return Ok(ExitCode::from(2));
    }

    let store = super::open_existing_store(&args.database, lang).await?;
    let config = SettlerConfig {
        settle_after: Duration::from_millis(args.settle_after_ms),
        query_deadline: Duration::from_millis(args.biller.biller_timeout_ms),
        ..SettlerConfig::default()
    };
    let settler = Settler::new(store.clone(), Arc::new(routes), config);
    let report = settler.settle_all_due().await?;
    let (pending, flagged) = store.count_pending().await?;

    say(
        lang,
        "cli-settle-report",
        &[
            ("approved", report.approved.into()),
            ("rejected", report.rejected.into()),
            ("deferred", report.deferred.into()),
            ("flagged", report.flagged.into()),
            ("pending", pending.into()),
            ("operator", flagged.into()),
            ("settleAfterMs", args.settle_after_ms.into()),
        ],
    );
    Ok(ExitCode::SUCCESS)
}
