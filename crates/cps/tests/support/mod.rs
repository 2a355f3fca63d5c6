//! Shared pieces of the process-level tests: a sandbox folder with its
//! database, `cps` processes on free local ports, and a signing client.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cps_domain::Money;
use cps_store::Store;
use serde_json::Value;

pub const CPS: &str = env!("CARGO_BIN_EXE_cps");
pub const PAY_PATH: &str = "/cps/v2/operation/use/pay";

pub struct Sandbox {
    pub directory: tempfile::TempDir,
    database_url: String,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        {
            let directory = tempfile::tempdir().expect("temporary folder");
            let database_url = cps_store::testing::fresh_database_url_blocking(directory.path());
            Sandbox { directory, database_url }
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone()
    }

    /// Runs `cps ARGS` to completion; see [`Sandbox::command`].
    pub fn cps(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().expect("cps runs")
    }

    /// A `cps` command with the sandbox's database and no language or
    /// credential settings inherited from the machine.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CPS);
        command
            .args(args)
            .env("CPS_DATABASE_URL", self.database_url())
            .env_remove("LANG")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("CPS_URL")
            .env_remove("CPS_API_KEY")
            .env_remove("CPS_API_SECRET")
            .env_remove("CPS_BILLER_URL")
            .env_remove("CPS_BILLERS")
            .env_remove("CPS_LOG_FORMAT")
            .env_remove("CPS_METRICS_LISTEN")
            .env_remove("CPS_RATE_LIMIT_PER_SECOND")
            .env_remove("CPS_RATE_LIMIT_BURST")
            .current_dir(self.directory.path());
        command
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.database_url()).await.expect("store opens")
    }

    /// Starts `cps ARGS --listen 127.0.0.1:PORT` on a free port and waits
    /// until it accepts connections.
    pub fn spawn(&self, args: &[&str]) -> Process {
        self.spawn_with(self.command(&[]), args, Stdio::null())
    }

    /// Like [`Sandbox::spawn`], with the environment variables `env` set and
    /// stderr, where the logs go, written to `log_file`.
    pub fn spawn_logged(&self, args: &[&str], env: &[(&str, &str)], log_file: &std::path::Path) -> Process {
        let mut command = self.command(&[]);
        command.envs(env.iter().copied());
        let log = std::fs::File::create(log_file).expect("log file created");
        self.spawn_with(command, args, Stdio::from(log))
    }

    fn spawn_with(&self, mut command: Command, args: &[&str], stderr: Stdio) -> Process {
        let address = format!("127.0.0.1:{}", free_port());
        let child = command
            .args(args)
            .args(["--listen", &address])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("cps starts");

        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "cps {args:?} did not listen on {address}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Process { child, url: format!("http://{address}") }
    }
}

/// The demo client's credentials, as `cps serve --demo` prints them.
pub struct DemoCredentials {
    pub api_key: String,
    pub secret: String,
}

impl Sandbox {
    /// Starts `cps serve --demo` on a free port and reads the demo client's
    /// credentials from what it prints before listening.
    pub fn spawn_demo(&self) -> (Process, DemoCredentials) {
        use std::io::{BufRead, BufReader};

        let address = format!("127.0.0.1:{}", free_port());
        let mut child = self
            .command(&["serve", "--demo", "--listen", &address])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cps starts");

        // The banner ends with the "listening" line, which carries the URL.
        let mut banner = String::new();
        let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
        while !banner.contains("http://") {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                panic!("cps serve --demo exited before listening; it printed:\n{banner}");
            }
            banner.push_str(&line);
        }
        let printed = |name: &str| {
            banner
                .lines()
                .find_map(|line| line.trim().strip_prefix(name).map(str::to_string))
                .unwrap_or_else(|| panic!("cps serve --demo printed no {name}: {banner}"))
        };
        let credentials = DemoCredentials { api_key: printed("CPS_API_KEY="), secret: printed("CPS_API_SECRET=") };
        (Process { child, url: format!("http://{address}") }, credentials)
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `cps` process, killed with SIGKILL when dropped.
pub struct Process {
    pub child: Child,
    pub url: String,
}

impl Process {
    /// Kills the process at once, as a power cut or `kill -9` would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Creates a client with `float` (a decimal string) in the sandbox database.
pub async fn create_client(store: &Store, name: &str, float: &str) -> Client {
    let client = store.create_client(name).await.expect("client created");
    store.credit_client(&client.api_key, Money::parse_decimal(float).unwrap()).await.expect("float credited");
    Client {
        api_key: client.api_key,
        secret: client.secret,
        http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap(),
    }
}

/// An integrator's signing client.
#[derive(Clone)]
pub struct Client {
    pub api_key: String,
    pub secret: String,
    pub http: reqwest::Client,
}

/// An HTTP answer: status, `Idempotent-Replayed`, and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub replayed: bool,
    pub body: Value,
}

impl Client {
    /// Pays with `body`, signed, at `base_url`. Fails when no answer comes
    /// back (a killed server, a reset connection).
    pub async fn pay(&self, base_url: &str, body: &str) -> Result<Answer, reqwest::Error> {
        let nonce = next_nonce();
        let signature = cps_api::sign(&self.secret, &format!("{PAY_PATH}{nonce}{body}"));
        let response = self
            .http
            .post(format!("{base_url}{PAY_PATH}"))
            .header("content-type", "application/json")
            .header("api-key", &self.api_key)
            .header("api-nonce", nonce)
            .header("api-signature", signature)
            .body(body.to_string())
            .send()
            .await?;
        let status = response.status().as_u16();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, replayed, body })
    }
}

/// Unix milliseconds, strictly increasing across calls so two requests never
/// share a nonce.
pub fn next_nonce() -> String {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = cps_store::now_ms();
    let previous = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1))).unwrap();
    now.max(previous + 1).to_string()
}

/// Reads the stand-alone simulator's counters.
pub async fn simulator_stats(simulator_url: &str) -> cps_billers::wire::SimulatorStats {
    let text = reqwest::get(format!("{simulator_url}/stats")).await.expect("stats answer").text().await.unwrap();
    serde_json::from_str(&text).expect("stats are JSON")
}

/// Waits until no operation is pending, or fails after `limit`.
pub async fn wait_until_settled(store: &Store, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (pending, flagged) = store.count_pending().await.unwrap();
        if pending + flagged == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{pending} operations still pending and {flagged} flagged after {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn pay_body(number: &str, amount: &str, reference: &str) -> String {
    format!(r#"{{"numberService":"{number}","idTypeService":57,"amount":{amount},"reference":"{reference}"}}"#)
}
