//! What operator changes do to a running server: disabled clients, rotated
//! secrets, catalog overrides and refunds.

use std::time::Duration;

use cps_api::ServerConfig;
use cps_domain::{Money, OperationId, ServiceOverride};
use cps_store::RefundOutcome;

use crate::helpers::*;

#[tokio::test]
async fn disabled_client_rejected_until_enabled() {
    let app = spawn_app_with_float("100.00").await;

    app.store.set_client_enabled(&app.api_key, false).await.unwrap();
    let refused = app.pay(&payment("0000001", "10", None)).await;
    assert_problem(&refused, 401, "INVALID_CREDENTIALS", "disabled");
    assert_eq!(app.float().await, "100.00");

    app.store.set_client_enabled(&app.api_key, true).await.unwrap();
    let accepted = app.pay(&payment("0000001", "10", None)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
}

#[tokio::test]
async fn rotation_grace_period_accepts_both() {
    let app = spawn_app_with_float("100.00").await;
    let old_secret = app.secret.clone();

    let rotated = app.store.rotate_secret(&app.api_key, 60_000).await.unwrap();
    let with_old = app.pay_as(&app.api_key, &old_secret, &payment("0000001", "1", None)).await;
    let with_new = app.pay_as(&app.api_key, &rotated.secret, &payment("0000002", "1", None)).await;
    assert_eq!(with_old.status, 200, "old secret in grace: {}", with_old.text);
    assert_eq!(with_new.status, 200, "new secret: {}", with_new.text);

    let again = app.store.rotate_secret(&app.api_key, 0).await.unwrap();
    let with_previous = app.pay_as(&app.api_key, &rotated.secret, &payment("0000003", "1", None)).await;
    let with_oldest = app.pay_as(&app.api_key, &old_secret, &payment("0000004", "1", None)).await;
    let with_newest = app.pay_as(&app.api_key, &again.secret, &payment("0000005", "1", None)).await;
    assert_problem(&with_previous, 401, "INVALID_SIGNATURE", "previous secret after a rotation without grace");
    assert_problem(&with_oldest, 401, "INVALID_SIGNATURE", "a secret two rotations old");
    assert_eq!(with_newest.status, 200, "{}", with_newest.text);
}

#[tokio::test]
async fn catalog_overrides_reach_server() {
    let config = ServerConfig { catalog_refresh: Duration::from_millis(50), ..ServerConfig::default() };
    let app = spawn_app_with("1000.00", config).await;

    let change =
        ServiceOverride { service_id: 57, max_amount: Some(Money::from_cents(2_000)), ..ServiceOverride::default() };
    app.store.put_service_override(&change).await.unwrap();
    let too_much = wait_for_status(&app, &payment("0000001", "25", None), 422).await;
    assert_eq!(too_much.json()["errors"][0]["code"], "AMOUNT_OUT_OF_RANGE", "{}", too_much.text);

    let disabled = ServiceOverride { enabled: Some(false), ..change };
    app.store.put_service_override(&disabled).await.unwrap();
    let refused = wait_for_code(&app, &payment("0000001", "10", None), "SERVICE_DISABLED").await;
    assert_eq!(refused.status, 422);

    app.store.clear_service_override(57).await.unwrap();
    let accepted = wait_for_status(&app, &payment("0000001", "25", None), 200).await;
    assert_eq!(accepted.json()["amount"], "25.00");
}

#[tokio::test]
async fn refund_restores_float_and_status() {
    let app = spawn_app_with_float("100.00").await;
    let paid = app.pay(&payment("0000001", "30", None)).await.json();
    let id = OperationId::from_stored(paid["id"].as_str().unwrap().to_string());

    let RefundOutcome::Refunded { float, .. } = app.store.refund(&id, "top-up never arrived").await.unwrap() else {
        panic!("an approved operation is refunded");
    };
    assert_eq!(float.to_string(), "100.00");
    assert!(matches!(app.store.refund(&id, "twice").await.unwrap(), RefundOutcome::NotApproved(_)));

    let shown = app.get_query(&format!("/cps/v2/operation/{id}"), &[]).await.json();
    assert_eq!(shown["status"], "refunded");
    assert!(shown["refundedAt"].is_string());
    assert_eq!(shown["accountBalance"], "100.00");
    app.assert_ledger_consistent().await;
}

/// Pays until the response has `status`, because the server applies
/// overrides on its next catalog refresh.
async fn wait_for_status(app: &TestApp, body: &str, status: u16) -> Answer {
    wait_for(app, body, |answer| answer.status == status).await
}

async fn wait_for_code(app: &TestApp, body: &str, code: &str) -> Answer {
    wait_for(app, body, |answer| answer.text.contains(code)).await
}

async fn wait_for(app: &TestApp, body: &str, done: impl Fn(&Answer) -> bool) -> Answer {
    for _ in 0..100 {
        let answer = app.pay(body).await;
        if done(&answer) {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server never applied the catalog change");
}
