//! The logs of a real `cps serve`. At debug level, JSON lines carry the
//! request's ids and never a full subscriber number, a client secret or a
//! request signature, whatever the request did. `--log-format` picks JSON or
//! text.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

const BALANCE_PATH: &str = "/cps/v2/operation/get/balance";

/// Subscriber numbers as sent and as normalized; none may appear in a log.
struct Numbers {
    sent: &'static str,
    normalized: &'static str,
}

const APPROVED: Numbers = Numbers { sent: "+58 414-123.4567", normalized: "04141234567" };
const REJECTED: Numbers = Numbers { sent: "04147779001", normalized: "04147779001" };
const PENDING: Numbers = Numbers { sent: "0414 555 9002", normalized: "04145559002" };
const WRONG_OPERATOR: Numbers = Numbers { sent: "04125551234", normalized: "04125551234" };
const BAD_AMOUNT: Numbers = Numbers { sent: "04146660001", normalized: "04146660001" };
const BALANCE: Numbers = Numbers { sent: "02125557654", normalized: "02125557654" };

/// A signed request as sent: its answer's status and the signature it
/// carried.
struct Sent {
    status: u16,
    signature: String,
}

/// POSTs `body` to `path`, signed with `secret`, and reads the whole response.
async fn post_signed(client: &Client, base_url: &str, path: &str, body: &str, secret: &str) -> Sent {
    let nonce = next_nonce();
    let signature = cps_api::sign(secret, &format!("{path}{nonce}{body}"));
    let response = client
        .http
        .post(format!("{base_url}{path}"))
        .header("content-type", "application/json")
        .header("api-key", &client.api_key)
        .header("api-nonce", &nonce)
        .header("api-signature", &signature)
        .body(body.to_string())
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    response.bytes().await.expect("the answer reads");
    Sent { status, signature }
}

/// GETs `path?query`, signed over the query's typed JSON form `payload`.
async fn get_signed(client: &Client, base_url: &str, path: &str, query: &str, payload: &str) -> Sent {
    let nonce = next_nonce();
    let signature = cps_api::sign(&client.secret, &format!("{path}{nonce}{payload}"));
    let response = client
        .http
        .get(format!("{base_url}{path}?{query}"))
        .header("api-key", &client.api_key)
        .header("api-nonce", &nonce)
        .header("api-signature", &signature)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    response.bytes().await.expect("the answer reads");
    Sent { status, signature }
}

fn pay_json(number: &str, amount: &str) -> String {
    serde_json::json!({"numberService": number, "idTypeService": 57, "amount": amount}).to_string()
}

/// Runs every kind of request against a server logging JSON at debug level
/// through the HTTP biller adapter, and returns the log lines and the
/// signatures sent.
async fn run_traffic(sandbox: &Sandbox) -> (Vec<String>, Vec<String>, Client) {
    let simulator = sandbox.spawn(&["biller-sim"]);
    let store = sandbox.store().await;
    let client = create_client(&store, "logs test", "1000.00").await;

    let log_file = sandbox.directory.path().join("serve.log");
    let args = [
        "serve",
        "--log-format",
        "json",
        "--biller-url",
        simulator.url.as_str(),
        "--biller-timeout-ms",
        "300",
        "--settle-after-ms",
        "1000",
        "--settle-interval-ms",
        "100",
    ];
    let mut server = sandbox.spawn_logged(&args, &[("RUST_LOG", "debug")], &log_file);
    let url = server.url.clone();
    let mut signatures = Vec::new();
    let mut send = |sent: Sent, expected: u16, case: &str| {
        assert_eq!(sent.status, expected, "{case}");
        signatures.push(sent.signature);
    };

    let secret = client.secret.clone();
    let path = PAY_PATH;
    send(post_signed(&client, &url, path, &pay_json(APPROVED.sent, "10"), &secret).await, 200, "approved");
    send(post_signed(&client, &url, path, &pay_json(REJECTED.sent, "10"), &secret).await, 422, "rejected");
    send(post_signed(&client, &url, path, &pay_json(PENDING.sent, "10"), &secret).await, 202, "pending");
    send(post_signed(&client, &url, path, &pay_json(WRONG_OPERATOR.sent, "10"), &secret).await, 422, "operator");
    send(post_signed(&client, &url, path, &pay_json(BAD_AMOUNT.sent, "10.005"), &secret).await, 422, "amount");
    let forged = post_signed(&client, &url, path, &pay_json(APPROVED.sent, "10"), "not the secret").await;
    send(forged, 401, "bad signature");
    let query = format!("numberService={}&idTypeService=63", BALANCE.sent);
    let payload = format!(r#"{{"numberService":"{}","idTypeService":63}}"#, BALANCE.sent);
    send(get_signed(&client, &url, BALANCE_PATH, &query, &payload).await, 200, "balance");

    // The settler finalizes the pending payment by asking the biller.
    wait_until_settled(&store, Duration::from_secs(30)).await;
    store.close().await;
    server.kill();

    let text = std::fs::read_to_string(&log_file).expect("log file reads");
    let lines = text.lines().filter(|line| !line.trim().is_empty()).map(str::to_string).collect();
    (lines, signatures, client)
}

fn parse_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not a JSON log line ({error}): {line}")))
        .collect()
}

/// Returns field `name` of the line's request span, from its span list.
fn request_field<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    let spans = line["spans"].as_array()?;
    spans.iter().find(|span| span["name"] == "request").and_then(|span| span[name].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hide_numbers_secrets_and_signatures() {
    let sandbox = Sandbox::new();
    let (lines, signatures, client) = run_traffic(&sandbox).await;
    let entries = parse_lines(&lines);

    let numbers = [APPROVED, REJECTED, PENDING, WRONG_OPERATOR, BAD_AMOUNT, BALANCE];
    for line in &lines {
        for number in &numbers {
            assert!(!line.contains(number.normalized), "full number {} logged: {line}", number.normalized);
            assert!(!line.contains(number.sent), "number as sent {:?} logged: {line}", number.sent);
            // The national digits without the leading 0, as in the +58 form.
            assert!(!line.contains(&number.normalized[1..]), "number digits {} logged: {line}", number.normalized);
        }
        assert!(!line.contains(&client.secret), "client secret logged: {line}");
        for signature in &signatures {
            assert!(!line.contains(signature.as_str()), "signature logged: {line}");
        }
    }

    // The checks above mean something only if the requests were logged in
    // detail, with the masked number and at debug level.
    assert!(lines.iter().any(|line| line.contains("0414*****67")), "no masked number in {} lines", lines.len());
    assert!(entries.iter().any(|entry| entry["level"] == "DEBUG"), "no debug line in {} lines", lines.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_request_ids() {
    let sandbox = Sandbox::new();
    let (lines, _signatures, _client) = run_traffic(&sandbox).await;
    let entries = parse_lines(&lines);

    let finished: Vec<&Value> =
        entries.iter().filter(|entry| entry["fields"]["message"] == "request finished").collect();
    assert_eq!(finished.len(), 7, "one finished line per request");
    for entry in &finished {
        let request_id = request_field(entry, "request_id").unwrap_or_default();
        assert!(request_id.starts_with("req_"), "request id missing: {entry}");
    }
    let authenticated = finished.iter().filter(|entry| request_field(entry, "client_id").is_some()).count();
    assert_eq!(authenticated, 6, "every request with a valid signature names its client");
    let with_operation = finished.iter().filter(|entry| request_field(entry, "operation_id").is_some()).count();
    assert_eq!(with_operation, 3, "approved, rejected and pending payments name their operation");

    let biller_calls: Vec<&Value> =
        entries.iter().filter(|entry| entry["fields"]["message"] == "biller call finished").collect();
    let payment_call = biller_calls
        .iter()
        .find(|entry| entry["span"]["call"] == "pay" && entry["fields"]["outcome"] == "approved")
        .expect("the approved payment's biller call is logged");
    assert!(payment_call["span"]["operation_id"].as_str().is_some_and(|id| id.starts_with("op_")), "{payment_call}");
    assert!(request_field(payment_call, "request_id").is_some(), "biller call outside its request: {payment_call}");
    let settle_call = biller_calls.iter().find(|entry| entry["span"]["call"] == "payment_status");
    assert!(settle_call.is_some(), "the settler's status query is logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_are_not_errors() {
    let sandbox = Sandbox::new();
    let (lines, _signatures, _client) = run_traffic(&sandbox).await;
    let entries = parse_lines(&lines);

    let errors: Vec<&String> =
        lines.iter().zip(&entries).filter(|(_, entry)| entry["level"] == "ERROR").map(|(line, _)| line).collect();
    assert!(errors.is_empty(), "error lines without an internal failure: {errors:?}");
    let warnings = entries.iter().filter(|entry| entry["level"] == "WARN").count();
    assert!(warnings >= 1, "the pending payment's unknown outcome is a warning");
}

/// Starts `cps serve` with `extra` arguments and stderr in a file, makes one
/// request, and returns the lines written by then.
async fn serve_one_request(sandbox: &Sandbox, extra: &[&str]) -> Vec<String> {
    let log_file = sandbox.directory.path().join("format.log");
    let mut args = vec!["serve"];
    args.extend_from_slice(extra);
    let mut server = sandbox.spawn_logged(&args, &[("RUST_LOG", "info")], &log_file);

    // The server logs a request before it sends the response, so the line
    // is in the file once the response arrives.
    let live = reqwest::get(format!("{}/health/live", server.url)).await.expect("the server answers");
    assert_eq!(live.status().as_u16(), 200);
    server.kill();

    let text = std::fs::read_to_string(&log_file).expect("log file reads");
    text.lines().filter(|line| !line.trim().is_empty()).map(str::to_string).collect()
}

#[tokio::test]
async fn auto_format_writes_json_to_a_file() {
    let sandbox = Sandbox::new();
    let lines = serve_one_request(&sandbox, &[]).await;

    assert!(lines.iter().any(|line| line.contains("request finished")), "{lines:?}");
    for line in &lines {
        assert!(serde_json::from_str::<Value>(line).is_ok(), "not JSON with stderr in a file: {line}");
    }
}

#[tokio::test]
async fn text_format_writes_plain_lines() {
    let sandbox = Sandbox::new();
    let lines = serve_one_request(&sandbox, &["--log-format", "text"]).await;

    let finished = lines.iter().find(|line| line.contains("request finished")).expect("a request line");
    assert!(serde_json::from_str::<Value>(finished).is_err(), "JSON despite --log-format text: {finished}");
    assert!(finished.contains("INFO"), "{finished}");
    assert!(!finished.contains('\u{1b}'), "color codes in a file: {finished:?}");
}
