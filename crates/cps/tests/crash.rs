//! Exactly-once across crashes: concurrent payments against `cps biller-sim`
//! with faults, while `cps serve` is killed with SIGKILL at random moments and
//! restarted. Afterwards, with the settler run, every answered payment exists,
//! none is pending, no operation was charged twice, each float equals credits
//! minus approved payments to the cent, and the ledger sums to zero.
//!
//! The default run makes at least 2,000 payment requests and 5 kills. Set
//! `CPS_CRASH_PAYMENTS` and `CPS_CRASH_KILLS` for a longer run.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cps_domain::{Money, OperationStatus};
use support::*;

/// Concurrent clients sending payments.
const WORKERS: usize = 12;

const CLIENTS: usize = 4;

/// Each client's float in cents: about what the target number of payments
/// spends (they average 10.99 VES), so most are approved and the last ones
/// meet 402.
fn float_cents(target_payments: u64) -> i64 {
    (target_payments as i64 * 1_100 / CLIENTS as i64).max(100_000)
}

/// Hard bound on the whole load phase.
const LOAD_TIME_LIMIT: Duration = Duration::from_secs(240);

/// Server flags: a biller deadline below the simulator's timeout fault, a
/// settler that waits past that deadline, and no rate limit, because this
/// test is about load.
const SERVER_FLAGS: [&str; 8] = [
    "--biller-timeout-ms",
    "300",
    "--settle-after-ms",
    "1000",
    "--settle-interval-ms",
    "200",
    "--rate-limit-per-second",
    "0",
];

/// A payment request and the answer it got, if any.
#[derive(Clone, Debug)]
struct Sent {
    amount_cents: i64,
    status: Option<u16>,
    operation_id: Option<String>,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator for amounts, numbers and kill times.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_survive_server_kills() {
    let target_payments = env_number("CPS_CRASH_PAYMENTS", 2_000);
    let target_kills = env_number("CPS_CRASH_KILLS", 5);

    let sandbox = Sandbox::new();
    let simulator = sandbox.spawn(&[
        "biller-sim",
        "--latency-ms",
        "1",
        "--error-rate",
        "0.03",
        "--timeout-rate",
        "0.03",
        "--timeout-ms",
        "1500",
        "--garbage-rate",
        "0.03",
        "--drop-rate",
        "0.03",
        "--sandbox-timeout-ms",
        "1500",
        "--seed",
        "7",
    ]);

    let store = sandbox.store().await;
    let float = Money::from_cents(float_cents(target_payments)).to_string();
    let mut clients = Vec::new();
    for index in 0..CLIENTS {
        clients.push(create_client(&store, &format!("crash client {index}"), &float).await);
    }

    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let counter = Arc::new(AtomicU64::new(0));
    let mut random = Random(0x5eed_1234);
    let started = Instant::now();
    let mut kills = 0;

    while (counter.load(Ordering::SeqCst) < target_payments || kills < target_kills)
        && started.elapsed() < LOAD_TIME_LIMIT
    {
        let mut server_args = vec!["serve", "--biller-url", simulator.url.as_str()];
        server_args.extend_from_slice(&SERVER_FLAGS);
        let mut server = sandbox.spawn(&server_args);

        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let (clients, sent, counter, stop, url) =
                    (clients.clone(), sent.clone(), counter.clone(), stop.clone(), server.url.clone());
                tokio::spawn(async move { send_payments(worker, clients, url, sent, counter, stop).await })
            })
            .collect();

        tokio::time::sleep(Duration::from_millis(800 + random.below(1_700))).await;
        server.kill();
        kills += 1;
        stop.store(true, Ordering::SeqCst);
        for worker in workers {
            worker.await.expect("worker finishes");
        }
    }
    let sent = sent.lock().unwrap().clone();
    assert!(sent.len() as u64 >= target_payments, "only {} payments in {LOAD_TIME_LIMIT:?}", sent.len());
    assert!(kills >= target_kills, "only {kills} kills");

    // Let every pending operation pass the settle age and every claim of the
    // killed server's settler expire (twice the 300 ms deadline plus 1 s),
    // then settle once.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let settle = sandbox
        .command(&["settle", "--biller-url", &simulator.url, "--biller-timeout-ms", "800", "--settle-after-ms", "1000"])
        .output()
        .unwrap();
    assert!(settle.status.success(), "cps settle failed: {settle:?}");

    check_outcome(&store, &clients, float_cents(target_payments), &sent, &simulator.url).await;
    let mut by_status: Vec<(Option<u16>, usize)> = Vec::new();
    for payment in &sent {
        match by_status.iter_mut().find(|(status, _)| *status == payment.status) {
            Some((_, count)) => *count += 1,
            None => by_status.push((payment.status, 1)),
        }
    }
    by_status.sort();
    eprintln!(
        "crash test: {} payment requests, {kills} kills, {:.1} s; by status (None = no answer): {by_status:?}",
        sent.len(),
        started.elapsed().as_secs_f64()
    );
}

async fn send_payments(
    worker: usize,
    clients: Vec<Client>,
    url: String,
    sent: Arc<Mutex<Vec<Sent>>>,
    counter: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let mut random = Random(0x9e37_79b9_7f4a_7c15 ^ (worker as u64 + 1));
    while !stop.load(Ordering::SeqCst) {
        let sequence = counter.fetch_add(1, Ordering::SeqCst);
        let client = random.below(clients.len() as u64) as usize;
        let amount_cents = 100 + random.below(2_000) as i64;
        // Mostly approved numbers, some rejections and sandbox timeouts.
        let ending = match random.below(50) {
            0 => 9001,
            1 => 9002,
            2 => 9003,
            _ => random.below(9_000),
        };
        let number = format!("0414{:03}{ending:04}", random.below(1_000));
        let amount = Money::from_cents(amount_cents).to_string();
        let body = pay_body(&number, &amount, &format!("crash-{sequence}"));

        let answer = clients[client].pay(&url, &body).await.ok();
        let operation_id = answer.as_ref().and_then(|answer| operation_id_of(&answer.body));
        let record = Sent { amount_cents, status: answer.map(|answer| answer.status), operation_id };
        sent.lock().unwrap().push(record);
    }
}

/// The operation id of a payment answer: the body itself, or the `operation`
/// member of a rejection problem.
fn operation_id_of(body: &serde_json::Value) -> Option<String> {
    body["id"].as_str().or_else(|| body["operation"]["id"].as_str()).map(str::to_string)
}

async fn check_outcome(store: &cps_store::Store, clients: &[Client], credit: i64, sent: &[Sent], simulator_url: &str) {
    let operations = store.all_operations().await.unwrap();
    let by_id: HashMap<&str, &cps_store::OperationRecord> =
        operations.iter().map(|operation| (operation.id.as_str(), operation)).collect();

    let pending = operations.iter().filter(|operation| operation.status == OperationStatus::Pending).count();
    assert_eq!(pending, 0, "operations left pending after settlement");

    for payment in sent {
        let Some(status) = payment.status else { continue };
        if !matches!(status, 200 | 202 | 422) || payment.operation_id.is_none() {
            assert!(matches!(status, 402 | 422 | 409 | 500), "unexpected status {status}: {payment:?}");
            continue;
        }
        let operation_id = payment.operation_id.as_deref().unwrap();
        let operation =
            by_id.get(operation_id).unwrap_or_else(|| panic!("answered operation {operation_id} is missing"));
        assert_eq!(operation.amount.cents(), payment.amount_cents, "{operation_id}: amount");
        match status {
            200 => assert_eq!(operation.status, OperationStatus::Approved, "{operation_id} was answered approved"),
            422 => assert_eq!(operation.status, OperationStatus::Rejected, "{operation_id} was answered rejected"),
            _ => {}
        }
    }

    let stats = simulator_stats(simulator_url).await;
    let approved = operations.iter().filter(|operation| operation.status == OperationStatus::Approved).count() as u64;
    assert_eq!(stats.repeated_charged_requests, 0, "a charged payment was sent again");
    assert_eq!(stats.charged, approved, "the biller charged {} operations, CPS approved {approved}", stats.charged);

    let summaries = store.list_clients().await.unwrap();
    for client in clients {
        let summary = summaries.iter().find(|summary| summary.api_key == client.api_key).unwrap();
        let spent: i64 = operations
            .iter()
            .filter(|operation| operation.client_id == summary.id && operation.status == OperationStatus::Approved)
            .map(|operation| operation.amount.cents())
            .sum();
        assert_eq!(summary.float.cents(), credit - spent, "{}: float", summary.name);
        assert_eq!(summary.reserved.cents(), 0, "{}: reserved", summary.name);
    }

    let ledger = store.check_ledger().await.unwrap();
    assert!(ledger.is_consistent(), "ledger: {ledger:?}");
}
