//! `cps serve`: the HTTP server.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cps_api::{RateLimit, Server, ServerConfig};
use cps_billers::Biller;
use cps_domain::{Catalog, Money};
use cps_i18n::Lang;
use cps_payments::{Settler, SettlerConfig, WebhookConfig, WebhookDispatcher};
use cps_store::Store;

use crate::cli::{ServeArgs, WebhookArgs};
use crate::output::say;

/// The name of the client `--demo` creates.
const DEMO_CLIENT_NAME: &str = "demo";

/// The float `--demo` credits: 1,000,000.00 VES.
const DEMO_FLOAT_CENTS: i64 = 100_000_000;

pub async fn run(args: ServeArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    crate::logging::init(args.log_format);

    let biller_deadline = Duration::from_millis(args.biller.biller_timeout_ms);
    let settle_after = Duration::from_millis(args.settle_after_ms);
    if settle_after <= biller_deadline {
        // A "not found" from the biller releases funds, which is only safe
        // once no pay request of the operation can still be in flight.
        say(lang, "cli-settle-after-too-short", &[]);
        return Ok(ExitCode::from(2));
    }

    let store = super::open_store(&args.database).await?;
    let catalog = load_catalog(args.catalog.as_deref())?;
    if args.demo {
        ensure_demo_client(&store, lang).await?;
    }

    let biller: Arc<dyn Biller> = Arc::new(super::billers::build_routes(&args.biller)?);
    let config = ServerConfig {
        listen: args.listen,
        nonce_window: Duration::from_secs(args.nonce_window_secs),
        biller_deadline,
        catalog_refresh: Duration::from_millis(args.catalog_refresh_ms.max(100)),
        rate_limit: RateLimit::per_second(args.rate_limit_per_second, args.rate_limit_burst),
        metrics_listen: args.metrics_listen,
        ..ServerConfig::default()
    };
    let catalog = Arc::new(catalog);
    let server = Server::bind(config, store.clone(), catalog.clone(), biller).await?;
    // The settler calls the biller through the server's wrapper, so its
    // calls show in the same spans and metrics.
    let biller = server.biller();

    let settler_config = SettlerConfig {
        settle_after,
        interval: Duration::from_millis(args.settle_interval_ms),
        give_up_after: Duration::from_secs(args.settle_give_up_after_secs),
        query_deadline: biller_deadline,
        ..SettlerConfig::default()
    };
    let settler = tokio::spawn(Settler::new(store.clone(), biller, settler_config).run());
    let webhooks = tokio::spawn(WebhookDispatcher::new(store.clone(), catalog, webhook_config(&args.webhooks))?.run());

    say(lang, "cli-serve-listening", &[("url", format!("http://{}", server.local_addr()).into())]);
    let served = server.run(shutdown_signal()).await;
    settler.abort();
    webhooks.abort();
    store.close().await;
    served?;
    Ok(ExitCode::SUCCESS)
}

fn webhook_config(args: &WebhookArgs) -> WebhookConfig {
    WebhookConfig {
        interval: Duration::from_millis(args.webhook_interval_ms.max(10)),
        request_timeout: Duration::from_millis(args.webhook_timeout_ms.max(100)),
        retry_initial: Duration::from_millis(args.webhook_retry_initial_ms),
        retry_max: Duration::from_millis(args.webhook_retry_max_ms.max(args.webhook_retry_initial_ms)),
        max_attempts: args.webhook_max_attempts,
        ..WebhookConfig::default()
    }
}

pub(super) fn load_catalog(path: Option<&std::path::Path>) -> anyhow::Result<Catalog> {
    let Some(path) = path else {
        return Ok(Catalog::default_catalog());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("failed to read the catalog {}", path.display()))?;
    Catalog::from_toml(&text).with_context(|| format!("invalid catalog {}", path.display()))
}

/// Creates the demo client and its float the first time; prints its
/// credentials every time.
async fn ensure_demo_client(store: &Store, lang: Lang) -> anyhow::Result<()> {
    let (api_key, secret) = match store.find_client_by_name(DEMO_CLIENT_NAME).await? {
        Some(client) => (client.api_key, client.secret),
        None => {
            let client = store.create_client(DEMO_CLIENT_NAME).await?;
            store.credit_client(&client.api_key, Money::from_cents(DEMO_FLOAT_CENTS)).await?;
            (client.api_key, client.secret)
        }
    };
    let float = store
        .list_clients()
        .await?
        .into_iter()
        .find(|client| client.api_key == api_key)
        .map(|client| client.float)
        .unwrap_or_default();

    say(
        lang,
        "cli-demo-client",
        &[("apiKey", api_key.as_str().into()), ("secret", secret.as_str().into()), ("float", float.to_string().into())],
    );
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
