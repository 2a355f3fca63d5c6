//! `cps ledger check`: proves the ledger balances.

use std::process::ExitCode;

use cps_i18n::Lang;

use crate::cli::LedgerCommand;
use crate::output::say;

pub async fn run(command: LedgerCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    let LedgerCommand::Check { database } = command;
    let store = super::open_existing_store(&database, lang).await?;
    let check = store.check_ledger().await?;

    if check.is_consistent() {
        say(lang, "cli-ledger-consistent", &[]);
        return Ok(ExitCode::SUCCESS);
    }
    let mismatched = check.mismatched_accounts.join(", ");
    let negative = check.negative_accounts.join(", ");
    say(
        lang,
        "cli-ledger-inconsistent",
        &[
            ("sum", check.balance_sum.to_string().into()),
            ("mismatched", mismatched.as_str().into()),
            ("negative", negative.as_str().into()),
        ],
    );
    Ok(ExitCode::FAILURE)
}
