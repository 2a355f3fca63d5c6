//! The `cps` binary as operators and integrators run it: real processes, a
//! real server on a free local port, and a fresh database per test.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{free_port, Sandbox};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A running `cps serve`, killed when dropped.
struct RunningServer {
    child: Child,
    url: String,
    /// What the server printed before it listened.
    banner: String,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(sandbox: &Sandbox, extra: &[&str]) -> RunningServer {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", listen.as_str()];
    args.extend_from_slice(extra);
    let mut child = sandbox.command(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("server starts");

    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&listen).is_err() {
        assert!(Instant::now() < deadline, "server did not listen on {listen}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The server prints its banner before it listens, ending with the
    // "listening" line, so these reads do not block.
    let mut banner = String::new();
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    while !banner.contains("http://") {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        banner.push_str(&line);
    }
    RunningServer { child, url: format!("http://{listen}"), banner }
}

#[test]
fn client_create_prints_credentials() {
    let sandbox = Sandbox::new();

    let output = sandbox.cps(&["client", "create", "--name", "Tienda", "--json"]);

    assert!(output.status.success(), "{output:?}");
    let client: Value = serde_json::from_str(&stdout(&output)).expect("JSON output");
    assert_eq!(client["apiKey"].as_str().unwrap().len(), 32);
    assert_eq!(client["secret"].as_str().unwrap().len(), 64);
    assert_eq!(client["name"], "Tienda");
}

#[test]
fn credit_moves_float_through_ledger() {
    let sandbox = Sandbox::new();
    let created = sandbox.cps(&["client", "create", "--name", "Tienda", "--json"]);
    let client: Value = serde_json::from_str(&stdout(&created)).unwrap();
    let api_key = client["apiKey"].as_str().unwrap();

    let credit = sandbox.cps(&["client", "credit", api_key, "1500.50"]);
    assert!(credit.status.success(), "{credit:?}");
    assert!(stdout(&credit).contains("1500.50"), "{}", stdout(&credit));

    let list = sandbox.cps(&["client", "list", "--json"]);
    let clients: Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(clients[0]["float"], "1500.50");
    assert_eq!(clients[0]["reserved"], "0.00");

    let check = sandbox.cps(&["ledger", "check"]);
    assert!(check.status.success(), "{check:?}");
}

#[test]
fn credit_rejects_bad_input() {
    let sandbox = Sandbox::new();
    let created = sandbox.cps(&["client", "create", "--name", "Tienda", "--json"]);
    let client: Value = serde_json::from_str(&stdout(&created)).unwrap();
    let api_key = client["apiKey"].as_str().unwrap();

    for amount in ["10.005", "0", "-5", "10,50", "abc"] {
        let output = sandbox.cps(&["client", "credit", api_key, amount]);
        assert!(!output.status.success(), "amount {amount} accepted");
        assert!(stdout(&output).contains("Monto inválido"), "amount {amount}: {}", stdout(&output));
    }
    let unknown = sandbox.cps(&["client", "credit", "0000", "10"]);
    assert!(!unknown.status.success());
    assert!(stdout(&unknown).contains("0000"), "{}", stdout(&unknown));

    let list = sandbox.cps(&["client", "list", "--json"]);
    let clients: Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(clients[0]["float"], "0.00");
}

#[test]
fn messages_follow_language_choice() {
    let sandbox = Sandbox::new();
    let migrated = sandbox.cps(&["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");

    let spanish = sandbox.cps(&["client", "list"]);
    let english_flag = sandbox.cps(&["client", "list", "--lang", "en"]);
    let english_env = sandbox.command(&["client", "list"]).env("LANG", "en_US.UTF-8").output().unwrap();

    assert!(stdout(&spanish).contains("Todavía no hay clientes"), "{}", stdout(&spanish));
    assert!(stdout(&english_flag).contains("There are no clients yet"), "{}", stdout(&english_flag));
    assert!(stdout(&english_env).contains("There are no clients yet"), "{}", stdout(&english_env));

    let help = sandbox.cps(&["serve", "--help"]);
    assert!(stdout(&help).contains("Opciones:"), "{}", stdout(&help));
    let help = sandbox.cps(&["serve", "--help", "--lang", "en"]);
    assert!(stdout(&help).contains("Options:"), "{}", stdout(&help));
}

/// The README's first payment: a demo server and `cps call`.
#[test]
fn demo_server_takes_first_payment() {
    let sandbox = Sandbox::new();
    let server = start_server(&sandbox, &["--demo"]);

    let list = sandbox.cps(&["client", "list", "--json"]);
    let clients: Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(clients.as_array().unwrap().len(), 1);
    assert_eq!(clients[0]["float"], "1000000.00");
    let api_key = clients[0]["apiKey"].as_str().unwrap().to_string();
    let secret = server
        .banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("CPS_API_SECRET=").map(str::to_string))
        .expect("demo prints its secret");

    let call = |args: &[&str]| {
        sandbox
            .command(args)
            .env("CPS_URL", &server.url)
            .env("CPS_API_KEY", &api_key)
            .env("CPS_API_SECRET", &secret)
            .output()
            .unwrap()
    };

    let paid = call(&["call", "pay", "--number", "04243675525", "--service", "57", "--amount", "10"]);
    assert!(paid.status.success(), "{paid:?}");
    assert!(stdout(&paid).starts_with("HTTP 200"), "{}", stdout(&paid));
    assert!(stdout(&paid).contains("\"approved\""), "{}", stdout(&paid));
    assert!(stdout(&paid).contains("\"999990.00\""), "{}", stdout(&paid));

    let rejected = call(&["call", "pay", "--number", "0414-000-9001", "--service", "57", "--amount", "10"]);
    assert!(!rejected.status.success());
    assert!(stdout(&rejected).starts_with("HTTP 422"), "{}", stdout(&rejected));

    let balance = call(&["call", "balance", "--number", "02123457654", "--service", "63"]);
    assert!(stdout(&balance).starts_with("HTTP 200"), "{}", stdout(&balance));

    let services = call(&["call", "services", "--can-get-balance", "true"]);
    assert!(stdout(&services).starts_with("HTTP 200"), "{}", stdout(&services));
    assert!(!stdout(&services).contains("MOVISTAR_PREPAGO"), "{}", stdout(&services));

    let by_reference =
        call(&["call", "pay", "--number", "04243675525", "--service", "57", "--amount", "5", "--reference", "cli-1"]);
    assert!(by_reference.status.success(), "{by_reference:?}");
    let found = call(&["call", "operation", "--reference", "cli-1"]);
    assert!(stdout(&found).starts_with("HTTP 200"), "{}", stdout(&found));
    assert!(stdout(&found).contains("\"cli-1\""), "{}", stdout(&found));
    let rejected_only = call(&["call", "operations", "--param", "status=rejected", "--param", "limit=5"]);
    assert!(stdout(&rejected_only).starts_with("HTTP 200"), "{}", stdout(&rejected_only));
    assert!(stdout(&rejected_only).contains("04140009001"), "{}", stdout(&rejected_only));
    assert!(!stdout(&rejected_only).contains("\"cli-1\""), "{}", stdout(&rejected_only));
    let account = call(&["call", "account"]);
    assert!(stdout(&account).contains("\"999985.00\""), "{}", stdout(&account));
    let unknown = call(&["call", "operation", "--id", "op_01KBRZ3D4W1Q6Y8V0N2M5P7R9T"]);
    assert!(stdout(&unknown).starts_with("HTTP 404"), "{}", stdout(&unknown));

    let wrong_secret = sandbox
        .command(&["call", "services"])
        .env("CPS_URL", &server.url)
        .env("CPS_API_KEY", &api_key)
        .env("CPS_API_SECRET", "wrong")
        .output()
        .unwrap();
    assert!(stdout(&wrong_secret).starts_with("HTTP 401"), "{}", stdout(&wrong_secret));

    drop(server);
    let check = sandbox.cps(&["ledger", "check"]);
    assert!(check.status.success(), "{check:?}");
    let list = sandbox.cps(&["client", "list", "--json"]);
    let clients: Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(clients[0]["float"], "999985.00");
}

#[test]
fn missing_database_file_is_reported() {
    let sandbox = Sandbox::new();
    let missing = format!("sqlite://{}", sandbox.directory.path().join("elsewhere.db").display());

    for args in [&["client", "list"][..], &["ledger", "check"], &["operation", "pending"]] {
        let mut full = args.to_vec();
        full.extend_from_slice(&["--database-url", &missing]);
        let output = sandbox.cps(&full);
        assert!(!output.status.success(), "{args:?} succeeded on a missing file");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains("elsewhere.db") && error.contains("no existe"), "{args:?}: {error}");
    }
    assert!(!sandbox.directory.path().join("elsewhere.db").exists(), "a command created the file");
}

#[tokio::test]
async fn serve_applies_rate_limit_options() {
    let sandbox = Sandbox::new();
    let store = sandbox.store().await;
    let client = support::create_client(&store, "limited", "100.00").await;
    let server = sandbox.spawn(&["serve", "--rate-limit-per-second", "1", "--rate-limit-burst", "1"]);

    // One token a second: all 20 payments would pass only if each waited a
    // second for the previous one.
    let mut codes = Vec::new();
    for index in 0..20 {
        let body = support::pay_body("04140000001", "1", &format!("limited-{index}"));
        let answer = client.pay(&server.url, &body).await.expect("the server answers");
        codes.push((answer.status, answer.body["code"].as_str().unwrap_or_default().to_string()));
    }

    assert_eq!(codes[0].0, 200, "the first payment uses the burst: {codes:?}");
    assert!(codes.iter().any(|(status, _)| *status == 429), "no 429 in {codes:?}");
    for (status, code) in &codes {
        if *status == 429 {
            assert_eq!(code, "RATE_LIMITED");
        }
    }
}

#[tokio::test]
async fn serve_moves_metrics_to_their_own_address() {
    let sandbox = Sandbox::new();
    let store = sandbox.store().await;
    let client = support::create_client(&store, "metrics", "100.00").await;
    let metrics_address = format!("127.0.0.1:{}", free_port());
    let server = sandbox.spawn(&["serve", "--metrics-listen", &metrics_address]);

    let answer = client.pay(&server.url, &support::pay_body("04140000001", "10", "metered-1")).await.unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");

    let public = reqwest::get(format!("{}/metrics", server.url)).await.expect("the server answers");
    assert_eq!(public.status().as_u16(), 404);
    let internal = reqwest::get(format!("http://{metrics_address}/metrics")).await.expect("metrics answer");
    assert_eq!(internal.status().as_u16(), 200);
    let text = internal.text().await.unwrap();
    let series = r#"cps_http_requests_total{method="POST",route="/cps/v2/operation/use/pay",status="200"} 1"#;
    assert!(text.contains(series), "{text}");
}
