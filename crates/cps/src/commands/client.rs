//! `cps client`: create, credit and list clients.

use std::process::ExitCode;

use cps_domain::Money;
use cps_i18n::Lang;
use cps_store::StoreError;
use serde_json::json;

use crate::cli::ClientCommand;
use crate::output::{print_line, say};

pub async fn run(command: ClientCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Create { name, json, database } => {
            let store = super::open_store(&database).await?;
            let client = store.create_client(&name).await?;
            if json {
                let document = json!({"id": client.id.as_str(), "name": client.name, "apiKey": client.api_key, "secret": client.secret});
                print_line(&format!("{document:#}"));
            } else {
                say(
                    lang,
                    "cli-client-created",
                    &[
                        ("name", client.name.as_str().into()),
                        ("id", client.id.as_str().into()),
                        ("apiKey", client.api_key.as_str().into()),
                        ("secret", client.secret.as_str().into()),
                    ],
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::Credit { api_key, amount, database } => {
            let Some(amount) = Money::parse_decimal(&amount).ok().filter(|amount| *amount > Money::ZERO) else {
                say(lang, "cli-invalid-amount", &[("amount", amount.as_str().into())]);
                return Ok(ExitCode::from(2));
            };
            let store = super::open_existing_store(&database, lang).await?;
            match store.credit_client(&api_key, amount).await {
                Ok(float) => {
                    say(
                        lang,
                        "cli-client-credited",
                        &[("amount", amount.to_string().into()), ("float", float.to_string().into())],
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(StoreError::UnknownApiKey(_)) => {
                    say(lang, "cli-unknown-api-key", &[("apiKey", api_key.as_str().into())]);
                    Ok(ExitCode::FAILURE)
                }
                Err(error) => Err(error.into()),
            }
        }
        ClientCommand::List { json, database } => {
            let store = super::open_existing_store(&database, lang).await?;
            let clients = store.list_clients().await?;
            if json {
                let document: Vec<_> = clients
                    .iter()
                    .map(|client| {
                        json!({
                            "id": client.id.as_str(),
                            "name": client.name,
                            "apiKey": client.api_key,
                            "enabled": client.enabled,
                            "float": client.float,
                            "reserved": client.reserved,
                        })
                    })
                    .collect();
                print_line(&format!("{:#}", serde_json::Value::Array(document)));
                return Ok(ExitCode::SUCCESS);
            }
            if clients.is_empty() {
                say(lang, "cli-client-list-empty", &[]);
                return Ok(ExitCode::SUCCESS);
            }
            let column = |key: &str| cps_i18n::message(lang, key, &[]);
            print_line(&format!(
                "{:<29}  {:<32}  {:<20}  {:>16}  {:>14}  {}",
                column("cli-column-id"),
                column("cli-column-api-key"),
                column("cli-column-name"),
                column("cli-column-float"),
                column("cli-column-reserved"),
                column("cli-column-state"),
            ));
            for client in clients {
                let state = column(if client.enabled { "cli-enabled" } else { "cli-disabled" });
                let (id, float, reserved) =
                    (client.id.to_string(), client.float.to_string(), client.reserved.to_string());
                print_line(&format!(
                    "{id:<29}  {:<32}  {:<20}  {float:>16}  {reserved:>14}  {state}",
                    client.api_key, client.name
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
