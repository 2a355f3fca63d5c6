//! Per-client rate limiting: 429 with Retry-After once a client's burst is
//! spent, counted only for requests that pass authentication.

use std::time::Duration;

use cps_api::{RateLimit, ServerConfig};
use cps_domain::Money;

use crate::helpers::*;

/// Requests each client may send at once in these tests.
const BURST: u32 = 3;

/// Starts a server whose clients get `BURST` requests and then one token an hour,
/// so no token comes back while a test runs, however slow the machine.
async fn spawn_limited_app() -> TestApp {
    let limit = RateLimit { refill_interval: Duration::from_secs(3600), burst: BURST };
    spawn_app_with("100.00", ServerConfig { rate_limit: Some(limit), ..ServerConfig::default() }).await
}

/// Lists the services as the client with `api_key` and `secret`, with
/// `Accept-Language: language`.
async fn list_services_as(app: &TestApp, api_key: &str, secret: &str, language: &str) -> Answer {
    let nonce = nonce();
    let signature = cps_api::sign(secret, &format!("{SERVICES_PATH}{nonce}"));
    let request = app
        .http
        .get(app.url(SERVICES_PATH))
        .header("api-key", api_key)
        .header("api-nonce", nonce)
        .header("api-signature", signature)
        .header("accept-language", language);
    app.send(request).await
}

async fn list_services(app: &TestApp, language: &str) -> Answer {
    list_services_as(app, &app.api_key, &app.secret, language).await
}

async fn spend_burst(app: &TestApp) {
    for request in 0..BURST {
        let answer = list_services(app, "es").await;
        assert_eq!(answer.status, 200, "request {request} within the burst: {}", answer.text);
    }
}

/// Sends the request that `build` makes three bursts' worth of times: the
/// first send succeeds and every later one is a replay.
async fn send_with_replays(app: &TestApp, build: impl Fn() -> reqwest::RequestBuilder) {
    for attempt in 0..(3 * BURST) {
        let answer = app.send(build()).await;
        if attempt == 0 {
            assert_eq!(answer.status, 200, "first send: {}", answer.text);
        } else {
            assert_problem(&answer, 401, "NONCE_REUSED", &format!("replay {attempt}"));
        }
    }
}

/// Checks that exactly one token of the burst is spent: the first send took
/// it, and replays gave theirs back.
async fn assert_one_token_spent(app: &TestApp) {
    for request in 1..BURST {
        let answer = list_services(app, "es").await;
        assert_eq!(answer.status, 200, "request {request} within the burst: {}", answer.text);
    }
    assert_eq!(list_services(app, "es").await.status, 429);
}

#[tokio::test]
async fn burst_then_429_with_retry_after() {
    let app = spawn_limited_app().await;
    spend_burst(&app).await;

    let limited = list_services(&app, "es").await;

    assert_problem(&limited, 429, "RATE_LIMITED", "request after the burst");
    let retry_after: u64 = limited.header("retry-after").expect("Retry-After header").parse().expect("whole seconds");
    assert!((1..=3600).contains(&retry_after), "Retry-After {retry_after}");
    let detail = limited.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains(&retry_after.to_string()), "detail names the wait: {detail}");
}

#[tokio::test]
async fn rate_limit_messages_in_both_languages() {
    let app = spawn_limited_app().await;
    spend_burst(&app).await;

    let spanish = list_services(&app, "es").await;
    let english = list_services(&app, "en").await;

    assert_problem(&spanish, 429, "RATE_LIMITED", "Spanish");
    assert_problem(&english, 429, "RATE_LIMITED", "English");
    assert_eq!(spanish.json()["title"], "Demasiadas solicitudes");
    assert_eq!(english.json()["title"], "Too many requests");
    let spanish_detail = spanish.json()["detail"].as_str().unwrap_or_default().to_string();
    let english_detail = english.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(spanish_detail.contains("Reintente"), "{spanish_detail}");
    assert!(english_detail.contains("Retry"), "{english_detail}");
}

#[tokio::test]
async fn other_clients_keep_their_budget() {
    let app = spawn_limited_app().await;
    let other = app.store.create_client("other client").await.expect("client created");
    app.store.credit_client(&other.api_key, Money::from_cents(10_000)).await.expect("float credited");
    spend_burst(&app).await;
    assert_eq!(list_services(&app, "es").await.status, 429);

    for request in 0..BURST {
        let answer = list_services_as(&app, &other.api_key, &other.secret, "es").await;
        assert_eq!(answer.status, 200, "other client's request {request}: {}", answer.text);
    }
}

#[tokio::test]
async fn forged_signatures_spend_no_budget() {
    let app = spawn_limited_app().await;

    for attempt in 0..(3 * BURST) {
        let forged = list_services_as(&app, &app.api_key, "not the secret", "es").await;
        assert_problem(&forged, 401, "INVALID_SIGNATURE", &format!("forged request {attempt}"));
    }

    spend_burst(&app).await;
}

#[tokio::test]
async fn replayed_requests_spend_no_budget() {
    let app = spawn_limited_app().await;
    let nonce = nonce();
    let string_to_sign = format!("{SERVICES_PATH}{nonce}");

    send_with_replays(&app, || app.with_signature(app.http.get(app.url(SERVICES_PATH)), &nonce, &string_to_sign)).await;

    assert_one_token_spent(&app).await;
}

#[tokio::test]
async fn rate_limit_applies_before_body_checks() {
    let app = spawn_limited_app().await;
    spend_burst(&app).await;

    // A body that is not JSON would be a 415, but the exhausted budget is
    // reported first, as the API's check order requires.
    let nonce = nonce();
    let body = "numberService=04140000001";
    let request = app.http.post(app.url(PAY_PATH)).header("content-type", "text/plain").body(body);
    let answer = app.send(app.with_signature(request, &nonce, &format!("{PAY_PATH}{nonce}{body}"))).await;

    assert_problem(&answer, 429, "RATE_LIMITED", "unsupported media type after the burst");
}

#[tokio::test]
async fn replayed_payments_spend_no_budget() {
    let app = spawn_limited_app().await;
    let nonce = nonce();
    let string_to_sign = format!("{PAY_PATH}{nonce}{EXAMPLE_PAYMENT}");

    send_with_replays(&app, || {
        let request = app.http.post(app.url(PAY_PATH)).header("content-type", "application/json").body(EXAMPLE_PAYMENT);
        app.with_signature(request, &nonce, &string_to_sign)
    })
    .await;

    assert_one_token_spent(&app).await;
}
