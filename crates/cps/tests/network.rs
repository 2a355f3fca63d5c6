//! The HTTP biller adapter and the settler against `cps biller-sim` over
//! real HTTP, one fault kind at a time: each operation must end approved,
//! rejected or pending exactly as the fault implies, with float and ledger in
//! agreement.

mod support;

use std::time::Duration;

use cps_domain::OperationStatus;
use support::*;

/// Server flags: wait 500 ms for the biller, settle after 1 s, every 100 ms,
/// and no rate limit, because some cases send bursts of payments.
const SERVER_TIMING: [&str; 8] = [
    "--biller-timeout-ms",
    "500",
    "--settle-after-ms",
    "1000",
    "--settle-interval-ms",
    "100",
    "--rate-limit-per-second",
    "0",
];

struct Setup {
    sandbox: Sandbox,
    simulator: Process,
    server: Process,
    client: Client,
}

async fn setup(simulator_flags: &[&str], extra_server_flags: &[&str]) -> Setup {
    let sandbox = Sandbox::new();
    let mut simulator_args = vec!["biller-sim"];
    simulator_args.extend_from_slice(simulator_flags);
    let simulator = sandbox.spawn(&simulator_args);

    let store = sandbox.store().await;
    let client = create_client(&store, "network test", "100.00").await;
    store.close().await;

    let mut server_args = vec!["serve", "--biller-url", simulator.url.as_str()];
    server_args.extend_from_slice(&SERVER_TIMING);
    server_args.extend_from_slice(extra_server_flags);
    let server = sandbox.spawn(&server_args);
    Setup { sandbox, simulator, server, client }
}

impl Setup {
    async fn pay(&self, number: &str, reference: &str) -> Answer {
        self.client.pay(&self.server.url, &pay_body(number, "10", reference)).await.expect("the server answers")
    }

    async fn float(&self) -> String {
        let store = self.sandbox.store().await;
        let clients = store.list_clients().await.unwrap();
        clients[0].float.to_string()
    }

    async fn assert_ledger_consistent(&self) {
        let store = self.sandbox.store().await;
        let check = store.check_ledger().await.unwrap();
        assert!(check.is_consistent(), "ledger: {check:?}");
    }
}

#[tokio::test]
async fn healthy_biller_approves_directly() {
    let setup = setup(&["--latency-ms", "20"], &[]).await;

    let answer = setup.pay("04140000001", "ok-1").await;

    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["status"], "approved");
    assert_eq!(setup.float().await, "90.00");
    let stats = simulator_stats(&setup.simulator.url).await;
    assert_eq!(stats.charged, 1);
    assert_eq!(stats.repeated_charged_requests, 0);
    setup.assert_ledger_consistent().await;
}

#[tokio::test]
async fn biller_rejection_releases_funds() {
    let setup = setup(&[], &[]).await;

    let answer = setup.pay("04140009001", "no-1").await;

    assert_eq!(answer.status, 422, "{answer:?}");
    assert_eq!(answer.body["code"], "PROVIDER_REJECTED");
    assert_eq!(setup.float().await, "100.00");
    setup.assert_ledger_consistent().await;
}

/// Faults after the charge: the answer is lost but the biller charged, so
/// the settler must find the payment approved.
#[tokio::test]
async fn lost_answers_settle_approved() {
    let faults: [(&str, &[&str]); 3] = [
        ("timeout", &["--timeout-rate", "1", "--timeout-ms", "3000"]),
        ("unreadable body", &["--garbage-rate", "1"]),
        ("dropped connection", &["--drop-rate", "1"]),
    ];
    for (fault, flags) in faults {
        let setup = setup(flags, &[]).await;

        let first = setup.pay("04140000001", "lost-1").await;
        assert_eq!(first.status, 202, "{fault}: {first:?}");
        assert_eq!(first.body["status"], "pending", "{fault}");
        assert_eq!(setup.float().await, "90.00", "{fault}: the amount is reserved");

        let store = setup.sandbox.store().await;
        wait_until_settled(&store, Duration::from_secs(20)).await;

        let retry = setup.pay("04140000001", "lost-1").await;
        assert_eq!(retry.status, 200, "{fault}: retry after settlement {retry:?}");
        assert!(retry.replayed, "{fault}: retry is a replay");
        assert_eq!(retry.body["status"], "approved", "{fault}");
        assert_eq!(setup.float().await, "90.00", "{fault}: charged once");

        let operation = store.all_operations().await.unwrap().remove(0);
        let events = store.operation_events(&operation.id).await.unwrap();
        let statuses: Vec<&str> = events.iter().map(|(status, _, _)| status.as_str()).collect();
        assert_eq!(statuses, ["pending", "approved"], "{fault}: events {events:?}");
        assert!(events[1].1.contains("biller reports it approved"), "{fault}: cause {events:?}");

        let stats = simulator_stats(&setup.simulator.url).await;
        assert_eq!(stats.charged, 1, "{fault}: one charge");
        assert_eq!(stats.pay_requests, 1, "{fault}: the payment was never sent again");
        setup.assert_ledger_consistent().await;
    }
}

/// A 5xx before the charge: the biller has no record, so the settler
/// releases the funds and a retry learns the rejection.
#[tokio::test]
async fn server_error_settles_rejected() {
    let setup = setup(&["--error-rate", "1"], &[]).await;

    let first = setup.pay("04140000001", "err-1").await;
    assert_eq!(first.status, 202, "{first:?}");

    let store = setup.sandbox.store().await;
    wait_until_settled(&store, Duration::from_secs(20)).await;

    let retry = setup.pay("04140000001", "err-1").await;
    assert_eq!(retry.status, 422, "{retry:?}");
    assert_eq!(retry.body["code"], "PROVIDER_REJECTED");
    assert!(retry.replayed);
    assert_eq!(setup.float().await, "100.00");
    assert_eq!(simulator_stats(&setup.simulator.url).await.charged, 0);

    let operations = store.all_operations().await.unwrap();
    assert_eq!(operations[0].status, OperationStatus::Rejected);
    setup.assert_ledger_consistent().await;
}

/// The sandbox endings over the network: 9002 settles approved, 9003
/// rejected.
#[tokio::test]
async fn sandbox_timeouts_settle() {
    let setup = setup(&["--sandbox-timeout-ms", "3000"], &[]).await;

    let approved_later = setup.pay("04140009002", "late-ok").await;
    let rejected_later = setup.pay("04140009003", "late-no").await;
    assert_eq!(approved_later.status, 202, "{approved_later:?}");
    assert_eq!(rejected_later.status, 202, "{rejected_later:?}");
    assert_eq!(setup.float().await, "80.00");

    let store = setup.sandbox.store().await;
    wait_until_settled(&store, Duration::from_secs(20)).await;

    assert_eq!(setup.pay("04140009002", "late-ok").await.status, 200);
    assert_eq!(setup.pay("04140009003", "late-no").await.status, 422);
    assert_eq!(setup.float().await, "90.00");
    setup.assert_ledger_consistent().await;
}

/// An unreachable biller: the payment stays pending, each settlement attempt
/// is counted with its error, and after the give-up age an operator is
/// needed.
#[tokio::test]
async fn unreachable_biller_is_flagged() {
    let sandbox = Sandbox::new();
    let store = sandbox.store().await;
    let client = create_client(&store, "network test", "100.00").await;
    let nowhere = format!("http://127.0.0.1:{}", free_port());

    let mut args = vec!["serve", "--biller-url", nowhere.as_str(), "--settle-give-up-after-secs", "2"];
    args.extend_from_slice(&SERVER_TIMING);
    let server = sandbox.spawn(&args);

    let answer = client.pay(&server.url, &pay_body("04140000001", "10", "down-1")).await.unwrap();
    assert_eq!(answer.status, 202, "{answer:?}");

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let operation = store.all_operations().await.unwrap().remove(0);
        if operation.needs_operator {
            assert_eq!(operation.status, OperationStatus::Pending);
            assert!(operation.settle_attempts >= 1, "{operation:?}");
            assert!(operation.last_settle_error.is_some(), "{operation:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never flagged: {operation:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let listed = sandbox.command(&["operation", "pending", "--json"]).output().unwrap();
    let pending: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON list");
    assert_eq!(pending[0]["needsOperator"], true, "{pending}");
    assert!(pending[0]["settleAttempts"].as_i64().unwrap() >= 1, "{pending}");
    assert!(pending[0]["lastSettleError"].is_string(), "{pending}");

    let clients = store.list_clients().await.unwrap();
    assert_eq!(clients[0].float.to_string(), "90.00");
    assert_eq!(clients[0].reserved.to_string(), "10.00");
    assert!(store.check_ledger().await.unwrap().is_consistent());
}

#[tokio::test]
async fn settle_command_needs_upstream_biller() {
    let sandbox = Sandbox::new();
    let output = sandbox.command(&["settle"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stdout).contains("--biller-url"));
}
