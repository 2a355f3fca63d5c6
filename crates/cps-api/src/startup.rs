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

use crate::state::AppState;

/// How often expired nonce records are deleted.
const NONCE_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Settings of the HTTP server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// How far an api-nonce may be from the server clock, either way.
    pub nonce_window: Duration,
    /// Larger bodies are rejected with 413.
    pub body_limit_bytes: usize,
    /// The longest wait for a biller's answer before a payment stays pending.
    pub biller_deadline: Duration,
    /// How often the catalog overrides are read again from the database.
    pub catalog_refresh: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 4004)),
            nonce_window: Duration::from_secs(300),
            body_limit_bytes: 16 * 1024,
            biller_deadline: Duration::from_secs(10),
            catalog_refresh: Duration::from_secs(2),
        }
    }
}

/// A server bound to its address and ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
    store: Store,
    catalog: LiveCatalog,
    nonce_window: Duration,
    catalog_refresh: Duration,
}

impl Server {
    /// Binds the listener and assembles the application.
    pub async fn bind(
        config: ServerConfig,
        store: Store,
        catalog: Arc<Catalog>,
        biller: Arc<dyn Biller>,
    ) -> anyhow::Result<Server> {
        let listener =
            TcpListener::bind(config.listen).await.with_context(|| format!("failed to listen on {}", config.listen))?;

        let catalog = LiveCatalog::load(store.clone(), catalog).await?;
        let state = AppState {
            store: store.clone(),
            catalog: catalog.clone(),
            payments: Payments::new(store.clone(), biller.clone(), config.biller_deadline),
            balances: BalanceQuery::new(biller, config.biller_deadline),
            nonce_window: config.nonce_window,
            body_limit_bytes: config.body_limit_bytes,
        };
        let body_limit_bytes = config.body_limit_bytes;
        let router = crate::routes::router(state).layer(axum::middleware::from_fn(move |request, next| {
            crate::context::with_request_context(body_limit_bytes, request, next)
        }));

        Ok(Server {
            listener,
            router,
            store,
            catalog,
            nonce_window: config.nonce_window,
            catalog_refresh: config.catalog_refresh,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then lets running requests finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let purge = tokio::spawn(purge_nonces(self.store.clone(), self.nonce_window));
        let refresh = tokio::spawn(self.catalog.clone().run(self.catalog_refresh));

        tracing::info!(address = %self.local_addr(), "cps listening");
        let served = axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await;

        purge.abort();
        refresh.abort();
        served.context("server failed")
    }
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
