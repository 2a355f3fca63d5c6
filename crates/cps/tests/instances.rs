//! Several `cps serve` instances on one PostgreSQL database: everything that
//! must be unique or exclusive holds across instances. PostgreSQL only:
//! `scripts/test` runs this file in its PostgreSQL pass.

mod support;

use std::time::Duration;

use cps_domain::OperationStatus;
use futures_util::future::join_all;
use support::*;

/// Two instances of `cps serve` on the sandbox's database, sending payments to
/// one stand-alone biller simulator.
struct Cluster {
    sandbox: Sandbox,
    simulator: Process,
    instances: [Process; 2],
}

fn start_cluster(simulator_flags: &[&str], server_flags: &[&str]) -> Cluster {
    assert_eq!(
        cps_store::testing::backend_under_test(),
        cps_store::Backend::Postgres,
        "these tests need CPS_TEST_DATABASE=postgres; run them through scripts/test"
    );
    let sandbox = Sandbox::new();
    let mut simulator_args = vec!["biller-sim"];
    simulator_args.extend_from_slice(simulator_flags);
    let simulator = sandbox.spawn(&simulator_args);

    // No rate limit: these tests send bursts to one client.
    let mut args = vec!["serve", "--biller-url", simulator.url.as_str(), "--rate-limit-per-second", "0"];
    args.extend_from_slice(server_flags);
    let instances = [sandbox.spawn(&args), sandbox.spawn(&args)];
    Cluster { sandbox, simulator, instances }
}

impl Cluster {
    fn url(&self, index: usize) -> &str {
        &self.instances[index % 2].url
    }
}

#[tokio::test]
async fn float_is_spent_once_across_instances() {
    let cluster = start_cluster(&[], &[]);
    let store = cluster.sandbox.store().await;
    let client = create_client(&store, "two instances", "100.00").await;

    let payments = (0..50).map(|index| {
        let body = pay_body(&format!("0414{:07}", index + 1), "10", &format!("spread-{index}"));
        let (client, url) = (client.clone(), cluster.url(index).to_string());
        async move { client.pay(&url, &body).await.expect("an instance answers") }
    });
    let answers = join_all(payments).await;

    let approved = answers.iter().filter(|answer| answer.status == 200).count();
    let refused = answers.iter().filter(|answer| answer.status == 402).count();
    assert_eq!(approved, 10, "{answers:?}");
    assert_eq!(refused, 40, "{answers:?}");
    assert_eq!(store.list_clients().await.unwrap()[0].float.to_string(), "0.00");
    assert_eq!(simulator_stats(&cluster.simulator.url).await.charged, 10);
    assert!(store.check_ledger().await.unwrap().is_consistent());
}

#[tokio::test]
async fn replay_is_accepted_once_across_instances() {
    let cluster = start_cluster(&[], &[]);
    let store = cluster.sandbox.store().await;
    let client = create_client(&store, "two instances", "100.00").await;

    // One signed request, sent as is to both instances at once.
    let body = pay_body("04140000001", "10", "replayed");
    let nonce = next_nonce();
    let signature = cps_api::sign(&client.secret, &format!("{PAY_PATH}{nonce}{body}"));
    let sends = (0..2).map(|index| {
        let request = client
            .http
            .post(format!("{}{PAY_PATH}", cluster.url(index)))
            .header("content-type", "application/json")
            .header("api-key", &client.api_key)
            .header("api-nonce", &nonce)
            .header("api-signature", &signature)
            .body(body.clone());
        async move { request.send().await.expect("an instance answers").status().as_u16() }
    });
    let mut statuses = join_all(sends).await;
    statuses.sort();

    assert_eq!(statuses, [200, 401], "one instance accepts, the other sees a replay");
    assert_eq!(store.list_clients().await.unwrap()[0].float.to_string(), "90.00");
}

#[tokio::test]
async fn one_reference_charges_once_across_instances() {
    let cluster = start_cluster(&["--latency-ms", "50"], &[]);
    let store = cluster.sandbox.store().await;
    let client = create_client(&store, "two instances", "1000.00").await;

    let body = pay_body("04140000001", "10", "same-reference");
    let payments = (0..20).map(|index| {
        let (client, url, body) = (client.clone(), cluster.url(index).to_string(), body.clone());
        async move { client.pay(&url, &body).await.expect("an instance answers") }
    });
    let answers = join_all(payments).await;

    for answer in &answers {
        let accepted = answer.status == 200 || (answer.status == 409 && answer.body["code"] == "REQUEST_IN_PROGRESS");
        assert!(accepted, "unexpected answer {answer:?}");
    }
    let first_answers = answers.iter().filter(|answer| answer.status == 200 && !answer.replayed).count();
    assert_eq!(first_answers, 1, "{answers:?}");

    let stats = simulator_stats(&cluster.simulator.url).await;
    assert_eq!(stats.charged, 1);
    assert_eq!(stats.pay_requests, 1);
    assert_eq!(store.list_clients().await.unwrap()[0].float.to_string(), "990.00");
    assert!(store.check_ledger().await.unwrap().is_consistent());
}

#[tokio::test]
async fn concurrent_settlers_settle_once() {
    // Every payment's answer is lost after the charge, so each stays pending.
    // The instances' own settlers wait an hour; two `cps settle` runs race.
    let cluster = start_cluster(
        &["--timeout-rate", "1", "--timeout-ms", "2000"],
        &["--biller-timeout-ms", "300", "--settle-after-ms", "3600000"],
    );
    let store = cluster.sandbox.store().await;
    let client = create_client(&store, "two instances", "1000.00").await;

    for index in 0..30 {
        let body = pay_body(&format!("0414{:07}", index + 1), "10", &format!("lost-{index}"));
        let answer = client.pay(cluster.url(index), &body).await.unwrap();
        assert_eq!(answer.status, 202, "{answer:?}");
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let settle = |_: usize| {
        let mut command = cluster.sandbox.command(&[
            "settle",
            "--biller-url",
            &cluster.simulator.url,
            "--biller-timeout-ms",
            "800",
            "--settle-after-ms",
            "1000",
        ]);
        std::thread::spawn(move || command.output().expect("cps settle runs"))
    };
    let runs: Vec<_> = (0..2).map(settle).collect();
    for run in runs {
        let output = run.join().unwrap();
        assert!(output.status.success(), "{output:?}");
    }

    let operations = store.all_operations().await.unwrap();
    assert_eq!(operations.len(), 30);
    for operation in &operations {
        assert_eq!(operation.status, OperationStatus::Approved, "{operation:?}");
        let events = store.operation_events(&operation.id).await.unwrap();
        assert_eq!(events.len(), 2, "one acceptance and one settlement: {events:?}");
    }
    let stats = simulator_stats(&cluster.simulator.url).await;
    assert_eq!(stats.status_requests, 30, "each operation was asked about once");
    assert_eq!(stats.repeated_charged_requests, 0);
    assert_eq!(store.list_clients().await.unwrap()[0].float.to_string(), "700.00");
    assert!(store.check_ledger().await.unwrap().is_consistent());
}
