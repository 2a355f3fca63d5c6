//! Subscriber number forms and amount rules of the pay endpoint: what is
//! normalized, what is rejected, and that no rejected payment moves money.

use crate::helpers::*;

/// Builds a Movistar Prepago (id 57) payment of 10.00 to `number`.
fn movistar_payment(number: &str) -> String {
    let number = serde_json::Value::from(number);
    format!(r#"{{"numberService":{number},"idTypeService":57,"amount":10}}"#)
}

/// Builds a payment to the sandbox number 04140000001 with `amount` written
/// as raw JSON text.
fn payment_of(amount_json: &str) -> String {
    format!(r#"{{"numberService":"04140000001","idTypeService":57,"amount":{amount_json}}}"#)
}

#[tokio::test]
async fn phone_forms_normalize() {
    let app = spawn_app_with_float("1000.00").await;
    let forms = [
        "+584140000001",
        "584140000001",
        "0414 000 0001",
        "4140000001",
        "0414-000-00-01",
        "(0414) 000.0001",
        "0058 414 0000001",
        "+58 (0)414 000 0001",
    ];

    for form in forms {
        let answer = app.pay(&movistar_payment(form)).await;
        assert_eq!(answer.status, 200, "{form}: {}", answer.text);
        assert_eq!(answer.json()["numberService"], "04140000001", "{form}");
    }
    assert_eq!(app.simulator.payment_count(), forms.len());
    assert_eq!(app.float().await, "920.00");
}

#[tokio::test]
async fn invalid_numbers_are_422() {
    let app = spawn_app_with_float("1000.00").await;
    let numbers = [
        "041400000012",
        "0414000000",
        "0414abc0001",
        "\u{ff10}\u{ff14}\u{ff11}\u{ff14}0000001",
        "04140000001'; --",
        "04150000001",
        "04170000001",
        "+1 305 555 0100",
        "",
        "   ",
    ];

    for number in numbers {
        let case = format!("number {number:?}");
        let answer = app.pay(&movistar_payment(number)).await;
        assert_problem(&answer, 422, "INVALID_SERVICE_NUMBER", &case);
        assert_eq!(error_fields(&answer), ["numberService"], "{case}: errors[].field");
    }
    assert_eq!(app.float().await, "1000.00");
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn other_operator_number_names_service() {
    let app = spawn_app_with_float("1000.00").await;

    // (number, service id sent, service it belongs to, that service's id)
    let cases = [
        ("04140000001", 59, "MOVISTAR_PREPAGO", "57"),
        ("04240000001", 59, "MOVISTAR_PREPAGO", "57"),
        ("04120000001", 57, "DIGITEL_PREPAGO", "59"),
        ("04260000001", 57, "MOVILNET_PREPAGO", "58"),
    ];
    for (number, sent_id, right_service, right_id) in cases {
        let case = format!("{number} with {sent_id}");
        let body = format!(r#"{{"numberService":"{number}","idTypeService":{sent_id},"amount":10}}"#);

        let answer = app.pay(&body).await;

        assert_problem(&answer, 422, "NUMBER_SERVICE_MISMATCH", &case);
        assert_eq!(error_fields(&answer), ["numberService"], "{case}: errors[].field");
        let detail = answer.json()["detail"].as_str().unwrap_or_default().to_string();
        assert!(detail.contains(right_service), "{case}: detail does not name {right_service}: {detail}");
        let right_id = format!("idTypeService {right_id}");
        assert!(detail.contains(&right_id), "{case}: detail does not name {right_id}: {detail}");
    }
    assert_eq!(app.float().await, "1000.00");
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn digitel_codes_are_approved() {
    let app = spawn_app_with_float("1000.00").await;

    for number in ["04120000001", "04220000001", "0422-000.00.02"] {
        let body = format!(r#"{{"numberService":"{number}","idTypeService":59,"amount":10}}"#);
        let answer = app.pay(&body).await;
        assert_eq!(answer.status, 200, "{number}: {}", answer.text);
        assert_eq!(answer.json()["service"], "DIGITEL_PREPAGO", "{number}");
    }
    assert_eq!(app.float().await, "970.00");
}

#[tokio::test]
async fn landline_is_approved() {
    let app = spawn_app_with_float("1000.00").await;

    let answer = app.pay(r#"{"numberService":"0212-3457654","idTypeService":63,"amount":10}"#).await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["numberService"], "02123457654");
    assert_eq!(answer.json()["service"], "DIGITEL_FIJO");
    assert_eq!(app.float().await, "990.00");
}

#[tokio::test]
async fn exact_amounts_debit_exactly() {
    let app = spawn_app_with_float("1000.00").await;

    // (amount as JSON text, amount the operation shows, float after it)
    let cases = [
        ("10", "10.00", "990.00"),
        ("10.5", "10.50", "979.50"),
        (r#""10.50""#, "10.50", "969.00"),
        ("10.500", "10.50", "958.50"),
        (r#""10""#, "10.00", "948.50"),
        ("1e1", "10.00", "938.50"),
        ("0.1e2", "10.00", "928.50"),
    ];
    for (amount, shown, float_after) in cases {
        let answer = app.pay(&payment_of(amount)).await;
        assert_eq!(answer.status, 200, "amount {amount}: {}", answer.text);
        assert_eq!(answer.json()["amount"], shown, "amount {amount}");
        assert_eq!(answer.json()["accountBalance"], float_after, "amount {amount}: accountBalance");
        assert_eq!(app.float().await, float_after, "amount {amount}: float");
    }
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn invalid_amounts_are_422() {
    let app = spawn_app_with_float("1000.00").await;
    let amounts = [
        "10.005",
        "0",
        "-0",
        "0.00",
        "-1",
        r#""10,50""#,
        "1e400",
        "1e-400",
        r#""""#,
        r#""abc""#,
        r#""10.005""#,
        r#""-10""#,
        r#""1e3""#,
        r#"" 10""#,
    ];

    for amount in amounts {
        let case = format!("amount {amount}");
        let answer = app.pay(&payment_of(amount)).await;
        assert_problem(&answer, 422, "INVALID_AMOUNT", &case);
        assert_eq!(error_fields(&answer), ["amount"], "{case}: errors[].field");
        assert_eq!(app.float().await, "1000.00", "{case}: float");
    }
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn amount_wrong_types_are_400() {
    let app = spawn_app_with_float("1000.00").await;

    for amount in ["null", "true", "false", "[10]", r#"{"value":10}"#] {
        let case = format!("amount {amount}");
        let answer = app.pay(&payment_of(amount)).await;
        assert_problem(&answer, 400, "INVALID_FIELD_TYPE", &case);
        assert_eq!(error_fields(&answer), ["amount"], "{case}: errors[].field");
        assert_eq!(app.float().await, "1000.00", "{case}: float");
    }
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn missing_amount_is_400() {
    let app = spawn_app_with_float("1000.00").await;

    let answer = app.pay(r#"{"numberService":"04140000001","idTypeService":57}"#).await;

    assert_problem(&answer, 400, "MISSING_FIELD", "no amount");
    assert_eq!(error_fields(&answer), ["amount"]);
    assert_eq!(app.float().await, "1000.00");
}

#[tokio::test]
async fn amounts_outside_range_are_422() {
    let app = spawn_app_with_float("200000.00").await;

    for amount in ["0.5", "0.99", "100000.01", r#""100000.01""#, "1e6"] {
        let case = format!("amount {amount}");
        let answer = app.pay(&payment_of(amount)).await;
        assert_problem(&answer, 422, "AMOUNT_OUT_OF_RANGE", &case);
        assert_eq!(error_fields(&answer), ["amount"], "{case}: errors[].field");
        assert_eq!(app.float().await, "200000.00", "{case}: float");
    }
    assert_eq!(app.simulator.payment_count(), 0);

    // The bounds themselves are inside the range.
    for (amount, float_after) in [("1", "199999.00"), ("100000.00", "99999.00")] {
        let answer = app.pay(&payment_of(amount)).await;
        assert_eq!(answer.status, 200, "amount {amount}: {}", answer.text);
        assert_eq!(app.float().await, float_after, "amount {amount}: float");
    }
}

#[tokio::test]
async fn several_faults_listed_together() {
    let app = spawn_app_with_float("1000.00").await;

    let answer = app.pay(r#"{"numberService":"0414abc","idTypeService":57,"amount":"10,50","reference":"a b"}"#).await;

    assert_problem(&answer, 422, "INVALID_SERVICE_NUMBER", "bad number, amount and reference");
    assert_eq!(error_fields(&answer), ["numberService", "amount", "reference"]);
    assert_eq!(app.float().await, "1000.00");
}

#[tokio::test]
async fn short_body_times_out_and_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let config = cps_api::ServerConfig {
        body_read_timeout: std::time::Duration::from_millis(300),
        ..cps_api::ServerConfig::default()
    };
    let app = spawn_app_with("100.00", config).await;
    let body = EXAMPLE_PAYMENT;
    let nonce = nonce();
    let signature = cps_api::sign(&app.secret, &format!("{PAY_PATH}{nonce}{body}"));

    // Content-Length promises 100 bytes more than are sent.
    let address = app.base_url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST {PAY_PATH} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         api-key: {}\r\napi-nonce: {nonce}\r\napi-signature: {signature}\r\naccept-language: en\r\n\r\n{body}",
        body.len() + 100,
        app.api_key,
    );
    stream.write_all(head.as_bytes()).await.unwrap();

    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"REQUEST_TIMEOUT\""), "{answer}");
    assert_eq!(app.float().await, "100.00");
}

#[tokio::test]
async fn slow_headers_close_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let config = cps_api::ServerConfig {
        header_read_timeout: std::time::Duration::from_millis(300),
        ..cps_api::ServerConfig::default()
    };
    let app = spawn_app_with("100.00", config).await;

    // The request head never ends: the blank line after the headers is missing.
    let address = app.base_url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream.write_all(format!("GET /health/live HTTP/1.1\r\nhost: {address}\r\n").as_bytes()).await.unwrap();

    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept a connection whose headers never ended");

    let healthy = app.send(app.http.get(app.url("/health/live"))).await;
    assert_eq!(healthy.status, 200, "the server still serves others");
}
