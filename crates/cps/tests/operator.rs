//! The operator's commands against a real database: client switches and
//! secret rotation, catalog overrides, operation details and refunds, and
//! the monthly report.

mod support;

use cps_domain::{parse_rfc3339_ms, OperationId};
use serde_json::Value;
use support::*;

fn run_ok(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = sandbox.cps(args);
    assert!(
        output.status.success(),
        "cps {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn run_json(sandbox: &Sandbox, args: &[&str]) -> Value {
    serde_json::from_str(&run_ok(sandbox, args)).expect("JSON output")
}

#[tokio::test]
async fn report_counts_caracas_month_edge() {
    let sandbox = Sandbox::new();
    let store = sandbox.store().await;
    let client = create_client(&store, "reported", "1000.00").await;
    let server = sandbox.spawn(&["serve"]);

    // (reference, number, amount, when)
    let payments = [
        ("late-january", "04140000001", "10", "2026-01-31T21:30:00-04:00"),
        ("rejected-january", "04140009001", "7", "2026-01-15T12:00:00-04:00"),
        ("new-year-eve", "04140000002", "3", "2025-12-31T23:59:59-04:00"),
        ("february", "04140000003", "5", "2026-02-01T00:00:00-04:00"),
    ];
    for (reference, number, amount, when) in payments {
        let answer = client.pay(&server.url, &pay_body(number, amount, reference)).await.unwrap();
        let id = answer.body["id"].as_str().or(answer.body["operation"]["id"].as_str()).expect("an operation id");
        let created_at_ms = parse_rfc3339_ms(when).unwrap();
        cps_store::testing::backdate_operation(&store, &OperationId::from_stored(id.to_string()), created_at_ms)
            .await
            .unwrap();
    }

    let caracas = run_json(&sandbox, &["report", "--month", "2026-01", "--format", "json"]);
    assert_eq!(caracas["timeZone"], "America/Caracas");
    assert_eq!(caracas["from"], "2026-01-01T04:00:00.000Z");
    let rows: Vec<(i64, &str, i64, &str)> = caracas["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let status = row["status"].as_str().unwrap();
            (
                row["idTypeService"].as_i64().unwrap(),
                status,
                row["operations"].as_i64().unwrap(),
                row["amount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, vec![(57, "approved", 1, "10.00"), (57, "rejected", 1, "7.00")]);

    // In UTC the late-January payment is February's, and New Year's Eve in
    // Caracas is already January.
    let utc = run_ok(&sandbox, &["report", "--month", "2026-01", "--tz", "UTC"]);
    let lines: Vec<&str> = utc.lines().collect();
    assert_eq!(lines[0], "month,time_zone,idTypeService,service,status,operations,amount");
    assert!(lines.contains(&"2026-01,UTC,57,MOVISTAR_PREPAGO,approved,1,3.00"), "{utc}");
    assert!(lines.contains(&"2026-01,UTC,57,MOVISTAR_PREPAGO,rejected,1,7.00"), "{utc}");
    assert!(lines.contains(&"2026-01,UTC,,TOTAL,approved,1,3.00"), "{utc}");

    for (args, expected) in [
        (vec!["report", "--month", "2026-1"], "2026-1"),
        (vec!["report", "--month", "2026-01", "--tz", "Mars/Olympus"], "Mars/Olympus"),
    ] {
        let output = sandbox.cps(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains(expected), "{args:?}");
    }
}

#[tokio::test]
async fn clients_disabled_and_secrets_rotated() {
    let sandbox = Sandbox::new();
    let store = sandbox.store().await;
    let client = create_client(&store, "switched", "100.00").await;
    let server = sandbox.spawn(&["serve"]);

    run_ok(&sandbox, &["client", "disable", &client.api_key]);
    let refused = client.pay(&server.url, &pay_body("04140000001", "1", "off-1")).await.unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["code"], "INVALID_CREDENTIALS");
    run_ok(&sandbox, &["client", "enable", &client.api_key]);
    assert_eq!(client.pay(&server.url, &pay_body("04140000001", "1", "on-1")).await.unwrap().status, 200);

    let rotated = run_json(&sandbox, &["client", "rotate-secret", &client.api_key, "--grace-secs", "3600", "--json"]);
    let new_client = Client { secret: rotated["secret"].as_str().unwrap().to_string(), ..client.clone() };
    assert_eq!(client.pay(&server.url, &pay_body("04140000001", "1", "old-1")).await.unwrap().status, 200);
    assert_eq!(new_client.pay(&server.url, &pay_body("04140000001", "1", "new-1")).await.unwrap().status, 200);

    run_ok(&sandbox, &["client", "rotate-secret", &new_client.api_key, "--grace-secs", "0"]);
    assert_eq!(new_client.pay(&server.url, &pay_body("04140000001", "1", "gone-1")).await.unwrap().status, 401);

    let unknown = sandbox.cps(&["client", "disable", "no-such-key"]);
    assert_eq!(unknown.status.code(), Some(1));
    let bad_url = sandbox.cps(&["client", "callback", &client.api_key, "--url", "ftp://example.test/x"]);
    assert_eq!(bad_url.status.code(), Some(2));
}

#[tokio::test]
async fn catalog_overrides_checked_and_applied() {
    let sandbox = Sandbox::new();
    let store = sandbox.store().await;
    let client = create_client(&store, "catalog", "1000.00").await;
    let server = sandbox.spawn(&["serve", "--catalog-refresh-ms", "100"]);

    run_ok(&sandbox, &["catalog", "set", "57", "--max-amount", "20.00"]);
    run_ok(&sandbox, &["catalog", "set", "57", "--can-get-balance", "true"]);
    let shown = run_json(&sandbox, &["catalog", "show", "--json"]);
    let movistar = shown.as_array().unwrap().iter().find(|service| service["idTypeService"] == 57).unwrap();
    assert_eq!(movistar["maxAmount"], "20.00", "an earlier change is kept: {movistar}");
    assert_eq!(movistar["canGetBalance"], true);
    assert_eq!(movistar["overridden"], true);

    let inverted = sandbox.cps(&["catalog", "set", "57", "--min-amount", "50.00"]);
    assert_eq!(inverted.status.code(), Some(2), "a minimum above the maximum is refused");
    let unknown = sandbox.cps(&["catalog", "set", "999", "--enabled", "false"]);
    assert_eq!(unknown.status.code(), Some(1));
    let nothing = sandbox.cps(&["catalog", "set", "57"]);
    assert_eq!(nothing.status.code(), Some(2));
    let unknown_reset = sandbox.cps(&["catalog", "reset", "999"]);
    assert_eq!(unknown_reset.status.code(), Some(1), "an unknown service is named, not ignored");

    let mut answer = None;
    for attempt in 0..100 {
        let paid = client.pay(&server.url, &pay_body("04140000001", "25", &format!("big-{attempt}"))).await.unwrap();
        if paid.status == 422 {
            answer = Some(paid);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let answer = answer.expect("the running server applied the new maximum");
    assert_eq!(answer.body["errors"][0]["code"], "AMOUNT_OUT_OF_RANGE");

    run_ok(&sandbox, &["catalog", "reset", "57"]);
    let shown = run_json(&sandbox, &["catalog", "show", "--json"]);
    let movistar = shown.as_array().unwrap().iter().find(|service| service["idTypeService"] == 57).unwrap();
    assert_eq!((movistar["maxAmount"].as_str(), movistar["overridden"].as_bool()), (Some("100000.00"), Some(false)));
}

#[tokio::test]
async fn operation_shown_and_refunded_once() {
    let sandbox = Sandbox::new();
    let store = sandbox.store().await;
    let client = create_client(&store, "refunds", "100.00").await;
    let server = sandbox.spawn(&["serve"]);
    let paid = client.pay(&server.url, &pay_body("04140000001", "30", "show-1")).await.unwrap();
    let rejected = client.pay(&server.url, &pay_body("04140009001", "5", "show-2")).await.unwrap();
    let id = paid.body["id"].as_str().unwrap();

    let refunded = run_ok(&sandbox, &["--lang", "en", "operation", "refund", id, "--reason", "duplicate top-up"]);
    assert!(refunded.contains("30.00"), "{refunded}");
    assert!(refunded.contains("now 100.00"), "{refunded}");
    let twice = sandbox.cps(&["operation", "refund", id, "--reason", "again"]);
    assert_eq!(twice.status.code(), Some(1), "a refunded operation is not refunded again");
    let rejected_id = rejected.body["operation"]["id"].as_str().unwrap();
    let not_approved = sandbox.cps(&["operation", "refund", rejected_id, "--reason", "x"]);
    assert_eq!(not_approved.status.code(), Some(1));

    let shown = run_json(&sandbox, &["operation", "show", id, "--json"]);
    assert_eq!(shown["status"], "refunded");
    assert_eq!(shown["refundReason"], "duplicate top-up");
    let causes: Vec<&str> =
        shown["events"].as_array().unwrap().iter().map(|event| event["status"].as_str().unwrap()).collect();
    assert_eq!(causes, ["pending", "approved", "refunded"]);

    let text = run_ok(&sandbox, &["operation", "show", id]);
    assert!(text.contains("duplicate top-up"), "{text}");
    assert!(text.contains("Eventos:"), "{text}");
    let check = run_ok(&sandbox, &["--lang", "en", "ledger", "check"]);
    assert!(check.to_lowercase().contains("consistent"), "{check}");
    let missing = sandbox.cps(&["operation", "show", "op_missing"]);
    assert_eq!(missing.status.code(), Some(1));
}
