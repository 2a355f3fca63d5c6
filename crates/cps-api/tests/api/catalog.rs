//! The list of basic services and the balance query.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::*;

/// Every service of the contract: (id, code, whether its balance can be
/// queried).
const SERVICES: [(i64, &str, bool); 20] = [
    (59, "DIGITEL_PREPAGO", false),
    (63, "DIGITEL_FIJO", true),
    (64, "DIGITEL_INTERNET", false),
    (229, "DIGITEL_POSPAGO", true),
    (57, "MOVISTAR_PREPAGO", false),
    (62, "MOVISTAR_FIJO", true),
    (61, "MOVISTAR_INTERNET", false),
    (60, "MOVISTAR_TV", true),
    (228, "MOVISTAR_POSPAGO", true),
    (58, "MOVILNET_PREPAGO", false),
    (214, "MOVILNET_FIJO", true),
    (215, "SIMPLETV", true),
    (216, "CORPOELEC", true),
    (212, "INTER_PREPAGO", false),
    (213, "INTER_POSPAGO", true),
    (207, "CANTV_RESIDENCIAL", true),
    (209, "CANTV_EMPRESAS", true),
    (210, "CANTV_ABA", true),
    (211, "ABA_ULTRA", true),
    (208, "TV_SATELITAL", true),
];

/// GETs `path` with `params` as its query, signed over the string-valued
/// payload a client builds from the URL. Values must need no URL encoding.
async fn get_with_params(app: &TestApp, path: &str, params: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
    let query: Vec<String> = params.iter().map(|(name, value)| format!("{name}={value}")).collect();
    let members: Vec<String> =
        params.iter().map(|(name, value)| format!("{}:{}", Value::from(*name), Value::from(*value))).collect();
    let payload = if params.is_empty() { String::new() } else { format!("{{{}}}", members.join(",")) };
    app.get_signed_with(path, &query.join("&"), &payload, headers).await
}

async fn query_balance(app: &TestApp, number: &str, service_id: &str) -> Answer {
    get_with_params(app, BALANCE_PATH, &[("numberService", number), ("idTypeService", service_id)], &[]).await
}

/// Pairs each listed service with its id, or panics naming the body.
fn services_by_id(answer: &Answer) -> Vec<(i64, Value)> {
    let list = answer.json();
    let items = list.as_array().unwrap_or_else(|| panic!("the list is not an array: {}", answer.text));
    items.iter().map(|item| (item["idTypeService"].as_i64().unwrap_or(-1), item.clone())).collect()
}

/// Returns whether `text` is a decimal with exactly 2 decimals, such as
/// `1234.50`.
fn is_two_decimal_string(text: &str) -> bool {
    let Some((units, cents)) = text.split_once('.') else {
        return false;
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    digits(units) && digits(cents) && cents.len() == 2
}

#[tokio::test]
async fn list_has_every_service() {
    let app = spawn_app().await;

    let answer = app.get_signed(SERVICES_PATH, "", "").await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    let services = services_by_id(&answer);
    assert_eq!(services.len(), 20, "{}", answer.text);
    for (id, code, can_get_balance) in SERVICES {
        let service = services.iter().find(|(listed, _)| *listed == id).map(|(_, service)| service);
        let Some(service) = service else {
            panic!("service {id} ({code}) is not listed");
        };
        assert_eq!(service["code"], code, "{id}: code");
        assert_eq!(service["canGetBalance"], can_get_balance, "{id}: canGetBalance");
        assert_eq!(service["minAmount"], "1.00", "{id}: minAmount");
        assert_eq!(service["maxAmount"], "100000.00", "{id}: maxAmount");
        assert_eq!(service["currency"], "VES", "{id}: currency");
        assert_eq!(service["enabled"], true, "{id}: enabled");
        for member in ["name", "company", "category", "numberFormat", "numberPattern"] {
            let text = service[member].as_str().unwrap_or_default();
            assert!(!text.is_empty(), "{id}: {member} is missing or empty: {service}");
        }
    }
}

#[tokio::test]
async fn list_shows_example_services() {
    let app = spawn_app().await;

    let answer = app.get_signed(SERVICES_PATH, "", "").await;

    let services = services_by_id(&answer);
    let service = |id: i64| {
        services.iter().find(|(listed, _)| *listed == id).map(|(_, service)| service.clone()).unwrap_or_default()
    };
    let movistar = service(57);
    assert_eq!(movistar["name"], "Movistar Prepago");
    assert_eq!(movistar["company"], "Movistar");
    assert_eq!(movistar["category"], "mobile");
    assert_eq!(movistar["numberPattern"], "^04(14|24)[0-9]{7}$");
    assert_eq!(service(59)["numberPattern"], "^04(12|22)[0-9]{7}$");
    assert_eq!(service(63)["category"], "landline");
}

#[tokio::test]
async fn number_format_follows_language() {
    let app = spawn_app().await;

    let spanish = app.get_signed(SERVICES_PATH, "", "").await;
    let english = app.get_signed_with(SERVICES_PATH, "", "", &[("accept-language", "en")]).await;

    assert_eq!(spanish.header("content-language"), Some("es"));
    assert_eq!(english.header("content-language"), Some("en"));
    let spanish_services = services_by_id(&spanish);
    let english_services = services_by_id(&english);
    assert_eq!(spanish_services.len(), english_services.len());
    for ((id, spanish_service), (_, english_service)) in spanish_services.iter().zip(&english_services) {
        assert_ne!(
            spanish_service["numberFormat"], english_service["numberFormat"],
            "{id}: same numberFormat in both languages"
        );
        assert_eq!(
            spanish_service["numberPattern"], english_service["numberPattern"],
            "{id}: numberPattern depends on language"
        );
    }
    let movistar_es =
        spanish_services.iter().find(|(id, _)| *id == 57).map(|(_, service)| service["numberFormat"].clone());
    let movistar_en =
        english_services.iter().find(|(id, _)| *id == 57).map(|(_, service)| service["numberFormat"].clone());
    assert!(
        movistar_es
            .as_ref()
            .is_some_and(|format| format.as_str().unwrap_or_default().contains("empieza por 0414 o 0424")),
        "Spanish numberFormat of 57: {movistar_es:?}"
    );
    assert!(
        movistar_en
            .as_ref()
            .is_some_and(|format| format.as_str().unwrap_or_default().contains("starting with 0414 or 0424")),
        "English numberFormat of 57: {movistar_en:?}"
    );
}

#[tokio::test]
async fn balance_filter_lists_fourteen() {
    let app = spawn_app().await;

    let answer = get_with_params(&app, SERVICES_PATH, &[("canGetBalance", "true")], &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    let listed: BTreeSet<i64> = services_by_id(&answer).into_iter().map(|(id, _)| id).collect();
    let expected: BTreeSet<i64> = SERVICES.iter().filter(|(_, _, can)| *can).map(|(id, _, _)| *id).collect();
    assert_eq!(expected.len(), 14);
    assert_eq!(listed, expected);
    for (id, service) in services_by_id(&answer) {
        assert_eq!(service["canGetBalance"], true, "{id}: canGetBalance");
    }
}

#[tokio::test]
async fn balance_query_returns_debt() {
    let app = spawn_app().await;

    let first = query_balance(&app, "02123457654", "63").await;
    let second = query_balance(&app, "02123457654", "63").await;

    assert_eq!(first.status, 200, "{}", first.text);
    let answer = first.json();
    assert_eq!(answer["idTypeService"], 63);
    assert_eq!(answer["service"], "DIGITEL_FIJO");
    assert_eq!(answer["numberService"], "02123457654");
    assert_eq!(answer["currency"], "VES");
    let balance = answer["balance"].as_str().unwrap_or_default();
    assert!(is_two_decimal_string(balance), "balance {:?} is not a 2-decimal string", answer["balance"]);
    assert!(answer["holderName"].as_str().is_some_and(|name| !name.is_empty()), "holderName: {answer}");
    let due_date = answer["dueDate"].as_str().unwrap_or_default();
    let date_shape = due_date.len() == 10 && due_date.as_bytes()[4] == b'-' && due_date.as_bytes()[7] == b'-';
    assert!(date_shape, "dueDate {due_date:?} is not YYYY-MM-DD");
    let queried_at = answer["queriedAt"].as_str().unwrap_or_default();
    assert!(queried_at.contains('T'), "queriedAt {queried_at:?} is not RFC 3339");
    assert!(queried_at.ends_with('Z'), "queriedAt {queried_at:?} is not in UTC");

    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.json()["balance"], answer["balance"], "two queries of one account returned different balances");
    assert_eq!(second.json()["holderName"], answer["holderName"]);
    assert_eq!(app.simulator.payment_count(), 0, "a balance query paid something");
}

#[tokio::test]
async fn balance_query_normalizes_number() {
    let app = spawn_app().await;

    let plain = query_balance(&app, "02123457654", "63").await;
    let written = query_balance(&app, "0212-3457654", "63").await;

    assert_eq!(written.status, 200, "{}", written.text);
    assert_eq!(written.json()["numberService"], "02123457654");
    assert_eq!(written.json()["balance"], plain.json()["balance"]);
}

#[tokio::test]
async fn unknown_account_is_422() {
    let app = spawn_app().await;

    let answer = query_balance(&app, "02123459001", "63").await;

    assert_problem(&answer, 422, "ACCOUNT_NOT_FOUND", "number ending 9001");
    assert_eq!(error_fields(&answer), ["numberService"]);
}

#[tokio::test]
async fn balance_unsupported_service_is_422() {
    let app = spawn_app().await;

    let answer = query_balance(&app, "04140000001", "57").await;

    assert_problem(&answer, 422, "BALANCE_NOT_SUPPORTED", "service 57");
    assert_eq!(error_fields(&answer), ["idTypeService"]);
}

#[tokio::test]
async fn balance_rule_faults_are_422() {
    let app = spawn_app().await;

    // (label, number, service id, code, field at fault)
    let cases = [
        ("service 999", "02123457654", "999", "UNKNOWN_SERVICE", "idTypeService"),
        ("mobile number for a landline", "04140000001", "63", "INVALID_SERVICE_NUMBER", "numberService"),
        ("too short", "0212345", "63", "INVALID_SERVICE_NUMBER", "numberService"),
    ];
    for (label, number, service_id, code, field) in cases {
        let answer = query_balance(&app, number, service_id).await;
        assert_problem(&answer, 422, code, label);
        assert_eq!(error_fields(&answer), [field], "{label}: errors[].field");
    }
}

#[tokio::test]
async fn balance_query_faults_are_400() {
    let app = spawn_app().await;

    // (label, query parameters, code, field at fault)
    let cases: [(&str, &[(&str, &str)], &str, &str); 5] = [
        ("no numberService", &[("idTypeService", "63")], "MISSING_FIELD", "numberService"),
        ("no idTypeService", &[("numberService", "02123457654")], "MISSING_FIELD", "idTypeService"),
        ("no parameters", &[], "MISSING_FIELD", "numberService"),
        (
            "idTypeService=abc",
            &[("numberService", "02123457654"), ("idTypeService", "abc")],
            "INVALID_QUERY_PARAMETER",
            "idTypeService",
        ),
        (
            "idTypeService=63.5",
            &[("numberService", "02123457654"), ("idTypeService", "63.5")],
            "INVALID_QUERY_PARAMETER",
            "idTypeService",
        ),
    ];
    for (label, params, code, field) in cases {
        let answer = get_with_params(&app, BALANCE_PATH, params, &[]).await;
        assert_problem(&answer, 400, code, label);
        assert_eq!(error_fields(&answer), [field], "{label}: errors[].field");
    }
}
