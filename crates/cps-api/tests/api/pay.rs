//! The pay endpoint's outcome table, idempotency and concurrency.

use futures::future::join_all;

use crate::helpers::*;

#[tokio::test]
async fn example_payment_is_approved() {
    let app = spawn_app_with_float("1000.00").await;

    let answer = app.pay(EXAMPLE_PAYMENT).await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    let operation = answer.json();
    assert_eq!(operation["status"], "approved");
    assert_eq!(operation["idTypeService"], 57);
    assert_eq!(operation["service"], "MOVISTAR_PREPAGO");
    assert_eq!(operation["numberService"], "04243675525");
    assert_eq!(operation["amount"], "10.00");
    assert_eq!(operation["currency"], "VES");
    assert_eq!(operation["accountBalance"], "990.00");
    assert!(operation["id"].as_str().unwrap().starts_with("op_"));
    assert!(operation["providerReference"].is_string());
    assert!(operation["completedAt"].is_string());
    assert_eq!(app.float().await, "990.00");
    assert_eq!(app.simulator.payment_count(), 1);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn gateway_path_alias_works() {
    let app = spawn_app().await;
    let answer = app.post_signed("/v2/operation/use/pay", EXAMPLE_PAYMENT).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn biller_rejection_restores_float() {
    let app = spawn_app_with_float("100.00").await;

    let rejected = app.pay(r#"{"numberService":"04140009001","idTypeService":57,"amount":10}"#).await;

    assert_eq!(rejected.status, 422, "{}", rejected.text);
    assert_eq!(rejected.code(), "PROVIDER_REJECTED");
    assert_eq!(rejected.json()["operation"]["status"], "rejected");
    assert_eq!(rejected.json()["operation"]["accountBalance"], "100.00");
    assert_eq!(app.float().await, "100.00");

    let approved = app.pay(r#"{"numberService":"04140000001","idTypeService":57,"amount":10}"#).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(app.float().await, "90.00");
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn biller_timeout_leaves_pending() {
    let app = spawn_app_with_float("100.00").await;

    for number in ["04140009002", "04140009003"] {
        let body = format!(r#"{{"numberService":"{number}","idTypeService":57,"amount":10}}"#);
        let answer = app.pay(&body).await;
        assert_eq!(answer.status, 202, "{}", answer.text);
        assert_eq!(answer.json()["status"], "pending");
        assert!(answer.json()["completedAt"].is_null());
    }

    assert_eq!(app.float().await, "80.00");
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn insufficient_funds_reach_no_biller() {
    let app = spawn_app_with_float("5.00").await;

    let answer = app.pay(r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":"r-1"}"#).await;

    assert_eq!(answer.status, 402, "{}", answer.text);
    assert_eq!(answer.code(), "INSUFFICIENT_FUNDS");
    assert_eq!(app.simulator.payment_count(), 0);
    assert_eq!(app.float().await, "5.00");

    // A request refused for funds does not use up its reference.
    app.store.credit_client(&app.api_key, cps_domain::Money::from_cents(1000)).await.unwrap();
    let retry = app.pay(r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":"r-1"}"#).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert!(retry.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn same_reference_replays() {
    let app = spawn_app_with_float("100.00").await;
    let first =
        app.pay(r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":"pedido-7781"}"#).await;
    assert_eq!(first.status, 200, "{}", first.text);

    // Same request written differently: key order, string amount, number form.
    let retry = app
        .pay(r#"{"reference":"pedido-7781","amount":"10.00","idTypeService":57,"numberService":"+58 414 000 0001"}"#)
        .await;

    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json()["id"], first.json()["id"]);
    assert_eq!(retry.json()["reference"], "pedido-7781");
    assert_eq!(app.float().await, "90.00");
    assert_eq!(app.simulator.payment_count(), 1);
}

#[tokio::test]
async fn idempotency_header_is_reference() {
    let app = spawn_app_with_float("100.00").await;
    let headers = [("idempotency-key", "k-1")];
    let first = app.post_signed_with(PAY_PATH, EXAMPLE_PAYMENT, &headers).await;
    let retry = app.post_signed_with(PAY_PATH, EXAMPLE_PAYMENT, &headers).await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json()["reference"], "k-1");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.float().await, "90.00");

    let mismatch = app
        .post_signed_with(
            PAY_PATH,
            r#"{"numberService":"04243675525","idTypeService":57,"amount":10,"reference":"k-2"}"#,
            &headers,
        )
        .await;
    assert_eq!(mismatch.status, 400, "{}", mismatch.text);
    assert_eq!(mismatch.code(), "IDEMPOTENCY_KEY_MISMATCH");
}

#[tokio::test]
async fn pending_replay_answers_202() {
    let app = spawn_app_with_float("100.00").await;
    let body = r#"{"numberService":"04140009002","idTypeService":57,"amount":10,"reference":"slow-1"}"#;
    let first = app.pay(body).await;
    let retry = app.pay(body).await;

    assert_eq!(first.status, 202, "{}", first.text);
    assert_eq!(retry.status, 202, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.float().await, "90.00");
}

#[tokio::test]
async fn rejected_replay_answers_422() {
    let app = spawn_app_with_float("100.00").await;
    let body = r#"{"numberService":"04140009001","idTypeService":57,"amount":10,"reference":"no-1"}"#;
    let first = app.pay(body).await;
    let retry = app.pay(body).await;

    assert_eq!(first.status, 422);
    assert_eq!(retry.status, 422, "{}", retry.text);
    assert_eq!(retry.code(), "PROVIDER_REJECTED");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.float().await, "100.00");
}

#[tokio::test]
async fn reference_with_other_body_conflicts() {
    let app = spawn_app_with_float("100.00").await;
    app.pay(r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":"dup"}"#).await;

    let cases = [
        r#"{"numberService":"04140000001","idTypeService":57,"amount":11,"reference":"dup"}"#,
        r#"{"numberService":"04140000002","idTypeService":57,"amount":10,"reference":"dup"}"#,
        r#"{"numberService":"04140000001","idTypeService":61,"amount":10,"reference":"dup"}"#,
    ];
    for body in cases {
        let answer = app.pay(body).await;
        assert_eq!(answer.status, 409, "{body}: {}", answer.text);
        assert_eq!(answer.code(), "IDEMPOTENCY_KEY_REUSED", "{body}");
    }
    assert_eq!(app.float().await, "90.00");
}

#[tokio::test]
async fn parallel_payments_spend_float_once() {
    let app = spawn_app_with_float("10.00").await;

    let requests = (0..20).map(|index| {
        let body = format!(r#"{{"numberService":"0414{:07}","idTypeService":57,"amount":10}}"#, index + 1);
        let app = &app;
        async move { app.pay(&body).await }
    });
    let answers = join_all(requests).await;

    let approved = answers.iter().filter(|answer| answer.status == 200).count();
    let refused = answers.iter().filter(|answer| answer.status == 402).count();
    assert_eq!(approved, 1, "{answers:?}");
    assert_eq!(refused, 19, "{answers:?}");
    assert_eq!(app.float().await, "0.00");
    assert_eq!(app.simulator.payment_count(), 1);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn parallel_same_reference_charges_once() {
    let app = spawn_app_with_float("1000.00").await;
    let body = r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":"race-1"}"#;

    let answers = join_all((0..20).map(|_| app.pay(body))).await;

    for answer in &answers {
        let replay_or_conflict =
            answer.status == 200 || (answer.status == 409 && answer.code() == "REQUEST_IN_PROGRESS");
        assert!(replay_or_conflict, "unexpected answer {answer:?}");
    }
    let first_answers =
        answers.iter().filter(|answer| answer.status == 200 && answer.header("idempotent-replayed").is_none());
    assert_eq!(first_answers.count(), 1);
    assert_eq!(app.simulator.payment_count(), 1);
    assert_eq!(app.float().await, "990.00");
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn exact_decimal_amounts_debit_exactly() {
    let app = spawn_app_with_float("100.00").await;
    for amount in ["8.20", "0.1", "0.2"] {
        let body = format!(r#"{{"numberService":"04140000001","idTypeService":57,"amount":{amount}}}"#);
        let answer = app.pay(&body).await;
        // 0.1 and 0.2 are below the default minimum of 1.00.
        if amount == "8.20" {
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert_eq!(answer.json()["amount"], "8.20");
        } else {
            assert_eq!(answer.code(), "AMOUNT_OUT_OF_RANGE", "{amount}");
        }
    }
    assert_eq!(app.float().await, "91.80");
}

#[tokio::test]
async fn mixed_outcomes_of_one_client_never_fail() {
    // Approvals, rejections and new reservations of one client touch its
    // float, reserved and payable accounts at once. On PostgreSQL a wrong lock
    // order shows up here as a deadlock and a 500.
    let app = spawn_app_with_float("100000.00").await;
    let bodies: Vec<String> = (0..60)
        .map(|index| {
            let number = if index % 2 == 0 { "04140009001" } else { "04140000001" };
            format!(r#"{{"numberService":"{number}","idTypeService":57,"amount":1}}"#)
        })
        .collect();

    for round in 0..3 {
        let answers = join_all(bodies.iter().map(|body| app.pay(body))).await;
        for answer in &answers {
            assert!(matches!(answer.status, 200 | 422), "round {round}: {} {}", answer.status, answer.text);
        }
    }
    assert_eq!(app.float().await, "99910.00");
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn failing_write_leaves_its_batch_alone() {
    // On SQLite concurrent writes share a transaction. A finalization of an
    // operation that does not exist fails inside such a batch, so the batch
    // runs again write by write. The payments queued with it must still
    // commit, each exactly once. On PostgreSQL each write is its own
    // transaction, and the same must hold.
    let app = spawn_app_with_float("1000.00").await;
    let missing = cps_domain::OperationId::from_stored("op_00000000000000000000000000".to_string());
    let approval = cps_store::Finalization::Approved { provider_reference: "none".to_string() };

    let bodies: Vec<String> = (0..40).map(|index| payment(&format!("{index:07}"), "1", None)).collect();
    let payments = join_all(bodies.iter().map(|body| app.pay(body)));
    let failures = join_all((0..10).map(|_| app.store.finalize(&missing, &approval, "test")));
    let (answers, failures) = tokio::join!(payments, failures);

    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    assert!(failures.iter().all(Result::is_err), "finalizing a missing operation fails");
    assert_eq!(app.float().await, "960.00");
    app.assert_ledger_consistent().await;
}
