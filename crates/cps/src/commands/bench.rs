//! `cps bench`: a load generator for a running CPS. Each of N connections
//! sends signed requests back to back (or at a set rate) for a duration, each
//! with a fresh nonce, and the run reports throughput, latency percentiles
//! and errors.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cps_i18n::Lang;
use serde_json::json;

use crate::cli::{BenchArgs, BenchEndpoint};
use crate::output::print_line;

const PAY_PATH: &str = "/cps/v2/operation/use/pay";
const SERVICES_PATH: &str = "/cps/v2/list/basic_services";

/// What one connection measured.
#[derive(Default)]
struct ConnectionReport {
    /// Latency of each answered request, in microseconds.
    latencies_us: Vec<u64>,
    /// Answers by HTTP status.
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer (refused, reset, timed out).
    transport_errors: u64,
}

/// One client's credentials.
#[derive(Clone)]
struct Credentials {
    api_key: String,
    secret: String,
}

pub async fn run(args: BenchArgs, _lang: Lang) -> anyhow::Result<ExitCode> {
    let credentials = load_credentials(&args)?;
    let duration = Duration::from_secs_f64(args.duration_secs);
    let per_connection_interval =
        args.rate.filter(|rate| *rate > 0.0).map(|rate| Duration::from_secs_f64(args.connections as f64 / rate));
    let sequence = Arc::new(AtomicU64::new(0));
    let last_nonce = Arc::new(AtomicU64::new(0));

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.connections);
    for connection in 0..args.connections {
        // Connections take the clients in turn.
        let credentials = credentials[connection % credentials.len()].clone();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()
            .context("failed to build the HTTP client")?;
        let (args, sequence, last_nonce) = (args.clone(), sequence.clone(), last_nonce.clone());
        // At a set rate the connections start spread over one interval, so
        // requests arrive evenly rather than in bursts of every connection.
        let first_send = started
            + per_connection_interval
                .map(|interval| interval.mul_f64(connection as f64 / args.connections as f64))
                .unwrap_or_default();
        let schedule = Schedule { first_send, interval: per_connection_interval, deadline: started + duration };
        tasks.push(tokio::spawn(async move {
            run_connection(client, args, credentials, sequence, last_nonce, schedule).await
        }));
    }

    let mut total = ConnectionReport::default();
    for task in tasks {
        let report = task.await.context("a connection task failed")?;
        total.latencies_us.extend(report.latencies_us);
        total.transport_errors += report.transport_errors;
        for (status, count) in report.statuses {
            *total.statuses.entry(status).or_default() += count;
        }
    }
    let elapsed = started.elapsed();

    print_report(&args, &mut total, elapsed);
    Ok(ExitCode::SUCCESS)
}

/// When one connection sends: back to back without an interval, otherwise
/// from `first_send` every `interval`, until `deadline`.
struct Schedule {
    first_send: Instant,
    interval: Option<Duration>,
    deadline: Instant,
}

async fn run_connection(
    client: reqwest::Client,
    args: BenchArgs,
    credentials: Credentials,
    sequence: Arc<AtomicU64>,
    last_nonce: Arc<AtomicU64>,
    schedule: Schedule,
) -> ConnectionReport {
    let mut report = ConnectionReport::default();
    let mut next_send = schedule.first_send;
    while Instant::now() < schedule.deadline {
        if let Some(interval) = schedule.interval {
            tokio::time::sleep_until(next_send.into()).await;
            next_send += interval;
        }
        let number = sequence.fetch_add(1, Ordering::Relaxed);
        let request = build_request(&client, &args, &credentials, next_nonce(&last_nonce), number);

        let sent = Instant::now();
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let complete = response.bytes().await.is_ok();
                if complete {
                    report.latencies_us.push(sent.elapsed().as_micros() as u64);
                    *report.statuses.entry(status).or_default() += 1;
                } else {
                    report.transport_errors += 1;
                }
            }
            Err(_) => report.transport_errors += 1,
        }
    }
    report
}

/// The current time in milliseconds, or one more than the last nonce when
/// requests come faster than one per millisecond, so every request of the run
/// has its own nonce.
// NOTE: above 1,000 requests per second the nonces run ahead of the clock;
// a run must end before they pass the server's window (5 minutes by default).
fn next_nonce(last_nonce: &AtomicU64) -> u64 {
    let now = cps_store::now_ms() as u64;
    let previous =
        last_nonce.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1))).unwrap_or(now);
    now.max(previous + 1)
}

/// A signed request; payments get a unique reference and number so each is a
/// new operation of 1.00 VES.
fn build_request(
    client: &reqwest::Client,
    args: &BenchArgs,
    credentials: &Credentials,
    nonce: u64,
    number: u64,
) -> reqwest::RequestBuilder {
    let base = args.url.trim_end_matches('/');
    let nonce = nonce.to_string();
    let (request, path, payload) = match args.endpoint {
        BenchEndpoint::Services => (client.get(format!("{base}{SERVICES_PATH}")), SERVICES_PATH, "{}".to_string()),
        BenchEndpoint::Pay => {
            let body = json!({
                // Endings 0000 to 8999 only, so no payment hits a sandbox
                // ending (9001 to 9003) of the simulator.
                "numberService": format!("0414{:03}{:04}", number / 9_000 % 1_000, number % 9_000),
                "idTypeService": 57,
                "amount": "1.00",
                "reference": format!("bench-{nonce}-{number}"),
            })
            .to_string();
            let request =
                client.post(format!("{base}{PAY_PATH}")).header("content-type", "application/json").body(body.clone());
            (request, PAY_PATH, body)
        }
    };
    let signature = cps_api::sign(&credentials.secret, &format!("{path}{nonce}{payload}"));
    request.header("api-key", &credentials.api_key).header("api-nonce", nonce).header("api-signature", signature)
}

/// Reads `--credentials FILE` (one `API_KEY SECRET` pair a line), or takes
/// the single client of `--api-key` and `--api-secret`.
fn load_credentials(args: &BenchArgs) -> anyhow::Result<Vec<Credentials>> {
    let Some(path) = &args.credentials else {
        let (Some(api_key), Some(secret)) = (args.api_key.clone(), args.api_secret.clone()) else {
            anyhow::bail!("cps bench needs --api-key and --api-secret, or --credentials FILE");
        };
        return Ok(vec![Credentials { api_key, secret }]);
    };

    let text = std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))?;
    let mut credentials = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let mut fields = line.split_whitespace();
        let (Some(api_key), Some(secret), None) = (fields.next(), fields.next(), fields.next()) else {
            anyhow::bail!("{} line {}: expected API_KEY SECRET", path.display(), index + 1);
        };
        credentials.push(Credentials { api_key: api_key.to_string(), secret: secret.to_string() });
    }
    anyhow::ensure!(!credentials.is_empty(), "{} has no credentials", path.display());
    Ok(credentials)
}

fn print_report(args: &BenchArgs, total: &mut ConnectionReport, elapsed: Duration) {
    total.latencies_us.sort_unstable();
    let answered = total.latencies_us.len() as u64;
    let percentile = |share: f64| -> f64 {
        if total.latencies_us.is_empty() {
            return 0.0;
        }
        let index = ((total.latencies_us.len() as f64 * share).ceil() as usize).clamp(1, total.latencies_us.len()) - 1;
        total.latencies_us[index] as f64 / 1000.0
    };
    let successes: u64 =
        total.statuses.iter().filter(|(status, _)| (200..300).contains(*status)).map(|(_, count)| count).sum();
    let statuses: Vec<String> = total.statuses.iter().map(|(status, count)| format!("{status}: {count}")).collect();

    print_line(&format!(
        "endpoint {:?}, {} connections, {} clients, {:.1} s{}",
        args.endpoint,
        args.connections,
        args.credentials.as_ref().map(|_| "several").unwrap_or("1"),
        elapsed.as_secs_f64(),
        args.rate.map(|rate| format!(", target {rate} requests/s")).unwrap_or_default()
    ));
    print_line(&format!("requests: {answered} answered, {successes} 2xx, {} without answer", total.transport_errors));
    print_line(&format!("throughput: {:.0} answered requests/s", answered as f64 / elapsed.as_secs_f64()));
    print_line(&format!(
        "latency ms: p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}",
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0)
    ));
    print_line(&format!("statuses: {}", statuses.join(", ")));
    if let Some(limited) = total.statuses.get(&429) {
        print_line(&format!(
            "{limited} answers were 429: the server's per-client rate limit capped the load; \
             start it with --rate-limit-per-second 0 to measure the server itself"
        ));
    }
}
