//! Log output: `tracing` events on stderr, as JSON lines or readable text.

use std::io::IsTerminal;

/// Format of log lines.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    // Plain comments, not doc comments: clap would show doc comments in the
    // help in English only. The option's localized help describes the values.
    // Text when stderr is a terminal, JSON otherwise.
    #[default]
    Auto,
    // One JSON object per line, with the fields of the enclosing spans.
    Json,
    // Readable text, colored on a terminal.
    Text,
}

/// Installs the global subscriber: events on stderr, filtered by `RUST_LOG`
/// (default `info`, with sqlx at `warn`).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);

    let json = match format {
        LogFormat::Auto => !terminal,
        LogFormat::Json => true,
        LogFormat::Text => false,
    };
    if json {
        // The current span's fields go under "span" and every enclosing span
        // under "spans", so each line carries the request id and client id.
        builder.json().with_current_span(true).with_span_list(true).init();
    } else {
        builder.with_ansi(terminal).init();
    }
}
