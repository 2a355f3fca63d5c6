//! Error responses: each status as problem+json, the order of the checks, the
//! language of messages, and that bad input never crashes the server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use hmac::{Hmac, Mac};

use crate::helpers::*;

/// The default body limit of the server.
const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// Sends `request` over a plain TCP connection and reads one HTTP/1.1
/// response. For requests reqwest will not build: a false `Content-Length`
/// or a chunked body.
async fn exchange_raw(app: &TestApp, request: Vec<u8>) -> Answer {
    let address = app.base_url.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&address).expect("test server accepts connections");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(&request).expect("request is written");
        read_raw_answer(&mut stream)
    })
    .await
    .expect("raw exchange finishes")
}

/// Reads the status line, headers and a `Content-Length` body. A read
/// timeout means the server waited for a body it should have refused.
fn read_raw_answer(stream: &mut TcpStream) -> Answer {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = stream.read(&mut buffer).unwrap_or_else(|error| {
            panic!("no complete response ({error}); received {:?}", String::from_utf8_lossy(&received))
        });
        received.extend_from_slice(&buffer[..read]);
        if let Some(answer) = parse_raw_answer(&received) {
            return answer;
        }
        assert!(read > 0, "connection closed before a complete response: {:?}", String::from_utf8_lossy(&received));
    }
}

/// Parses a complete HTTP/1.1 response, or returns `None` while parts are
/// still missing.
fn parse_raw_answer(received: &[u8]) -> Option<Answer> {
    let header_end = received.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&received[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;

    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        headers.append(name, value.trim().parse().ok()?);
    }
    let length: usize = headers.get("content-length")?.to_str().ok()?.parse().ok()?;
    let body = received.get(header_end + 4..header_end + 4 + length)?;
    Some(Answer { status, headers, text: String::from_utf8_lossy(body).into_owned() })
}

/// Computes the lowercase hex HMAC-SHA384 of PATH + NONCE + raw body bytes,
/// as a client that signs bytes does.
fn sign_bytes(secret: &str, path: &str, nonce: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha384>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(path.as_bytes());
    mac.update(nonce.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// POSTs `body` to the pay path, signed, with `content_type` if any.
async fn post_with_content_type(app: &TestApp, content_type: Option<&str>, body: &str) -> Answer {
    let nonce = nonce();
    let mut request = app.http.post(app.url(PAY_PATH)).body(body.to_string());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    app.send(app.with_signature(request, &nonce, &format!("{PAY_PATH}{nonce}{body}"))).await
}

/// Starts a 3 MB upload but sends only its first 64 KiB: a server that waits
/// for the rest before answering times the exchange out. A client writing
/// all 3 MB could instead see the connection reset after the early 413.
fn three_megabyte_upload(path: &str) -> Vec<u8> {
    let declared = 3 * 1024 * 1024;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(br#"{"numberService":""#);
    request.extend(std::iter::repeat_n(b'0', 64 * 1024));
    request
}

#[tokio::test]
async fn oversized_body_is_413_first() {
    let app = spawn_app().await;

    // No credentials at all: the size is checked before authentication, and
    // before the route is looked up.
    for (label, path) in [("pay path", PAY_PATH), ("unknown route", "/cps/v2/nothing")] {
        let answer = exchange_raw(&app, three_megabyte_upload(path)).await;
        assert_problem(&answer, 413, "PAYLOAD_TOO_LARGE", label);
    }
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn body_at_limit_is_accepted() {
    let app = spawn_app_with_float("100.00").await;
    let at_limit = format!("{EXAMPLE_PAYMENT:<BODY_LIMIT_BYTES$}");
    let over_limit = format!("{at_limit} ");

    let accepted = app.pay(&at_limit).await;
    let rejected = app.pay(&over_limit).await;

    assert_eq!(accepted.status, 200, "body of exactly {BODY_LIMIT_BYTES} bytes: {}", accepted.text);
    assert_problem(&rejected, 413, "PAYLOAD_TOO_LARGE", "body one byte over the limit");
    assert_eq!(app.float().await, "90.00");
}

#[tokio::test]
async fn false_content_length_is_413() {
    let app = spawn_app().await;
    let claimed = BODY_LIMIT_BYTES + 1;

    // The body never comes: a server that waits for it times out the read.
    let request = format!(
        "POST {PAY_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {claimed}\r\n\r\n{{}}"
    );
    let answer = exchange_raw(&app, request.into_bytes()).await;

    assert_problem(&answer, 413, "PAYLOAD_TOO_LARGE", "content-length over the limit");
}

#[tokio::test]
async fn chunked_oversized_body_is_413() {
    let app = spawn_app().await;
    let chunk = "0".repeat(8 * 1024);

    // No Content-Length: the limit must hold while the body is read.
    let mut request = format!(
        "POST {PAY_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    for _ in 0..4 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let answer = exchange_raw(&app, request.into_bytes()).await;

    assert_problem(&answer, 413, "PAYLOAD_TOO_LARGE", "chunked body over the limit");
}

#[tokio::test]
async fn unknown_route_is_404() {
    let app = spawn_app().await;

    for path in ["/cps/v2/nothing", "/cps/v3/list/basic_services", "/", "/cps/v2/operation/use/pay/extra"] {
        let answer = app.send(app.http.get(app.url(path))).await;
        assert_problem(&answer, 404, "NOT_FOUND", path);
        assert_eq!(answer.json()["errors"], serde_json::json!([]), "{path}: errors");
    }
}

#[tokio::test]
async fn wrong_method_is_405() {
    let app = spawn_app().await;

    let cases = [
        ("GET on pay", reqwest::Method::GET, PAY_PATH, "POST"),
        ("GET on gateway pay", reqwest::Method::GET, "/v2/operation/use/pay", "POST"),
        ("POST on list", reqwest::Method::POST, SERVICES_PATH, "GET"),
        ("DELETE on balance", reqwest::Method::DELETE, BALANCE_PATH, "GET"),
    ];
    for (label, method, path, allowed) in cases {
        let answer = app.send(app.http.request(method, app.url(path))).await;
        assert_problem(&answer, 405, "METHOD_NOT_ALLOWED", label);
        let allow = answer.header("allow").unwrap_or_default();
        assert!(allow.contains(allowed), "{label}: allow header {allow:?} lacks {allowed}");
    }
}

#[tokio::test]
async fn unsigned_without_content_type_is_401() {
    let app = spawn_app().await;

    let answer = app.send(app.http.post(app.url(PAY_PATH)).body(EXAMPLE_PAYMENT)).await;

    assert_problem(&answer, 401, "MISSING_CREDENTIALS", "unsigned POST without content-type");
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn non_json_media_type_is_415() {
    let app = spawn_app_with_float("100.00").await;

    let cases = [
        ("no content-type", None),
        ("text/plain", Some("text/plain")),
        ("form", Some("application/x-www-form-urlencoded")),
        ("JSON-like subtype", Some("application/jsonx")),
    ];
    for (label, content_type) in cases {
        let answer = post_with_content_type(&app, content_type, EXAMPLE_PAYMENT).await;
        assert_problem(&answer, 415, "UNSUPPORTED_MEDIA_TYPE", label);
    }
    assert_eq!(app.float().await, "100.00");
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn json_media_type_parameters_accepted() {
    let app = spawn_app_with_float("100.00").await;

    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let answer = post_with_content_type(&app, Some(content_type), EXAMPLE_PAYMENT).await;
        assert_eq!(answer.status, 200, "{content_type}: {}", answer.text);
    }
    assert_eq!(app.float().await, "80.00");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app_with_float("100.00").await;

    for body in ["{", "[1]", "", "null", r#""text""#, "{} x", r#"{"amount":10,}"#] {
        let answer = app.pay(body).await;
        assert_problem(&answer, 400, "MALFORMED_JSON", &format!("body {body:?}"));
    }
    assert_eq!(app.float().await, "100.00");
}

#[tokio::test]
async fn invalid_utf8_body_is_400() {
    let app = spawn_app_with_float("100.00").await;
    let body: &[u8] = b"\xff\xfe";
    let nonce = nonce();

    // The client signs the bytes it sends, as the contract requires.
    let request = app.http.post(app.url(PAY_PATH)).header("content-type", "application/json").body(body.to_vec());
    let signature = sign_bytes(&app.secret, PAY_PATH, &nonce, body);
    let answer = app.send(app.with_credentials(request, &nonce, &signature)).await;

    assert_problem(&answer, 400, "MALFORMED_JSON", "bytes ff fe signed as sent");
    assert_eq!(app.float().await, "100.00");
}

#[tokio::test]
async fn field_faults_are_400() {
    let app = spawn_app_with_float("100.00").await;

    // (label, body, code, field at fault)
    let cases = [
        (
            "misspelled amount",
            r#"{"numberService":"04140000001","idTypeService":57,"ammount":10}"#,
            "UNKNOWN_FIELD",
            "ammount",
        ),
        (
            "amount twice",
            r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"amount":20}"#,
            "DUPLICATE_FIELD",
            "amount",
        ),
        ("no numberService", r#"{"idTypeService":57,"amount":10}"#, "MISSING_FIELD", "numberService"),
        ("no idTypeService", r#"{"numberService":"04140000001","amount":10}"#, "MISSING_FIELD", "idTypeService"),
        ("no amount", r#"{"numberService":"04140000001","idTypeService":57}"#, "MISSING_FIELD", "amount"),
        (
            "numberService as number",
            r#"{"numberService":4140000001,"idTypeService":57,"amount":10}"#,
            "INVALID_FIELD_TYPE",
            "numberService",
        ),
        (
            "idTypeService as string",
            r#"{"numberService":"04140000001","idTypeService":"57","amount":10}"#,
            "INVALID_FIELD_TYPE",
            "idTypeService",
        ),
        (
            "idTypeService with fraction",
            r#"{"numberService":"04140000001","idTypeService":57.5,"amount":10}"#,
            "INVALID_FIELD_TYPE",
            "idTypeService",
        ),
        (
            "reference as number",
            r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":7}"#,
            "INVALID_FIELD_TYPE",
            "reference",
        ),
    ];
    for (label, body, code, field) in cases {
        let answer = app.pay(body).await;
        assert_problem(&answer, 400, code, label);
        assert_eq!(error_fields(&answer), [field], "{label}: errors[].field");
    }
    assert_eq!(app.float().await, "100.00");
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn bad_query_parameters_are_400() {
    let app = spawn_app_with_float("100.00").await;

    // (label, path, query, payload signed as a client builds it, field at fault)
    let cases = [
        ("unknown list parameter", SERVICES_PATH, "foo=1", r#"{"foo":"1"}"#, "foo"),
        (
            "repeated list parameter",
            SERVICES_PATH,
            "canGetBalance=true&canGetBalance=false",
            r#"{"canGetBalance":false}"#,
            "canGetBalance",
        ),
        ("canGetBalance=yes", SERVICES_PATH, "canGetBalance=yes", r#"{"canGetBalance":"yes"}"#, "canGetBalance"),
        ("canGetBalance=1", SERVICES_PATH, "canGetBalance=1", r#"{"canGetBalance":1}"#, "canGetBalance"),
        (
            "unknown balance parameter",
            BALANCE_PATH,
            "numberService=02123457654&idTypeService=63&x=1",
            r#"{"numberService":"02123457654","idTypeService":63,"x":1}"#,
            "x",
        ),
        (
            "repeated balance parameter",
            BALANCE_PATH,
            "numberService=02123457654&idTypeService=63&idTypeService=62",
            r#"{"numberService":"02123457654","idTypeService":62}"#,
            "idTypeService",
        ),
    ];
    for (label, path, query, payload, field) in cases {
        let answer = app.get_signed(path, query, payload).await;
        assert_problem(&answer, 400, "INVALID_QUERY_PARAMETER", label);
        assert_eq!(error_fields(&answer), [field], "{label}: errors[].field");
    }

    // A query string on the pay path is not part of the contract either.
    let nonce = nonce();
    let request = app
        .http
        .post(app.url(&format!("{PAY_PATH}?amount=5")))
        .header("content-type", "application/json")
        .body(EXAMPLE_PAYMENT);
    let answer = app.send(app.with_signature(request, &nonce, &format!("{PAY_PATH}{nonce}{EXAMPLE_PAYMENT}"))).await;
    assert_problem(&answer, 400, "INVALID_QUERY_PARAMETER", "query on the pay path");
    assert_eq!(app.float().await, "100.00");
}

#[tokio::test]
async fn business_rule_faults_are_422() {
    let app = spawn_app_with_float("100.00").await;
    let long_reference = "r".repeat(65);
    let long_body =
        format!(r#"{{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":"{long_reference}"}}"#);

    // (label, body, code, field at fault)
    let cases = [
        (
            "service 999",
            r#"{"numberService":"04140000001","idTypeService":999,"amount":10}"#.to_string(),
            "UNKNOWN_SERVICE",
            "idTypeService",
        ),
        ("reference of 65 characters", long_body, "INVALID_REFERENCE", "reference"),
        (
            "reference with a space",
            r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":"pedido 1"}"#.to_string(),
            "INVALID_REFERENCE",
            "reference",
        ),
        (
            "empty reference",
            r#"{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":""}"#.to_string(),
            "INVALID_REFERENCE",
            "reference",
        ),
    ];
    for (label, body, code, field) in cases {
        let answer = app.pay(&body).await;
        assert_problem(&answer, 422, code, label);
        assert_eq!(error_fields(&answer), [field], "{label}: errors[].field");
    }
    assert_eq!(app.float().await, "100.00");
    assert_eq!(app.simulator.payment_count(), 0);

    let header = app.post_signed_with(PAY_PATH, EXAMPLE_PAYMENT, &[("idempotency-key", "pedido 1")]).await;
    assert_problem(&header, 422, "INVALID_REFERENCE", "Idempotency-Key with a space");
    assert_eq!(error_fields(&header), ["reference"], "Idempotency-Key with a space: errors[].field");

    // A reference of exactly 64 characters is fine.
    let body =
        format!(r#"{{"numberService":"04140000001","idTypeService":57,"amount":10,"reference":"{}"}}"#, "r".repeat(64));
    let answer = app.pay(&body).await;
    assert_eq!(answer.status, 200, "reference of 64 characters: {}", answer.text);
}

#[tokio::test]
async fn checks_run_in_documented_order() {
    // A float below any amount, so that a request passing every check ends
    // at 402.
    let app = spawn_app_with_float("0.01").await;

    let nonce = nonce();
    let request = app.http.post(app.url(PAY_PATH)).header("content-type", "application/json").body("{");
    let bad_signature =
        app.send(app.with_signature(request, &nonce, &format!("{PAY_PATH}{nonce}{EXAMPLE_PAYMENT}"))).await;
    assert_problem(&bad_signature, 401, "INVALID_SIGNATURE", "bad signature and malformed JSON");

    let unsigned_unknown_route = app.send(app.http.post(app.url("/cps/v2/nothing")).body("{")).await;
    assert_problem(&unsigned_unknown_route, 404, "NOT_FOUND", "unsigned request to an unknown route");

    let unsigned_wrong_method = app.send(app.http.get(app.url(PAY_PATH))).await;
    assert_problem(&unsigned_wrong_method, 405, "METHOD_NOT_ALLOWED", "unsigned GET on the pay path");

    let text_malformed = post_with_content_type(&app, Some("text/plain"), "{").await;
    assert_problem(&text_malformed, 415, "UNSUPPORTED_MEDIA_TYPE", "text/plain and malformed JSON");

    // (label, body, status, code): each body also breaks every later rule.
    let cases = [
        (
            "wrong type and unknown service",
            r#"{"numberService":4140000001,"idTypeService":999,"amount":10}"#,
            400,
            "INVALID_FIELD_TYPE",
        ),
        (
            "unknown field and invalid amount",
            r#"{"numberService":"04140000001","idTypeService":57,"amount":0,"x":1}"#,
            400,
            "UNKNOWN_FIELD",
        ),
        (
            "unknown service, low float",
            r#"{"numberService":"04140000001","idTypeService":999,"amount":10}"#,
            422,
            "UNKNOWN_SERVICE",
        ),
        (
            "invalid amount, low float",
            r#"{"numberService":"04140000001","idTypeService":57,"amount":10.001}"#,
            422,
            "INVALID_AMOUNT",
        ),
        ("valid payment, low float", EXAMPLE_PAYMENT, 402, "INSUFFICIENT_FUNDS"),
    ];
    for (label, body, status, code) in cases {
        let answer = app.pay(body).await;
        assert_problem(&answer, status, code, label);
    }
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn server_survives_bad_requests() {
    let app = spawn_app_with_float("100.00").await;

    let oversized = exchange_raw(&app, three_megabyte_upload(PAY_PATH)).await;
    assert_eq!(oversized.status, 413, "{}", oversized.text);

    let request = format!("POST {PAY_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 999999999\r\n\r\n");
    let false_length = exchange_raw(&app, request.into_bytes()).await;
    assert_eq!(false_length.status, 413, "{}", false_length.text);

    let injection =
        app.pay(r#"{"numberService":"04140000001'; DROP TABLE operations; --","idTypeService":57,"amount":10}"#).await;
    assert_problem(&injection, 422, "INVALID_SERVICE_NUMBER", "SQL in numberService");

    // 10,000 bytes: under the body limit, far over any sane nesting depth.
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let nested = app.pay(&deep).await;
    assert_problem(&nested, 400, "MALFORMED_JSON", "deeply nested arrays");

    let good = app.pay(EXAMPLE_PAYMENT).await;
    assert_eq!(good.status, 200, "a good request after bad ones: {}", good.text);
    assert_eq!(app.float().await, "90.00");
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn spanish_default_english_on_request() {
    let app = spawn_app().await;
    let unknown_field = r#"{"numberService":"04140000001","idTypeService":57,"ammount":10}"#;

    let spanish = app.pay(unknown_field).await;
    let english = app.post_signed_with(PAY_PATH, unknown_field, &[("accept-language", "en")]).await;

    assert_problem(&spanish, 400, "UNKNOWN_FIELD", "Spanish");
    assert_problem(&english, 400, "UNKNOWN_FIELD", "English");
    assert_eq!(spanish.header("content-language"), Some("es"));
    assert_eq!(english.header("content-language"), Some("en"));
    assert_eq!(spanish.json()["title"], "Campo desconocido");
    assert_eq!(english.json()["title"], "Unknown field");
    assert_ne!(spanish.json()["detail"], english.json()["detail"]);
    assert_ne!(spanish.json()["errors"][0]["message"], english.json()["errors"][0]["message"]);
    assert!(english.json()["detail"].as_str().unwrap_or_default().contains("ammount"), "{}", english.text);
}

#[tokio::test]
async fn errors_follow_accept_language() {
    let app = spawn_app().await;

    let not_found_es = app.send(app.http.get(app.url("/cps/v2/nothing"))).await;
    let not_found_en =
        app.send(app.http.get(app.url("/cps/v2/nothing")).header("accept-language", "en-US,en;q=0.9")).await;
    let unsigned_es = app.send(app.http.get(app.url(SERVICES_PATH))).await;
    let unsigned_en = app.send(app.http.get(app.url(SERVICES_PATH)).header("accept-language", "en")).await;
    let amount = r#"{"numberService":"04140000001","idTypeService":57,"amount":"10,50"}"#;
    let amount_es = app.pay(amount).await;
    let amount_en = app.post_signed_with(PAY_PATH, amount, &[("accept-language", "en")]).await;

    let pairs = [
        ("NOT_FOUND", &not_found_es, &not_found_en),
        ("MISSING_CREDENTIALS", &unsigned_es, &unsigned_en),
        ("INVALID_AMOUNT", &amount_es, &amount_en),
    ];
    for (code, spanish, english) in pairs {
        assert_eq!(spanish.code(), code, "{}", spanish.text);
        assert_eq!(english.code(), code, "{}", english.text);
        assert_eq!(spanish.header("content-language"), Some("es"), "{code}: Spanish content-language");
        assert_eq!(english.header("content-language"), Some("en"), "{code}: English content-language");
        assert_ne!(spanish.json()["title"], english.json()["title"], "{code}: same title in both languages");
        assert_ne!(spanish.json()["detail"], english.json()["detail"], "{code}: same detail in both languages");
    }
    assert_eq!(error_fields(&amount_es), ["amount"]);
}

#[tokio::test]
async fn short_body_is_400() {
    let app = spawn_app().await;
    let address = app.base_url.trim_start_matches("http://").to_string();

    // Declares 100 bytes, sends 31, then closes its sending side.
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&address).expect("test server accepts connections");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let request = format!(
            "POST {PAY_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"numberService\":\"04140000001\"}}"
        );
        stream.write_all(request.as_bytes()).expect("request is written");
        stream.shutdown(std::net::Shutdown::Write).expect("sending side closes");
        read_raw_answer(&mut stream)
    })
    .await
    .expect("raw exchange finishes");

    assert_problem(&answer, 400, "MALFORMED_JSON", "body shorter than its Content-Length");
}
