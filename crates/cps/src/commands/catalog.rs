//! `cps catalog`: show the catalog in force and override a service's limits,
//! `enabled` or `canGetBalance`. Running servers apply a change within their
//! `--catalog-refresh-ms`.

use std::path::Path;
use std::process::ExitCode;

use cps_domain::{Catalog, CatalogError, Money, ServiceId, ServiceOverride};
use cps_i18n::{message, Lang};
use serde_json::json;

use crate::cli::{CatalogCommand, DatabaseArgs};
use crate::output::{print_line, say};

pub async fn run(command: CatalogCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::Show { catalog, json, database } => show(catalog.as_deref(), json, &database, lang).await,
        CatalogCommand::Set { service_id, min_amount, max_amount, enabled, can_get_balance, catalog, database } => {
            let amount = |text: Option<String>| -> Result<Option<Money>, String> {
                text.map(|text| Money::parse_decimal(&text).ok().filter(|amount| *amount > Money::ZERO).ok_or(text))
                    .transpose()
            };
            let (min_amount, max_amount) = match (amount(min_amount), amount(max_amount)) {
                (Ok(min), Ok(max)) => (min, max),
                (Err(text), _) | (_, Err(text)) => {
                    say(lang, "cli-invalid-amount", &[("amount", text.as_str().into())]);
                    return Ok(ExitCode::from(2));
                }
            };
            let change = ServiceOverride { service_id, min_amount, max_amount, enabled, can_get_balance };
            set(change, catalog.as_deref(), &database, lang).await
        }
        CatalogCommand::Reset { service_id, catalog, database } => {
            reset(service_id, catalog.as_deref(), &database, lang).await
        }
    }
}

async fn show(catalog: Option<&Path>, json: bool, database: &DatabaseArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let store = super::open_existing_store(database, lang).await?;
    let base = super::serve::load_catalog(catalog)?;
    let overrides = store.service_overrides().await?;
    let in_force = base.with_overrides(&overrides)?;
    let overridden = |id: ServiceId| overrides.iter().any(|change| change.service_id == id);

    if json {
        let document: Vec<_> = in_force
            .services()
            .iter()
            .map(|service| {
                json!({
                    "idTypeService": service.id,
                    "code": service.code,
                    "minAmount": service.min_amount,
                    "maxAmount": service.max_amount,
                    "enabled": service.enabled,
                    "canGetBalance": service.can_get_balance,
                    "overridden": overridden(service.id),
                })
            })
            .collect();
        print_line(&format!("{:#}", serde_json::Value::Array(document)));
        return Ok(ExitCode::SUCCESS);
    }

    let column = |key: &str| message(lang, key, &[]);
    let yes_no = |flag: bool| column(if flag { "cli-yes" } else { "cli-no" });
    print_line(&format!(
        "{:>7}  {:<24}  {:>12}  {:>12}  {:<10}  {:<10}  {}",
        column("cli-column-service"),
        column("cli-column-code"),
        column("cli-column-min-amount"),
        column("cli-column-max-amount"),
        column("cli-column-enabled"),
        column("cli-column-balance"),
        column("cli-column-override"),
    ));
    for service in in_force.services() {
        let (min, max) = (service.min_amount.to_string(), service.max_amount.to_string());
        let overridden = if overridden(service.id) { column("cli-yes") } else { String::new() };
        print_line(&format!(
            "{:>7}  {:<24}  {min:>12}  {max:>12}  {:<10}  {:<10}  {overridden}",
            service.id,
            service.code,
            yes_no(service.enabled),
            yes_no(service.can_get_balance),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Merges the change into the service's stored override and checks the
/// result against the catalog before storing it, so a running server never
/// reads an override it cannot apply.
async fn set(
    change: ServiceOverride,
    catalog: Option<&Path>,
    database: &DatabaseArgs,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    if change == (ServiceOverride { service_id: change.service_id, ..ServiceOverride::default() }) {
        say(lang, "cli-catalog-nothing-to-set", &[]);
        return Ok(ExitCode::from(2));
    }
    let store = super::open_existing_store(database, lang).await?;
    let base: Catalog = super::serve::load_catalog(catalog)?;
    let Some(service) = base.service(change.service_id).cloned() else {
        say(lang, "cli-catalog-unknown-service", &[("id", change.service_id.into())]);
        return Ok(ExitCode::FAILURE);
    };

    let mut overrides = store.service_overrides().await?;
    let merged = match overrides.iter().find(|stored| stored.service_id == change.service_id) {
        Some(stored) => stored.merged_with(&change),
        None => change,
    };
    overrides.retain(|stored| stored.service_id != merged.service_id);
    overrides.push(merged.clone());
    match base.with_overrides(&overrides) {
        Ok(_) => {}
        Err(CatalogError::InvertedLimits { code, min, max }) => {
            let args = [("code", code.into()), ("min", min.to_string().into()), ("max", max.to_string().into())];
            say(lang, "cli-catalog-inverted-limits", &args);
            return Ok(ExitCode::from(2));
        }
        Err(error) => {
            say(lang, "cli-catalog-override-invalid", &[("cause", error.to_string().into())]);
            return Ok(ExitCode::from(2));
        }
    }

    store.put_service_override(&merged).await?;
    let in_force = base.with_overrides(&overrides)?;
    let updated = in_force.service(service.id).expect("the service was found above");
    say(
        lang,
        "cli-catalog-override-set",
        &[
            ("code", updated.code.as_str().into()),
            ("min", updated.min_amount.to_string().into()),
            ("max", updated.max_amount.to_string().into()),
            ("enabled", updated.enabled.to_string().into()),
            ("canGetBalance", updated.can_get_balance.to_string().into()),
        ],
    );
    Ok(ExitCode::SUCCESS)
}

async fn reset(
    service_id: ServiceId,
    catalog: Option<&Path>,
    database: &DatabaseArgs,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    if super::serve::load_catalog(catalog)?.service(service_id).is_none() {
        say(lang, "cli-catalog-unknown-service", &[("id", service_id.into())]);
        return Ok(ExitCode::FAILURE);
    }
    let store = super::open_existing_store(database, lang).await?;
    if store.clear_service_override(service_id).await? {
        say(lang, "cli-catalog-override-cleared", &[("id", service_id.into())]);
    } else {
        say(lang, "cli-catalog-no-override", &[("id", service_id.into())]);
    }
    Ok(ExitCode::SUCCESS)
}
