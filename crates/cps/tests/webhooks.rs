//! Webhooks from a real `cps serve` to a real local receiver: signed like
//! requests, retried after failures, never repeated after success, and kept
//! across a restart.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use support::*;

const HOOK_PATH: &str = "/hooks/cps";

/// Flags that make deliveries and retries quick enough for a test.
const FAST_WEBHOOKS: [&str; 6] =
    ["--webhook-interval-ms", "50", "--webhook-retry-initial-ms", "100", "--webhook-retry-max-ms", "400"];

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

/// A client's webhook endpoint on a local port. It returns 500 while
/// `failures_left` is above zero, then 204.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    failures_left: Arc<AtomicU32>,
}

impl Receiver {
    /// Serves on `port` (0 for any free one) and returns the callback URL.
    async fn start(&self, port: u16) -> String {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("receiver binds");
        let url = format!("http://{}{HOOK_PATH}", listener.local_addr().unwrap());
        let app = axum::Router::new().route(HOOK_PATH, axum::routing::post(receive)).with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` deliveries arrived, then returns them.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let received = self.all();
            if received.len() >= count {
                return received;
            }
            assert!(Instant::now() < deadline, "{} of {count} webhooks arrived", received.len());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver.received.lock().unwrap().push(Received { headers, body });
    let failing = receiver.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
    if failing.is_ok() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Checks the signature with the very function the server uses to check
/// requests, as a client reuses its own signing code.
fn assert_signed(webhook: &Received, client: &Client) {
    assert_eq!(webhook.header("api-key"), client.api_key);
    let verified = cps_api::check_signature(
        &client.secret,
        "POST",
        HOOK_PATH,
        None,
        webhook.header("api-nonce"),
        &webhook.body,
        webhook.header("api-signature"),
    );
    assert!(verified, "webhook signature does not verify: {webhook:?}");
}

fn set_callback(sandbox: &Sandbox, client: &Client, url: &str) {
    let output = sandbox.cps(&["client", "callback", &client.api_key, "--url", url]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn cps_json(sandbox: &Sandbox, args: &[&str]) -> Value {
    let output = sandbox.cps(args);
    assert!(output.status.success(), "cps {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[tokio::test]
async fn outcomes_delivered_signed_once() {
    let sandbox = Sandbox::new();
    let client = create_client(&sandbox.store().await, "hooked", "100.00").await;
    let receiver = Receiver::default();
    set_callback(&sandbox, &client, &receiver.start(0).await);
    let server = sandbox.spawn(&[&["serve"][..], &FAST_WEBHOOKS].concat());

    let approved = client.pay(&server.url, &pay_body("04140000001", "10", "ok-1")).await.unwrap();
    let rejected = client.pay(&server.url, &pay_body("04140009001", "10", "no-1")).await.unwrap();
    assert_eq!((approved.status, rejected.status), (200, 422));

    let webhooks = receiver.wait_for(2).await;
    for webhook in &webhooks {
        assert_signed(webhook, &client);
        let body = webhook.json();
        assert_eq!(webhook.header("cps-webhook-id"), body["id"]);
        assert_eq!(webhook.header("cps-event"), body["event"]);
    }
    let event_of = |id: &Value| {
        let webhook = webhooks.iter().find(|webhook| webhook.json()["operation"]["id"] == *id).expect("webhook sent");
        (webhook.json()["event"].clone(), webhook.json()["operation"]["status"].clone())
    };
    assert_eq!(event_of(&approved.body["id"]), ("operation.approved".into(), "approved".into()));
    assert_eq!(event_of(&rejected.body["operation"]["id"]), ("operation.rejected".into(), "rejected".into()));

    // Several more passes of the dispatcher send nothing again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.all().len(), 2, "a delivered webhook was sent again");
    let log = cps_json(&sandbox, &["webhook", "list", "--json"]);
    for delivery in log.as_array().unwrap() {
        assert_eq!(delivery["status"], "delivered", "{delivery}");
        assert_eq!(delivery["attempts"].as_array().unwrap().len(), 1, "{delivery}");
        assert_eq!(delivery["attempts"][0]["statusCode"], 204, "{delivery}");
    }
}

#[tokio::test]
async fn failed_deliveries_retry_then_give_up() {
    let sandbox = Sandbox::new();
    let client = create_client(&sandbox.store().await, "flaky", "100.00").await;
    let receiver = Receiver::default();
    receiver.failures_left.store(2, Ordering::SeqCst);
    set_callback(&sandbox, &client, &receiver.start(0).await);
    let server = sandbox.spawn(&[&["serve", "--webhook-max-attempts", "3"][..], &FAST_WEBHOOKS].concat());

    client.pay(&server.url, &pay_body("04140000001", "10", "flaky-1")).await.unwrap();
    let webhooks = receiver.wait_for(3).await;
    assert_eq!(webhooks.len(), 3);
    assert!(webhooks.iter().all(|webhook| webhook.header("cps-webhook-id") == webhooks[0].header("cps-webhook-id")));
    let log = cps_json(&sandbox, &["webhook", "list", "--json"]);
    let codes: Vec<&Value> =
        log[0]["attempts"].as_array().unwrap().iter().map(|attempt| &attempt["statusCode"]).collect();
    assert_eq!(codes, [500, 500, 204]);
    assert_eq!(log[0]["status"], "delivered");

    // Three failures spend the attempts: the delivery fails for good.
    receiver.failures_left.store(3, Ordering::SeqCst);
    client.pay(&server.url, &pay_body("04140000001", "10", "flaky-2")).await.unwrap();
    receiver.wait_for(6).await;
    let failed = wait_for_delivery_status(&sandbox, "failed").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), 6, "a failed delivery was tried again on its own");

    let retry = sandbox.cps(&["webhook", "retry", failed["id"].as_str().unwrap()]);
    assert!(retry.status.success(), "{}", String::from_utf8_lossy(&retry.stdout));
    let webhooks = receiver.wait_for(7).await;
    assert_eq!(webhooks[6].header("cps-webhook-id"), failed["id"]);
    assert_signed(&webhooks[6], &client);
}

#[tokio::test]
async fn deliveries_survive_restart() {
    let sandbox = Sandbox::new();
    let client = create_client(&sandbox.store().await, "offline", "100.00").await;
    let port = free_port();
    set_callback(&sandbox, &client, &format!("http://127.0.0.1:{port}{HOOK_PATH}"));
    let mut server = sandbox.spawn(&[&["serve"][..], &FAST_WEBHOOKS].concat());

    let mut operation_ids = Vec::new();
    for index in 0..3 {
        let answer = client.pay(&server.url, &pay_body("04140000001", "5", &format!("down-{index}"))).await.unwrap();
        assert_eq!(answer.status, 200, "payments do not wait for webhooks: {:?}", answer.body);
        operation_ids.push(answer.body["id"].as_str().unwrap().to_string());
    }
    // Wait until the receiver's absence has been seen, then cut the power.
    wait_for_failed_attempts(&sandbox, 3).await;
    server.kill();

    let receiver = Receiver::default();
    receiver.start(port).await;
    let _restarted = sandbox.spawn(&[&["serve"][..], &FAST_WEBHOOKS].concat());
    let webhooks = receiver.wait_for(3).await;

    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut delivered: Vec<String> =
        receiver.all().iter().map(|webhook| webhook.json()["operation"]["id"].as_str().unwrap().to_string()).collect();
    delivered.sort();
    operation_ids.sort();
    assert_eq!(delivered, operation_ids, "each outcome once, after the restart");
    for webhook in &webhooks {
        assert_signed(webhook, &client);
    }
}

#[tokio::test]
async fn refund_sends_webhook() {
    let sandbox = Sandbox::new();
    let client = create_client(&sandbox.store().await, "refunded", "100.00").await;
    let receiver = Receiver::default();
    set_callback(&sandbox, &client, &receiver.start(0).await);
    let server = sandbox.spawn(&[&["serve"][..], &FAST_WEBHOOKS].concat());

    let paid = client.pay(&server.url, &pay_body("04140000001", "40", "refund-1")).await.unwrap();
    let id = paid.body["id"].as_str().unwrap();
    receiver.wait_for(1).await;

    let refund = sandbox.cps(&["--lang", "en", "operation", "refund", id, "--reason", "customer complaint"]);
    assert!(refund.status.success(), "{}", String::from_utf8_lossy(&refund.stderr));
    assert!(
        String::from_utf8_lossy(&refund.stdout).contains("now 100.00"),
        "{}",
        String::from_utf8_lossy(&refund.stdout)
    );

    let webhooks = receiver.wait_for(2).await;
    let refunded = webhooks.iter().find(|webhook| webhook.header("cps-event") == "operation.refunded").unwrap();
    assert_signed(refunded, &client);
    assert_eq!(refunded.json()["operation"]["status"], "refunded");
    assert_eq!(refunded.json()["operation"]["id"], id);
    let approved = webhooks.iter().find(|webhook| webhook.header("cps-event") == "operation.approved").unwrap();
    assert_eq!(approved.json()["operation"]["status"], "approved");
}

async fn wait_for_delivery_status(sandbox: &Sandbox, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = cps_json(sandbox, &["webhook", "list", "--status", status, "--json"]);
        if let Some(delivery) = log.as_array().and_then(|deliveries| deliveries.first()) {
            return delivery.clone();
        }
        assert!(Instant::now() < deadline, "no delivery reached {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `count` deliveries each have a failed attempt.
async fn wait_for_failed_attempts(sandbox: &Sandbox, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = cps_json(sandbox, &["webhook", "list", "--json"]);
        let tried = log.as_array().unwrap().iter().filter(|delivery| delivery["lastError"].is_string()).count();
        if tried >= count {
            return;
        }
        assert!(Instant::now() < deadline, "only {tried} deliveries were tried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn delivery_logs_name_their_delivery() {
    let sandbox = Sandbox::new();
    let client = create_client(&sandbox.store().await, "logged", "100.00").await;
    let receiver = Receiver::default();
    set_callback(&sandbox, &client, &receiver.start(0).await);

    let address = format!("127.0.0.1:{}", free_port());
    let log_path = sandbox.directory.path().join("serve.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = sandbox
        .command(&[&["serve", "--listen", &address][..], &FAST_WEBHOOKS].concat())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("cps starts");
    let url = format!("http://{address}");
    wait_until_listening(&address);

    let bodies: Vec<String> = (0..6).map(|index| pay_body("04140000001", "1", &format!("log-{index}"))).collect();
    futures_util::future::join_all(bodies.iter().map(|body| client.pay(&url, body))).await;
    let webhooks = receiver.wait_for(6).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&log_path).unwrap();
    let delivered: Vec<&str> = log.lines().filter(|line| line.contains("webhook delivered")).collect();
    assert_eq!(delivered.len(), 6, "{log}");
    for webhook in &webhooks {
        let id = webhook.header("cps-webhook-id");
        let lines = delivered.iter().filter(|line| line.contains(id)).count();
        assert_eq!(lines, 1, "delivery {id} is not named once among the delivered lines:\n{log}");
    }
    for line in log.lines() {
        let mut named: Vec<&str> = line.match_indices("whk_").filter_map(|(at, _)| line.get(at..at + 30)).collect();
        named.sort_unstable();
        named.dedup();
        assert!(named.len() <= 1, "a line names several deliveries: {line}");
    }
}

fn wait_until_listening(address: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(address).is_err() {
        assert!(Instant::now() < deadline, "cps did not listen on {address}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
