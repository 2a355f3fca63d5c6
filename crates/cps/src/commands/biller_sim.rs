//! `cps biller-sim`: the stand-alone upstream biller for tests and demos.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use cps_billers::sim_server::{self, SimulatorConfig};
use cps_i18n::Lang;

use crate::cli::BillerSimArgs;
use crate::output::say;

pub async fn run(args: BillerSimArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let rates = [
        ("--error-rate", args.error_rate),
        ("--timeout-rate", args.timeout_rate),
        ("--garbage-rate", args.garbage_rate),
        ("--drop-rate", args.drop_rate),
    ];
    if let Some((option, value)) = rates.iter().find(|(_, rate)| !(0.0..=1.0).contains(rate)) {
        say(lang, "cli-sim-invalid-rate", &[("option", (*option).into()), ("value", value.to_string().into())]);
        return Ok(ExitCode::from(2));
    }
    if rates.iter().map(|(_, rate)| rate).sum::<f64>() > 1.0 {
        say(lang, "cli-sim-rates-over-one", &[]);
        return Ok(ExitCode::from(2));
    }
    crate::logging::init(crate::logging::LogFormat::Auto);

    let config = SimulatorConfig {
        latency: Duration::from_millis(args.latency_ms),
        error_rate: args.error_rate,
        timeout_rate: args.timeout_rate,
        timeout_delay: Duration::from_millis(args.timeout_ms),
        garbage_rate: args.garbage_rate,
        drop_rate: args.drop_rate,
        sandbox_timeout_delay: Duration::from_millis(args.sandbox_timeout_ms),
        seed: args.seed,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let address = listener.local_addr()?;

    say(lang, "cli-sim-listening", &[("url", format!("http://{address}").into())]);
    tracing::info!(%address, ?config, "biller simulator listening");
    axum::serve(listener, sim_server::router(config))
        .with_graceful_shutdown(super::serve::shutdown_signal())
        .await
        .context("biller simulator failed")?;
    Ok(ExitCode::SUCCESS)
}
