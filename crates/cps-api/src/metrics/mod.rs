//! Prometheus metrics: HTTP requests, biller calls and pending operations.
//!
//! Request and biller metrics live in memory and count from the start of the
//! process. Pending operations are read from the store at each scrape, so
//! every instance sharing a database reports the same values for them.

mod biller;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

pub(crate) use biller::InstrumentedBiller;

/// The `Content-Type` of the Prometheus text exposition format 0.0.4.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds, in seconds, of the latency histogram buckets: from 1 ms, for
/// reads served from memory, to 10 s, the default biller deadline.
const LATENCY_BUCKETS_SECONDS: [f64; 13] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The route label of a request that matched no route. Raw paths never
/// become labels, so unknown paths cannot grow the number of series.
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BillerCallLabels {
    call: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BillerKindLabels {
    call: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS_SECONDS)
}

/// The metrics of one server. Clones share the same counters.
#[derive(Clone)]
pub(crate) struct Metrics {
    families: Arc<Families>,
}

struct Families {
    requests: Family<RequestLabels, Counter>,
    request_duration: HistogramFamily<RouteLabels>,
    biller_calls: Family<BillerCallLabels, Counter>,
    biller_call_duration: HistogramFamily<BillerKindLabels>,
}

/// Pending operations as the store reports them at scrape time.
pub(crate) struct PendingSnapshot {
    pub summary: cps_store::PendingSummary,
    pub now_ms: i64,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            families: Arc::new(Families {
                requests: Family::default(),
                request_duration: Family::new_with_constructor(latency_histogram),
                biller_calls: Family::default(),
                biller_call_duration: Family::new_with_constructor(latency_histogram),
            }),
        }
    }

    /// Counts a request once its response is ready. `route` is the route
    /// template, such as
    /// `/cps/v2/operation/use/pay`, or [`UNMATCHED_ROUTE`].
    pub fn record_request(&self, method: &axum::http::Method, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let route = route.to_string();
        let duration_labels = RouteLabels { method, route: route.clone() };
        self.families.requests.get_or_create(&RequestLabels { method, route, status }).inc();
        self.families.request_duration.get_or_create(&duration_labels).observe(elapsed.as_secs_f64());
    }

    /// Counts a finished biller call. `call` is `pay`, `payment_status` or
    /// `balance`; `outcome` names the biller's result or the failure.
    pub fn record_biller_call(&self, call: &'static str, outcome: &'static str, elapsed: Duration) {
        self.families.biller_calls.get_or_create(&BillerCallLabels { call, outcome }).inc();
        self.families.biller_call_duration.get_or_create(&BillerKindLabels { call }).observe(elapsed.as_secs_f64());
    }

    /// Writes every metric in the Prometheus text format. The pending
    /// gauges are left out when the store could not be read, so a scrape
    /// never shows a stale or invented value for them.
    pub fn encode(&self, pending: Option<&PendingSnapshot>) -> String {
        let mut registry = Registry::with_prefix("cps");
        let families = &self.families;
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            families.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from receiving a request to sending its answer, by method and route template",
            Unit::Seconds,
            families.request_duration.clone(),
        );
        registry.register("biller_calls", "Calls to billers, by call and outcome", families.biller_calls.clone());
        registry.register_with_unit(
            "biller_call_duration",
            "Duration of calls to billers, by call",
            Unit::Seconds,
            families.biller_call_duration.clone(),
        );
        if let Some(pending) = pending {
            register_pending(&mut registry, pending);
        }

        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
            .expect("writing to a String cannot fail");
        text
    }
}

fn register_pending(registry: &mut Registry, pending: &PendingSnapshot) {
    let summary = &pending.summary;
    let count: Gauge<i64> = Gauge::default();
    count.set(summary.pending);
    registry.register("operations_pending", "Operations waiting for their final state, in the store", count);

    let needs_operator: Gauge<i64> = Gauge::default();
    needs_operator.set(summary.needs_operator);
    registry.register(
        "operations_pending_needs_operator",
        "Pending operations the settler gave up on; an operator must decide them",
        needs_operator,
    );

    // Zero when nothing is pending, so an alert on this age needs no special
    // case for an empty queue.
    let oldest_age_ms = summary.oldest_created_at_ms.map_or(0, |created| (pending.now_ms - created).max(0));
    let oldest_age: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
    oldest_age.set(oldest_age_ms as f64 / 1000.0);
    registry.register_with_unit(
        "operations_pending_oldest_age",
        "Age of the oldest pending operation, 0 when none is pending",
        Unit::Seconds,
        oldest_age,
    );
}

/// Returns the name of a standard method, or `OTHER` for any other, so a
/// client inventing methods cannot grow the number of series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_shows_counters_and_pending() {
        let metrics = Metrics::new();
        metrics.record_request(&axum::http::Method::POST, "/cps/v2/operation/use/pay", 200, Duration::from_millis(3));
        metrics.record_biller_call("pay", "approved", Duration::from_millis(2));
        let pending = PendingSnapshot {
            summary: cps_store::PendingSummary { pending: 2, needs_operator: 1, oldest_created_at_ms: Some(1_000) },
            now_ms: 91_500,
        };

        let text = metrics.encode(Some(&pending));

        assert!(
            text.contains(r#"cps_http_requests_total{method="POST",route="/cps/v2/operation/use/pay",status="200"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"cps_biller_calls_total{call="pay",outcome="approved"} 1"#), "{text}");
        assert!(text.contains("cps_operations_pending 2\n"), "{text}");
        assert!(text.contains("cps_operations_pending_needs_operator 1\n"), "{text}");
        assert!(text.contains("cps_operations_pending_oldest_age_seconds 90.5\n"), "{text}");
    }

    #[test]
    fn pending_gauges_absent_without_snapshot() {
        let text = Metrics::new().encode(None);
        assert!(!text.contains("cps_operations_pending"), "{text}");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let method = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&method), "OTHER");
    }
}
