//! `cps client`: create, credit, list, disable and enable clients, rotate
//! their secrets and set where their webhooks go.

use std::process::ExitCode;

use cps_domain::{format_ms, Money};
use cps_i18n::Lang;
use cps_store::StoreError;
use serde_json::json;

use crate::cli::{ClientCommand, DatabaseArgs};
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
                Err(error) => unknown_key_or(error, &api_key, lang),
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
                            "callbackUrl": client.callback_url,
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
        ClientCommand::Disable { api_key, database } => set_enabled(&api_key, false, &database, lang).await,
        ClientCommand::Enable { api_key, database } => set_enabled(&api_key, true, &database, lang).await,
        ClientCommand::RotateSecret { api_key, grace_secs, json, database } => {
            rotate_secret(&api_key, grace_secs, json, &database, lang).await
        }
        ClientCommand::Callback { api_key, url, clear: _, database } => {
            set_callback(&api_key, url.as_deref(), &database, lang).await
        }
    }
}

async fn set_enabled(api_key: &str, enabled: bool, database: &DatabaseArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let store = super::open_existing_store(database, lang).await?;
    match store.set_client_enabled(api_key, enabled).await {
        Ok(id) => {
            let key = if enabled { "cli-client-enabled" } else { "cli-client-disabled" };
            say(lang, key, &[("id", id.as_str().into()), ("apiKey", api_key.into())]);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => unknown_key_or(error, api_key, lang),
    }
}

async fn rotate_secret(
    api_key: &str,
    grace_secs: u64,
    json: bool,
    database: &DatabaseArgs,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    let store = super::open_existing_store(database, lang).await?;
    let grace_ms = i64::try_from(grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
    let rotated = match store.rotate_secret(api_key, grace_ms).await {
        Ok(rotated) => rotated,
        Err(error) => return unknown_key_or(error, api_key, lang),
    };

    let until = format_ms(rotated.previous_valid_until_ms);
    if json {
        let document = json!({"apiKey": api_key, "secret": rotated.secret, "previousSecretValidUntil": until});
        print_line(&format!("{document:#}"));
    } else {
        say(
            lang,
            "cli-client-secret-rotated",
            &[("apiKey", api_key.into()), ("secret", rotated.secret.as_str().into()), ("until", until.as_str().into())],
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_callback(
    api_key: &str,
    url: Option<&str>,
    database: &DatabaseArgs,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    if let Some(url) = url {
        if !is_callback_url(url) {
            say(lang, "cli-client-callback-invalid", &[("url", url.into())]);
            return Ok(ExitCode::from(2));
        }
    }
    let store = super::open_existing_store(database, lang).await?;
    if let Err(error) = store.set_callback_url(api_key, url).await {
        return unknown_key_or(error, api_key, lang);
    }
    match url {
        Some(url) => say(lang, "cli-client-callback-set", &[("apiKey", api_key.into()), ("url", url.into())]),
        None => say(lang, "cli-client-callback-cleared", &[("apiKey", api_key.into())]),
    }
    Ok(ExitCode::SUCCESS)
}

/// Accepts an absolute http or https URL with a host and no user or
/// password, because the signature is what authenticates CPS to the receiver.
fn is_callback_url(text: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(text) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
}

/// Turns an unknown api-key into its message and exit code 1; any other
/// failure stays an error.
pub(super) fn unknown_key_or(error: StoreError, api_key: &str, lang: Lang) -> anyhow::Result<ExitCode> {
    match error {
        StoreError::UnknownApiKey(_) => {
            say(lang, "cli-unknown-api-key", &[("apiKey", api_key.into())]);
            Ok(ExitCode::FAILURE)
        }
        error => Err(error.into()),
    }
}
