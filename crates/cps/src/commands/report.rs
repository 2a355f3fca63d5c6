//! `cps report`: a month's operations, totalled per service and status, as
//! CSV or JSON. The month is read in a time zone (Caracas by default), so a
//! payment at 21:30 on 31 January in Caracas, already 1 February in UTC,
//! counts in January.

use std::process::ExitCode;

use anyhow::Context;
use cps_domain::{format_ms, Money};
use cps_i18n::Lang;
use cps_store::ServiceTotal;
use serde_json::json;

use crate::cli::{ReportArgs, ReportFormat};
use crate::output::{print_line, say};

/// A month's bounds as Unix milliseconds: `[start, end)`.
struct MonthBounds {
    start_ms: i64,
    end_ms: i64,
}

pub async fn run(args: ReportArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let Some((year, month)) = parse_month(&args.month) else {
        say(lang, "cli-report-invalid-month", &[("month", args.month.as_str().into())]);
        return Ok(ExitCode::from(2));
    };
    let Ok(time_zone) = jiff::tz::TimeZone::get(&args.tz) else {
        say(lang, "cli-report-invalid-tz", &[("tz", args.tz.as_str().into())]);
        return Ok(ExitCode::from(2));
    };
    let bounds = month_bounds(year, month, &time_zone)?;

    let store = super::open_existing_store(&args.database, lang).await?;
    let catalog = super::serve::load_catalog(args.catalog.as_deref())?;
    let client_id = match &args.client {
        None => None,
        Some(api_key) => match store.find_client_by_api_key(api_key).await? {
            Some(client) => Some(client.id),
            None => {
                say(lang, "cli-unknown-api-key", &[("apiKey", api_key.as_str().into())]);
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let totals = store.totals_by_service(bounds.start_ms, bounds.end_ms, client_id.as_ref()).await?;
    let code_of = |id: i64| catalog.service(id).map(|service| service.code.clone()).unwrap_or_default();

    match args.format {
        ReportFormat::Csv => print_csv(&args, &totals, code_of),
        ReportFormat::Json => print_json(&args, &bounds, &totals, code_of),
    }
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM` with a month from 01 to 12.
fn parse_month(text: &str) -> Option<(i16, i8)> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let (year, month): (i16, i8) = (year.parse().ok()?, month.parse().ok()?);
    ((1970..=9998).contains(&year) && (1..=12).contains(&month)).then_some((year, month))
}

/// Midnight of the month's first day and of the next month's first day, in
/// the zone.
fn month_bounds(year: i16, month: i8, time_zone: &jiff::tz::TimeZone) -> anyhow::Result<MonthBounds> {
    let first = jiff::civil::Date::new(year, month, 1).context("invalid month")?;
    let next = first.checked_add(jiff::Span::new().months(1)).context("month out of range")?;
    let start = first.to_zoned_datetime(time_zone.clone()).context("the month does not exist in this zone")?;
    let end = next.to_zoned_datetime(time_zone.clone()).context("the month does not exist in this zone")?;
    Ok(MonthBounds { start_ms: start.timestamp().as_millisecond(), end_ms: end.timestamp().as_millisecond() })
}

/// Prints one line per service and status, then one total line per status.
fn print_csv(args: &ReportArgs, totals: &[ServiceTotal], code_of: impl Fn(i64) -> String) {
    print_line("month,time_zone,idTypeService,service,status,operations,amount");
    for total in totals {
        print_line(&format!(
            "{},{},{},{},{},{},{}",
            args.month,
            args.tz,
            total.service_id,
            code_of(total.service_id),
            total.status,
            total.count,
            total.amount
        ));
    }
    for (status, count, amount) in totals_by_status(totals) {
        print_line(&format!("{},{},,TOTAL,{status},{count},{amount}", args.month, args.tz));
    }
}

fn print_json(args: &ReportArgs, bounds: &MonthBounds, totals: &[ServiceTotal], code_of: impl Fn(i64) -> String) {
    let rows: Vec<_> = totals
        .iter()
        .map(|total| {
            json!({
                "idTypeService": total.service_id,
                "service": code_of(total.service_id),
                "status": total.status,
                "operations": total.count,
                "amount": total.amount,
            })
        })
        .collect();
    let by_status: Vec<_> = totals_by_status(totals)
        .into_iter()
        .map(|(status, count, amount)| json!({"status": status, "operations": count, "amount": amount}))
        .collect();
    let document = json!({
        "month": args.month,
        "timeZone": args.tz,
        "from": format_ms(bounds.start_ms),
        "to": format_ms(bounds.end_ms),
        "currency": "VES",
        "rows": rows,
        "totals": by_status,
    });
    print_line(&format!("{document:#}"));
}

/// Count and amount per status over all services, in status order.
fn totals_by_status(totals: &[ServiceTotal]) -> Vec<(String, i64, Money)> {
    let mut by_status: Vec<(String, i64, Money)> = Vec::new();
    for total in totals {
        match by_status.iter_mut().find(|(status, _, _)| *status == total.status) {
            Some((_, count, amount)) => {
                *count += total.count;
                *amount = amount.checked_add(total.amount).unwrap_or(*amount);
            }
            None => by_status.push((total.status.clone(), total.count, total.amount)),
        }
    }
    by_status.sort_by(|a, b| a.0.cmp(&b.0));
    by_status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_strict() {
        assert_eq!(parse_month("2026-01"), Some((2026, 1)));
        for text in ["2026-1", "2026-13", "2026-00", "26-01", "2026/01", "2026-01-01", ""] {
            assert_eq!(parse_month(text), None, "month {text:?}");
        }
    }

    #[test]
    fn caracas_months_start_at_four_utc() {
        let caracas = jiff::tz::TimeZone::get("America/Caracas").unwrap();
        let january = month_bounds(2026, 1, &caracas).unwrap();
        assert_eq!(format_ms(january.start_ms), "2026-01-01T04:00:00.000Z");
        assert_eq!(format_ms(january.end_ms), "2026-02-01T04:00:00.000Z");
    }

    #[test]
    fn december_ends_in_the_next_year() {
        let utc = jiff::tz::TimeZone::get("UTC").unwrap();
        let december = month_bounds(2026, 12, &utc).unwrap();
        assert_eq!(format_ms(december.end_ms), "2027-01-01T00:00:00.000Z");
    }
}
