//! Metrics and health checks, as Prometheus and a load balancer see them.

use cps_api::ServerConfig;
use cps_payments::{Settler, SettlerConfig};

use crate::helpers::*;

const PAY_ROUTE: &str = "/cps/v2/operation/use/pay";

/// Fetches `GET /metrics` from `base_url` and returns its text, checking
/// the status and the content type of the Prometheus text format.
async fn scrape(app: &TestApp, base_url: &str) -> String {
    let answer = app.send(app.http.get(format!("{base_url}/metrics"))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "content-type {content_type}");
    answer.text
}

/// Returns the value of the sample named exactly `series` (name and
/// labels), or `None` when the scrape has no such sample.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

fn requests_series(method: &str, route: &str, status: u16) -> String {
    format!(r#"cps_http_requests_total{{method="{method}",route="{route}",status="{status}"}}"#)
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;

    let approved = app.pay(r#"{"numberService":"04140000001","idTypeService":57,"amount":10}"#).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    let rejected = app.pay(r#"{"numberService":"04140009001","idTypeService":57,"amount":10}"#).await;
    assert_eq!(rejected.status, 422, "{}", rejected.text);
    let unknown = app.send(app.http.get(app.url("/no/such/path/04140000001"))).await;
    assert_eq!(unknown.status, 404);

    let text = scrape(&app, &app.base_url).await;

    assert_eq!(sample(&text, &requests_series("POST", PAY_ROUTE, 200)), Some(1.0), "{text}");
    assert_eq!(sample(&text, &requests_series("POST", PAY_ROUTE, 422)), Some(1.0), "{text}");
    assert_eq!(sample(&text, &requests_series("GET", "unmatched", 404)), Some(1.0), "{text}");
    assert!(!text.contains("/no/such/path"), "a raw path became a label: {text}");
    let latency_count = r#"cps_http_request_duration_seconds_count{method="POST",route="/cps/v2/operation/use/pay"}"#;
    assert_eq!(sample(&text, latency_count), Some(2.0), "{text}");

    assert_eq!(sample(&text, r#"cps_biller_calls_total{call="pay",outcome="approved"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, r#"cps_biller_calls_total{call="pay",outcome="rejected"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, r#"cps_biller_call_duration_seconds_count{call="pay"}"#), Some(2.0), "{text}");
}

#[tokio::test]
async fn metrics_count_the_gateway_alias_separately() {
    let app = spawn_app().await;

    let answer = app.post_signed("/v2/operation/use/pay", EXAMPLE_PAYMENT).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let text = scrape(&app, &app.base_url).await;
    assert_eq!(sample(&text, &requests_series("POST", "/v2/operation/use/pay", 200)), Some(1.0), "{text}");
    assert_eq!(sample(&text, &requests_series("POST", PAY_ROUTE, 200)), None, "{text}");
}

#[tokio::test]
async fn pending_gauges_follow_the_store() {
    let app = spawn_app_with_float("100.00").await;

    let before = scrape(&app, &app.base_url).await;
    assert_eq!(sample(&before, "cps_operations_pending"), Some(0.0), "{before}");
    assert_eq!(sample(&before, "cps_operations_pending_oldest_age_seconds"), Some(0.0), "{before}");

    // The simulator times out on numbers ending in 9002, so the payment
    // stays pending.
    let answer = app.pay(r#"{"numberService":"04140009002","idTypeService":57,"amount":10}"#).await;
    assert_eq!(answer.status, 202, "{}", answer.text);

    let during = scrape(&app, &app.base_url).await;
    assert_eq!(sample(&during, "cps_operations_pending"), Some(1.0), "{during}");
    assert_eq!(sample(&during, "cps_operations_pending_needs_operator"), Some(0.0), "{during}");
    let age = sample(&during, "cps_operations_pending_oldest_age_seconds").expect("age sample");
    assert!(age >= 0.0, "age {age}");
    assert_eq!(sample(&during, r#"cps_biller_calls_total{call="pay",outcome="timeout"}"#), Some(1.0), "{during}");

    let config = SettlerConfig { settle_after: std::time::Duration::ZERO, ..SettlerConfig::default() };
    let report = Settler::new(app.store.clone(), app.simulator.clone(), config).settle_once().await.unwrap();
    assert_eq!(report.approved, 1, "{report:?}");

    let after = scrape(&app, &app.base_url).await;
    assert_eq!(sample(&after, "cps_operations_pending"), Some(0.0), "{after}");
    assert_eq!(sample(&after, "cps_operations_pending_oldest_age_seconds"), Some(0.0), "{after}");
}

#[tokio::test]
async fn metrics_move_to_their_own_listener() {
    let config = ServerConfig { metrics_listen: Some("127.0.0.1:0".parse().unwrap()), ..ServerConfig::default() };
    let app = spawn_app_with("100.00", config).await;
    let metrics_url = app.metrics_url.clone().expect("a metrics listener");

    let answer = app.pay(EXAMPLE_PAYMENT).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let public = app.send(app.http.get(app.url("/metrics"))).await;
    assert_problem(&public, 404, "NOT_FOUND", "public /metrics");
    let text = scrape(&app, &metrics_url).await;
    assert_eq!(sample(&text, &requests_series("POST", PAY_ROUTE, 200)), Some(1.0), "{text}");
}

#[tokio::test]
async fn metrics_report_balance_calls() {
    let app = spawn_app().await;

    let query = "numberService=02123457654&idTypeService=63";
    let payload = r#"{"numberService":"02123457654","idTypeService":63}"#;
    let answer = app.get_signed(BALANCE_PATH, query, payload).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let text = scrape(&app, &app.base_url).await;
    assert_eq!(sample(&text, r#"cps_biller_calls_total{call="balance",outcome="found"}"#), Some(1.0), "{text}");
    assert!(!text.contains("02123457654"), "a subscriber number reached the metrics: {text}");
}

#[tokio::test]
async fn ready_checks_the_database() {
    let app = spawn_app().await;

    let ready = app.send(app.http.get(app.url("/health/ready"))).await;
    assert_eq!(ready.status, 200, "{}", ready.text);

    app.store.close().await;

    let unready = app.send(app.http.get(app.url("/health/ready"))).await;
    assert_eq!(unready.status, 503, "{}", unready.text);
    assert_eq!(unready.json()["status"], "unavailable");
    let live = app.send(app.http.get(app.url("/health/live"))).await;
    assert_eq!(live.status, 200, "{}", live.text);
}

#[tokio::test]
async fn metrics_survive_an_unreadable_store() {
    let app = spawn_app().await;
    let answer = app.pay(EXAMPLE_PAYMENT).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    app.store.close().await;

    let text = scrape(&app, &app.base_url).await;
    assert_eq!(sample(&text, &requests_series("POST", PAY_ROUTE, 200)), Some(1.0), "{text}");
    assert!(!text.contains("cps_operations_pending"), "pending gauges without a store: {text}");
}
