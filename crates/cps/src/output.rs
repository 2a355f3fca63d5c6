//! Printing for people: localized messages on stdout, failures on stderr.

use cps_i18n::{message, Arg, Lang};

/// Prints message `key` in `lang` on stdout.
pub fn say(lang: Lang, key: &str, args: &[Arg<'_>]) {
    print_line(&message(lang, key, args));
}

/// Prints one line on stdout. A closed pipe (`cps call ... | head`) is not an
/// error worth a panic, so write failures are ignored.
pub fn print_line(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Prints a failed command's error with its causes on stderr.
pub fn print_failure(lang: Lang, error: &anyhow::Error) {
    let cause = format!("{error:#}");
    eprintln!("{}", message(lang, "cli-failed", &[("cause", cause.as_str().into())]));
}
