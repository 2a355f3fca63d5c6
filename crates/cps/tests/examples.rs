//! The integration guide's examples: each runnable file under `examples/`
//! is shown verbatim in both guides, and each one, run as an integrator
//! would, gets 200 answers from a real `cps serve --demo`.
//!
//! These tests need curl and openssl, Node.js 18 or newer, and python3. A
//! missing tool fails the test with what to install; nothing is skipped.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::Sandbox;

const GUIDES: [&str; 2] = ["docs/INTEGRATION.en.md", "docs/INTEGRATION.es.md"];
const CURL_EXAMPLE: &str = "examples/curl/pay.sh";
const NODE_EXAMPLE: &str = "examples/node/pay.mjs";
const PYTHON_EXAMPLE: &str = "examples/python/pay.py";

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root exists")
}

fn read(relative: &str) -> String {
    let path = repository_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Returns the fenced code block that follows the `<!-- file: PATH -->`
/// marker.
fn shown_block<'a>(guide: &'a str, guide_name: &str, file: &str) -> &'a str {
    let marker = format!("<!-- file: {file} -->");
    let after_marker =
        guide.split_once(&marker).unwrap_or_else(|| panic!("{guide_name} has no {marker} line before the example")).1;
    let fence_start = after_marker.find("```").unwrap_or_else(|| panic!("{guide_name}: no code block after {marker}"));
    let block_start = fence_start + after_marker[fence_start..].find('\n').expect("a fence line ends") + 1;
    let block_length = after_marker[block_start..]
        .find("\n```")
        .unwrap_or_else(|| panic!("{guide_name}: the code block after {marker} is not closed"));
    &after_marker[block_start..block_start + block_length + 1]
}

/// Fails with what to install when `program --version` does not run.
fn require_tool(program: &str, install_hint: &str) {
    let runs = Command::new(program).arg(if program == "openssl" { "version" } else { "--version" }).output();
    match runs {
        Ok(output) if output.status.success() => {}
        _ => panic!("{program} is needed to run the integration examples: {install_hint}"),
    }
}

/// Runs one example against a fresh demo server and checks that it paid and
/// queried a balance with 200 answers.
fn run_example(program: &str, args: &[&str]) {
    let sandbox = Sandbox::new();
    let (server, credentials) = sandbox.spawn_demo();

    let output = Command::new(program)
        .args(args)
        .current_dir(repository_root())
        .env("CPS_URL", &server.url)
        .env("CPS_API_KEY", &credentials.api_key)
        .env("CPS_API_SECRET", &credentials.secret)
        .output()
        .unwrap_or_else(|error| panic!("{program} {args:?} did not start: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert!(output.status.success(), "{program} {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let statuses: Vec<&str> = stdout.lines().filter(|line| line.starts_with("HTTP ")).collect();
    assert_eq!(statuses, ["HTTP 200", "HTTP 200"], "{program} {args:?} printed:\n{stdout}");
    assert!(stdout.contains(r#""status":"approved""#), "no approved payment:\n{stdout}");
    assert!(stdout.contains(r#""balance":"#), "no balance:\n{stdout}");
}

#[test]
fn guides_show_example_files_verbatim() {
    for guide_name in GUIDES {
        let guide = read(guide_name);
        for file in [CURL_EXAMPLE, NODE_EXAMPLE, PYTHON_EXAMPLE] {
            assert!(shown_block(&guide, guide_name, file) == read(file), "{guide_name} shows {file} differently");
        }
    }
}

#[test]
fn curl_example_pays_and_queries() {
    require_tool("curl", "install curl (Debian: apt-get install curl)");
    require_tool("openssl", "install OpenSSL (Debian: apt-get install openssl)");
    run_example("sh", &[CURL_EXAMPLE]);
}

#[test]
fn node_example_pays_and_queries() {
    require_tool("node", "install Node.js 18 or newer (Debian: apt-get install nodejs)");
    run_example("node", &[NODE_EXAMPLE]);
}

#[test]
fn python_example_pays_and_queries() {
    require_tool("python3", "install Python 3.8 or newer (Debian: apt-get install python3)");
    run_example("python3", &[PYTHON_EXAMPLE]);
}
