//! `cps`: the CPS server, its operator tools, and a signing client for
//! integrators.

mod cli;
mod commands;
mod logging;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    let lang = cli::language_from_environment();
    let command = cli::parse(lang);

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };

    match runtime.block_on(commands::run(command, lang)) {
        Ok(code) => code,
        Err(error) => {
            output::print_failure(lang, &error);
            ExitCode::FAILURE
        }
    }
}
