//! `cps call`: a signing client for integrators. It signs each request as the
//! API requires and prints the status and the answer.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use cps_i18n::Lang;
use serde_json::Value;

use crate::cli::{CallCommand, ConnectionArgs};
use crate::output::print_line;

const PAY_PATH: &str = "/cps/v2/operation/use/pay";
const BALANCE_PATH: &str = "/cps/v2/operation/get/balance";
const SERVICES_PATH: &str = "/cps/v2/list/basic_services";
const OPERATION_PATH: &str = "/cps/v2/operation";
const OPERATIONS_PATH: &str = "/cps/v2/operations";
const ACCOUNT_PATH: &str = "/cps/v2/account";

/// How long `cps call` waits for the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn run(command: CallCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    match command {
        CallCommand::Pay { number, service, amount, reference, connection } => {
            let body = pay_body(&number, service, &amount, reference.as_deref());
            send(&connection, lang, reqwest::Method::POST, PAY_PATH, Vec::new(), Some(body)).await
        }
        CallCommand::Balance { number, service, connection } => {
            let query = vec![("numberService", number), ("idTypeService", service.to_string())];
            send(&connection, lang, reqwest::Method::GET, BALANCE_PATH, query, None).await
        }
        CallCommand::Services { can_get_balance, connection } => {
            let query = can_get_balance.map(|value| vec![("canGetBalance", value.to_string())]).unwrap_or_default();
            send(&connection, lang, reqwest::Method::GET, SERVICES_PATH, query, None).await
        }
        CallCommand::Operation { id, reference, connection } => match (id, reference) {
            (Some(id), _) => {
                let path = format!("{OPERATION_PATH}/{id}");
                send(&connection, lang, reqwest::Method::GET, &path, Vec::new(), None).await
            }
            (None, reference) => {
                let query = vec![("reference", reference.unwrap_or_default())];
                send(&connection, lang, reqwest::Method::GET, OPERATION_PATH, query, None).await
            }
        },
        CallCommand::Operations { params, connection } => {
            let query: Vec<(&str, String)> = params
                .iter()
                .map(|param| match param.split_once('=') {
                    Some((name, value)) => (name, value.to_string()),
                    None => (param.as_str(), String::new()),
                })
                .collect();
            send(&connection, lang, reqwest::Method::GET, OPERATIONS_PATH, query, None).await
        }
        CallCommand::Account { connection } => {
            send(&connection, lang, reqwest::Method::GET, ACCOUNT_PATH, Vec::new(), None).await
        }
    }
}

/// The pay body as a JavaScript client would send it. A plain decimal amount
/// goes as a JSON number; anything else as a string, for the server to judge.
fn pay_body(number: &str, service: i64, amount: &str, reference: Option<&str>) -> String {
    let is_plain_decimal = {
        let (integer, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
        let digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
        digits(integer) && digits(fraction) && (integer == "0" || !integer.starts_with('0'))
    };
    let amount_json = if is_plain_decimal { amount.to_string() } else { Value::String(amount.into()).to_string() };

    let mut body = format!(
        "{{\"numberService\":{},\"idTypeService\":{service},\"amount\":{amount_json}",
        Value::String(number.into())
    );
    if let Some(reference) = reference {
        body.push_str(&format!(",\"reference\":{}", Value::String(reference.into())));
    }
    body.push('}');
    body
}

/// Signs and sends one request; exits 0 on a 2xx answer and 1 otherwise.
async fn send(
    connection: &ConnectionArgs,
    lang: Lang,
    method: reqwest::Method,
    path: &str,
    query: Vec<(&str, String)>,
    body: Option<String>,
) -> anyhow::Result<ExitCode> {
    let nonce = cps_store::now_ms().to_string();
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter().map(|(name, value)| (*name, value.as_str())))
        .finish();
    // A GET signs the query as JSON.stringify would write it with string
    // values, in URL order, built as the server builds it.
    let payload = match &body {
        Some(body) => body.clone(),
        None => cps_signing::QueryParams::parse(Some(&encoded)).string_payload(),
    };
    let signature = cps_api::sign(&connection.api_secret, &format!("{path}{nonce}{payload}"));

    let mut url = format!("{}{path}", connection.url.trim_end_matches('/'));
    if !encoded.is_empty() {
        url = format!("{url}?{encoded}");
    }

    let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?;
    let mut request = http
        .request(method, &url)
        .header("api-key", &connection.api_key)
        .header("api-nonce", &nonce)
        .header("api-signature", signature)
        .header("accept-language", lang.tag());
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body);
    }

    let response = request.send().await.with_context(|| format!("failed to reach {}", connection.url))?;
    let status = response.status();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let text = response.text().await.context("failed to read the answer")?;

    print_line(&format!("HTTP {}{}", status.as_u16(), if replayed { " (Idempotent-Replayed: true)" } else { "" }));
    match serde_json::from_str::<Value>(&text) {
        Ok(document) => print_line(&format!("{document:#}")),
        Err(_) => print_line(&text),
    }
    Ok(if status.is_success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pay_body_matches_javascript_client() {
        assert_eq!(
            pay_body("04243675525", 57, "10", None),
            r#"{"numberService":"04243675525","idTypeService":57,"amount":10}"#
        );
        assert_eq!(
            pay_body("04243675525", 57, "10,50", Some("p-1")),
            r#"{"numberService":"04243675525","idTypeService":57,"amount":"10,50","reference":"p-1"}"#
        );
        assert_eq!(pay_body("1", 57, "007", None), r#"{"numberService":"1","idTypeService":57,"amount":"007"}"#);
    }
}
