//! A test application with one method per endpoint, signing like a client.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cps_api::{Server, ServerConfig};
use cps_billers::Simulator;
use cps_domain::{Catalog, Money};
use cps_store::Store;
use serde_json::Value;

pub const PAY_PATH: &str = "/cps/v2/operation/use/pay";
pub const BALANCE_PATH: &str = "/cps/v2/operation/get/balance";
pub const SERVICES_PATH: &str = "/cps/v2/list/basic_services";

/// The contract's example payment.
pub const EXAMPLE_PAYMENT: &str = r#"{"numberService":"04243675525","idTypeService":57,"amount":10}"#;

pub struct TestApp {
    pub base_url: String,
    /// The base URL of the separate metrics listener, when configured.
    pub metrics_url: Option<String>,
    pub store: Store,
    pub simulator: Arc<Simulator>,
    pub http: reqwest::Client,
    pub api_key: String,
    pub secret: String,
    _directory: tempfile::TempDir,
}

/// An HTTP answer read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.text))
    }

    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Starts a server with a client whose float is 1,000,000.00.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_float("1000000.00").await
}

/// Starts a server with a client whose float is `float` (a decimal string).
pub async fn spawn_app_with_float(float: &str) -> TestApp {
    spawn_app_with(float, ServerConfig::default()).await
}

pub async fn spawn_app_with(float: &str, mut config: ServerConfig) -> TestApp {
    let directory = tempfile::tempdir().expect("temporary folder");
    let url = cps_store::testing::fresh_database_url(directory.path()).await;
    let store = Store::open(&url).await.expect("store opens");

    let client = store.create_client("test client").await.expect("client created");
    let float = Money::parse_decimal(float).expect("float parses");
    if float > Money::ZERO {
        store.credit_client(&client.api_key, float).await.expect("float credited");
    }

    let simulator = Arc::new(Simulator::default());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = Server::bind(config, store.clone(), Arc::new(Catalog::default_catalog()), simulator.clone())
        .await
        .expect("server binds");
    let base_url = format!("http://{}", server.local_addr());
    let metrics_url = server.metrics_addr().map(|address| format!("http://{address}"));
    tokio::spawn(server.run(std::future::pending()));

    TestApp {
        base_url,
        metrics_url,
        store,
        simulator,
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        api_key: client.api_key,
        secret: client.secret,
        _directory: directory,
    }
}

/// A fresh nonce for each call: the current time in milliseconds, made
/// strictly increasing so two requests in one millisecond differ.
pub fn nonce() -> String {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = cps_store::now_ms();
    let value = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1))).unwrap();
    now.max(value + 1).to_string()
}

impl TestApp {
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base_url, path_and_query)
    }

    /// Sends a request with the given headers and body, signed by nothing.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body reads");
        Answer { status, headers, text }
    }

    /// POSTs `body` as JSON, signed over exactly its bytes.
    pub async fn post_signed(&self, path: &str, body: &str) -> Answer {
        self.post_signed_with(path, body, &[]).await
    }

    pub async fn post_signed_with(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        let nonce = nonce();
        let request = self.http.post(self.url(path)).header("content-type", "application/json").body(body.to_string());
        let mut request = self.with_signature(request, &nonce, &format!("{path}{nonce}{body}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// GETs `path?query`, signed over `payload` (the JSON the client built
    /// from the query).
    pub async fn get_signed(&self, path: &str, query: &str, payload: &str) -> Answer {
        self.get_signed_with(path, query, payload, &[]).await
    }

    pub async fn get_signed_with(&self, path: &str, query: &str, payload: &str, headers: &[(&str, &str)]) -> Answer {
        let nonce = nonce();
        let target = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
        let mut request =
            self.with_signature(self.http.get(self.url(&target)), &nonce, &format!("{path}{nonce}{payload}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// GETs `path` with `params` as its query, signed over the string form
    /// of the query as a client builds it (every value a JSON string).
    pub async fn get_query(&self, path: &str, params: &[(&str, &str)]) -> Answer {
        self.get_query_as(&self.api_key, &self.secret, path, params).await
    }

    /// Like [`TestApp::get_query`], for any client's credentials.
    pub async fn get_query_as(&self, api_key: &str, secret: &str, path: &str, params: &[(&str, &str)]) -> Answer {
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let payload = string_payload(params);
        let nonce = nonce();
        let target = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
        let signature = cps_api::sign(secret, &format!("{path}{nonce}{payload}"));
        let request = self
            .http
            .get(self.url(&target))
            .header("api-key", api_key)
            .header("api-nonce", &nonce)
            .header("api-signature", signature);
        self.send(request).await
    }

    /// Creates another client with `float` and returns its api-key and
    /// secret.
    pub async fn other_client(&self, float: &str) -> (String, String) {
        let client = self.store.create_client("other client").await.expect("client created");
        let float = Money::parse_decimal(float).expect("float parses");
        if float > Money::ZERO {
            self.store.credit_client(&client.api_key, float).await.expect("float credited");
        }
        (client.api_key, client.secret)
    }

    /// Pays with `body` as the client with `api_key` and `secret`.
    pub async fn pay_as(&self, api_key: &str, secret: &str, body: &str) -> Answer {
        let nonce = nonce();
        let signature = cps_api::sign(secret, &format!("{PAY_PATH}{nonce}{body}"));
        let request = self
            .http
            .post(self.url(PAY_PATH))
            .header("content-type", "application/json")
            .header("api-key", api_key)
            .header("api-nonce", &nonce)
            .header("api-signature", signature)
            .body(body.to_string());
        self.send(request).await
    }

    /// Pays with `body` through the public path.
    pub async fn pay(&self, body: &str) -> Answer {
        self.post_signed(PAY_PATH, body).await
    }

    pub async fn float(&self) -> String {
        let client = self.store.find_client_by_api_key(&self.api_key).await.unwrap().unwrap();
        self.store.client_float(&client.id).await.unwrap().to_string()
    }

    /// Asserts that balances sum to zero and agree with the postings.
    pub async fn assert_ledger_consistent(&self) {
        let check = self.store.check_ledger().await.expect("ledger check runs");
        assert!(check.is_consistent(), "ledger is inconsistent: {check:?}");
    }
}

/// `{"name":"value",...}` as `JSON.stringify` writes an object of strings
/// built from the parameters: a repeated name keeps its first place and its
/// last value.
pub fn string_payload(params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let mut object: Vec<(&str, &str)> = Vec::new();
    for (name, value) in params {
        match object.iter_mut().find(|(existing, _)| existing == name) {
            Some(entry) => entry.1 = value,
            None => object.push((name, value)),
        }
    }
    let members: Vec<String> =
        object.iter().map(|(name, value)| format!("{}:{}", Value::from(*name), Value::from(*value))).collect();
    format!("{{{}}}", members.join(","))
}

/// Builds a payment body for the Movistar number ending in `suffix` (7
/// digits).
pub fn payment(suffix: &str, amount: &str, reference: Option<&str>) -> String {
    match reference {
        Some(reference) => format!(
            r#"{{"numberService":"0414{suffix}","idTypeService":57,"amount":{amount},"reference":"{reference}"}}"#
        ),
        None => format!(r#"{{"numberService":"0414{suffix}","idTypeService":57,"amount":{amount}}}"#),
    }
}

/// Members of every problem+json response.
pub const PROBLEM_MEMBERS: [&str; 7] = ["type", "title", "status", "detail", "code", "requestId", "errors"];

/// Text that must never reach a client: SQL, database names, file paths,
/// panic messages.
pub const LEAK_MARKERS: [&str; 5] = ["SELECT", "sqlite", "/work", "panicked", "src/"];

impl TestApp {
    /// Adds `api-key`, `api-nonce` and the signature of `string_to_sign`, for
    /// tests that choose the nonce or sign something other than the request.
    pub fn with_signature(
        &self,
        request: reqwest::RequestBuilder,
        nonce: &str,
        string_to_sign: &str,
    ) -> reqwest::RequestBuilder {
        self.with_credentials(request, nonce, &cps_api::sign(&self.secret, string_to_sign))
    }

    /// Adds the test client's `api-key`, and `nonce` and `signature` as given.
    pub fn with_credentials(
        &self,
        request: reqwest::RequestBuilder,
        nonce: &str,
        signature: &str,
    ) -> reqwest::RequestBuilder {
        request.header("api-key", &self.api_key).header("api-nonce", nonce).header("api-signature", signature)
    }
}

/// Asserts that `answer` is a problem+json error with `status` and `code`,
/// all problem members, a request id that matches the `x-request-id` header,
/// and no internal detail. `case` names the request in failure messages.
pub fn assert_problem(answer: &Answer, status: u16, code: &str, case: &str) {
    assert_eq!(answer.status, status, "{case}: status, body {}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/problem+json"), "{case}: content-type");

    let problem = answer.json();
    assert_eq!(problem["code"], code, "{case}: code, body {}", answer.text);
    for member in PROBLEM_MEMBERS {
        assert!(problem.get(member).is_some(), "{case}: member {member} is missing from {}", answer.text);
    }
    assert_eq!(problem["status"], status, "{case}: status member");
    assert!(problem["errors"].is_array(), "{case}: errors is not an array");
    assert!(problem["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{case}: detail is empty");

    let request_id = answer.header("x-request-id");
    assert!(request_id.is_some(), "{case}: x-request-id header is missing");
    assert_eq!(problem["requestId"].as_str(), request_id, "{case}: requestId differs from x-request-id");

    assert_no_leak(answer, case);
}

/// Asserts that the body shows no SQL, paths or panic text, in any letter
/// case.
pub fn assert_no_leak(answer: &Answer, case: &str) {
    let text = answer.text.to_lowercase();
    for marker in LEAK_MARKERS {
        assert!(!text.contains(&marker.to_lowercase()), "{case}: body contains {marker:?}: {}", answer.text);
    }
}

/// The `errors[].field` values of a problem response, in order.
pub fn error_fields(answer: &Answer) -> Vec<String> {
    let problem = answer.json();
    let Some(errors) = problem["errors"].as_array() else {
        return Vec::new();
    };
    errors.iter().filter_map(|error| error["field"].as_str().map(str::to_string)).collect()
}
