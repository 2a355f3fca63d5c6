//! Building and running the HTTP server, shared by `cps serve` and the tests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use cps_billers::Biller;
use cps_domain::Catalog;
use cps_payments::{BalanceQuery, LiveCatalog, Payments};
use cps_store::Store;
use tokio::net::TcpListener;

use crate::metrics::{InstrumentedBiller, Metrics};
use crate::rate_limit::{RateLimit, RateLimiter};
use crate::state::AppState;

/// How often expired nonce records are deleted.
const NONCE_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Requests per second each client may make by default, sustained.
pub const DEFAULT_RATE_PER_SECOND: u32 = 100;

/// Requests each client may make at once by default, above the sustained
/// rate.
pub const DEFAULT_RATE_BURST: u32 = 200;

/// Settings of the HTTP server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// How far an api-nonce may be from the server clock, either way.
    pub nonce_window: Duration,
    /// Larger bodies are rejected with 413.
    pub body_limit_bytes: usize,
    /// The maximum wait for a request body to arrive in full. A client that
    /// sends less than its `Content-Length` gets 408, and its connection ends.
    pub body_read_timeout: Duration,
    /// The maximum wait for a request's line and headers; a client that sends
    /// them slower has its connection closed.
    pub header_read_timeout: Duration,
    /// The longest wait for a biller's answer before a payment stays pending.
    pub biller_deadline: Duration,
    /// How often the catalog overrides are read again from the database.
    pub catalog_refresh: Duration,
    /// Requests each authenticated client may make; `None` turns the limit
    /// off.
    pub rate_limit: Option<RateLimit>,
    /// Address of a separate listener for `GET /metrics`, such as one only
    /// Prometheus reaches. `None` serves it on `listen`.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 4004)),
            nonce_window: Duration::from_secs(300),
            body_limit_bytes: 16 * 1024,
            body_read_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            biller_deadline: Duration::from_secs(10),
            catalog_refresh: Duration::from_secs(2),
            rate_limit: RateLimit::per_second(DEFAULT_RATE_PER_SECOND, DEFAULT_RATE_BURST),
            metrics_listen: None,
        }
    }
}

/// A server bound to its address and ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
    /// The separate listener of `GET /metrics`, when configured.
    metrics: Option<(TcpListener, Router)>,
    biller: Arc<dyn Biller>,
    store: Store,
    catalog: LiveCatalog,
    nonce_window: Duration,
    catalog_refresh: Duration,
    header_read_timeout: Duration,
}

impl Server {
    /// Binds the listeners and assembles the application.
    pub async fn bind(
        config: ServerConfig,
        store: Store,
        catalog: Arc<Catalog>,
        biller: Arc<dyn Biller>,
    ) -> anyhow::Result<Server> {
        let listener = bind(config.listen).await?;
        let metrics_listener = match config.metrics_listen {
            Some(address) => Some(bind(address).await?),
            None => None,
        };

        let catalog = LiveCatalog::load(store.clone(), catalog).await?;
        let metrics = Metrics::new();
        let biller: Arc<dyn Biller> = Arc::new(InstrumentedBiller::new(biller, metrics.clone()));
        let state = AppState {
            store: store.clone(),
            catalog: catalog.clone(),
            payments: Payments::new(store.clone(), biller.clone(), config.biller_deadline),
            balances: BalanceQuery::new(biller.clone(), config.biller_deadline),
            nonce_window: config.nonce_window,
            body_limit_bytes: config.body_limit_bytes,
            body_read_timeout: config.body_read_timeout,
            rate_limiter: config.rate_limit.map(|limit| Arc::new(RateLimiter::new(limit))),
            metrics,
        };

        let body_limit_bytes = config.body_limit_bytes;
        let metrics_state = state.clone();
        let request_metrics = state.metrics.clone();
        let router = crate::routes::router(state, metrics_listener.is_none()).layer(axum::middleware::from_fn(
            move |request, next| {
                crate::context::with_request_context(body_limit_bytes, request_metrics.clone(), request, next)
            },
        ));
        let metrics = metrics_listener.map(|listener| (listener, crate::routes::metrics_router(metrics_state)));

        Ok(Server {
            listener,
            router,
            metrics,
            biller,
            store,
            catalog,
            nonce_window: config.nonce_window,
            catalog_refresh: config.catalog_refresh,
            header_read_timeout: config.header_read_timeout,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Returns the address of the separate metrics listener, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(listener, _)| listener.local_addr().expect("a bound listener has an address"))
    }

    /// Returns the biller as the server calls it, with spans and metrics around each
    /// call. A settler given this biller shows its calls in the same metrics.
    pub fn biller(&self) -> Arc<dyn Biller> {
        self.biller.clone()
    }

    /// Serves until `shutdown` completes, then lets running requests finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let address = self.local_addr();
        let header_timeout = self.header_read_timeout;
        let purge = tokio::spawn(purge_nonces(self.store.clone(), self.nonce_window));
        let refresh = tokio::spawn(self.catalog.clone().run(self.catalog_refresh));
        let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_sender.send(true);
        });

        let metrics = self.metrics.map(|(listener, router)| {
            if let Ok(address) = listener.local_addr() {
                tracing::info!(%address, "metrics listening");
            }
            let stopped = wait_for_stop(stop_receiver.clone());
            tokio::spawn(crate::serve::serve(listener, router, header_timeout, stopped))
        });

        tracing::info!(%address, "cps listening");
        crate::serve::serve(self.listener, self.router, header_timeout, wait_for_stop(stop_receiver)).await;

        purge.abort();
        refresh.abort();
        if let Some(metrics) = metrics {
            metrics.await.context("metrics server task failed")?;
        }
        Ok(())
    }
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).await.with_context(|| format!("failed to listen on {address}"))
}

/// Completes once the stop signal is sent, or when its sender is gone.
async fn wait_for_stop(mut receiver: tokio::sync::watch::Receiver<bool>) {
    let _ = receiver.wait_for(|stopped| *stopped).await;
}

/// Deletes nonce records older than twice the window: by then any request
/// carrying that nonce is rejected as out of window anyway.
async fn purge_nonces(store: Store, nonce_window: Duration) {
    let mut ticker = tokio::time::interval(NONCE_PURGE_INTERVAL);
    loop {
        ticker.tick().await;
        let cutoff_ms = cps_store::now_ms() - 2 * nonce_window.as_millis() as i64;
        match store.purge_nonces(cutoff_ms).await {
            Ok(deleted) if deleted > 0 => tracing::debug!(deleted, "purged expired nonce records"),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "failed to purge nonce records"),
        }
    }
}
