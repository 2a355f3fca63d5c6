//! One module per command family.

mod biller_sim;
mod billers;
mod call;
mod client;
mod ledger;
mod operation;
mod serve;
mod settle;

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
        Command::Settle(args) => settle::run(args, lang).await,
        Command::BillerSim(args) => biller_sim::run(args, lang).await,
    }
}

/// Opens and migrates the database named by `--database-url`.
pub async fn open_store(database: &DatabaseArgs) -> anyhow::Result<Store> {
    use anyhow::Context;
    let config = cps_store::PoolConfig { max_connections: database.database_max_connections.max(1) };
    Store::open_with(&database.database_url, config)
        .await
        .with_context(|| format!("failed to open the database {}", database.database_url))
}
