//! One module per command family.

mod bench;
mod biller_sim;
mod billers;
mod call;
mod catalog;
mod client;
mod ledger;
mod operation;
mod report;
mod serve;
mod settle;
mod webhook;

use std::process::ExitCode;

use cps_i18n::Lang;
use cps_store::Store;

use crate::cli::{Command, DatabaseArgs};

pub async fn run(command: Command, lang: Lang) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::run(args, lang).await,
        Command::Migrate(database) => {
            open_store(&database).await?;
            crate::output::say(lang, "cli-migrated", &[("url", database.database_url.as_str().into())]);
            Ok(ExitCode::SUCCESS)
        }
        Command::Client(command) => client::run(command, lang).await,
        Command::Call(command) => call::run(command, lang).await,
        Command::Ledger(command) => ledger::run(command, lang).await,
        Command::Operation(command) => operation::run(command, lang).await,
        Command::Catalog(command) => catalog::run(command, lang).await,
        Command::Webhook(command) => webhook::run(command, lang).await,
        Command::Report(args) => report::run(args, lang).await,
        Command::Settle(args) => settle::run(args, lang).await,
        Command::BillerSim(args) => biller_sim::run(args, lang).await,
        Command::Bench(args) => bench::run(args, lang).await,
    }
}

/// Opens an existing database for a command that reads or changes what a
/// server already stored. A SQLite file that does not exist is an error, not
/// a new empty database, because the usual cause is running the command from
/// another folder than the server's.
pub async fn open_existing_store(database: &DatabaseArgs, lang: cps_i18n::Lang) -> anyhow::Result<Store> {
    if let Some(path) = sqlite_path(&database.database_url) {
        if !std::path::Path::new(&path).exists() {
            let text = cps_i18n::message(lang, "cli-database-missing", &[("path", path.as_str().into())]);
            anyhow::bail!(text);
        }
    }
    open_store(database).await
}

/// The file of a `sqlite://PATH` or `sqlite:PATH` URL, without parameters.
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Opens and migrates the database named by `--database-url`, creating a
/// SQLite file when missing.
pub async fn open_store(database: &DatabaseArgs) -> anyhow::Result<Store> {
    use anyhow::Context;
    let config = cps_store::PoolConfig { max_connections: database.database_max_connections.max(1) };
    Store::open_with(&database.database_url, config)
        .await
        .with_context(|| format!("failed to open the database {}", database.database_url))
}
