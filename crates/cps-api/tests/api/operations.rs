//! Re-query of a client's own operations, its history pages and its account.

use std::collections::HashSet;

use futures::future::join_all;

use crate::helpers::*;

const OPERATION_PATH: &str = "/cps/v2/operation";
const OPERATIONS_PATH: &str = "/cps/v2/operations";
const ACCOUNT_PATH: &str = "/cps/v2/account";

/// Query parameters of one case, in order.
type Params = Vec<(&'static str, &'static str)>;

#[tokio::test]
async fn operation_found_by_id_and_reference() {
    let app = spawn_app_with_float("100.00").await;
    let paid = app.pay(&payment("0000001", "10", Some("order-1"))).await.json();
    let id = paid["id"].as_str().unwrap();

    let by_id = app.get_query(&format!("{OPERATION_PATH}/{id}"), &[]).await;
    let by_reference = app.get_query(OPERATION_PATH, &[("reference", "order-1")]).await;

    for (case, answer) in [("by id", &by_id), ("by reference", &by_reference)] {
        assert_eq!(answer.status, 200, "{case}: {}", answer.text);
        let operation = answer.json();
        assert_eq!(operation["id"], id, "{case}");
        assert_eq!(operation["status"], "approved", "{case}");
        assert_eq!(operation["reference"], "order-1", "{case}");
        assert_eq!(operation["amount"], "10.00", "{case}");
        assert_eq!(operation["providerReference"], paid["providerReference"], "{case}");
        assert_eq!(operation["accountBalance"], "90.00", "{case}");
    }
}

#[tokio::test]
async fn foreign_operation_not_found() {
    let app = spawn_app_with_float("100.00").await;
    let (other_key, other_secret) = app.other_client("100.00").await;
    let theirs = app.pay_as(&other_key, &other_secret, &payment("0000002", "10", Some("shared-ref"))).await.json();
    let their_id = theirs["id"].as_str().unwrap();

    let cases = [
        ("their id", format!("{OPERATION_PATH}/{their_id}"), vec![]),
        ("unknown id", format!("{OPERATION_PATH}/op_01KBRZ3D4W1Q6Y8V0N2M5P7R9T"), vec![]),
        ("malformed id", format!("{OPERATION_PATH}/nothing-like-an-id"), vec![]),
        ("their reference", OPERATION_PATH.to_string(), vec![("reference", "shared-ref")]),
    ];
    for (case, path, params) in cases {
        let answer = app.get_query(&path, &params).await;
        assert_problem(&answer, 404, "NOT_FOUND", case);
        assert!(!answer.text.contains("04140000002"), "{case}: the body shows their number");
    }

    let mine = app.get_query_as(&other_key, &other_secret, &format!("{OPERATION_PATH}/{their_id}"), &[]).await;
    assert_eq!(mine.status, 200, "the owner finds it: {}", mine.text);
}

#[tokio::test]
async fn lookup_parameters_checked() {
    let app = spawn_app().await;
    let cases: [(&str, &str, Params, &str, &str); 4] = [
        ("no reference", OPERATION_PATH, vec![], "MISSING_FIELD", "reference"),
        ("bad reference", OPERATION_PATH, vec![("reference", "has spaces")], "INVALID_QUERY_PARAMETER", "reference"),
        ("extra parameter", OPERATION_PATH, vec![("reference", "a"), ("x", "1")], "INVALID_QUERY_PARAMETER", "x"),
        (
            "parameter on an id",
            "/cps/v2/operation/op_01KBRZ3D4W1Q6Y8V0N2M5P7R9T",
            vec![("limit", "1")],
            "INVALID_QUERY_PARAMETER",
            "limit",
        ),
    ];
    for (case, path, params, code, field) in cases {
        let answer = app.get_query(path, &params).await;
        assert_problem(&answer, 400, code, case);
        assert_eq!(error_fields(&answer), vec![field.to_string()], "{case}");
    }
}

#[tokio::test]
async fn history_pages_survive_concurrent_inserts() {
    let app = spawn_app_with_float("100000.00").await;
    let mut before = HashSet::new();
    for index in 0..25 {
        let answer = app.pay(&payment(&format!("{:07}", index + 1), "1", None)).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        before.insert(answer.json()["id"].as_str().unwrap().to_string());
    }

    // Page through while other payments are made between the pages.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let bodies: Vec<String> =
            (0..3).map(|index| payment(&format!("{:07}", 5000 + pages * 3 + index), "1", None)).collect();
        let inserts = bodies.iter().map(|body| app.pay(body));
        let mut params = vec![("limit", "7")];
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor.as_str()));
        }
        let (page, _) = tokio::join!(app.get_query(OPERATIONS_PATH, &params), join_all(inserts));
        assert_eq!(page.status, 200, "{}", page.text);
        let page = page.json();
        for operation in page["operations"].as_array().unwrap() {
            let (created, id) = (operation["createdAt"].as_str().unwrap(), operation["id"].as_str().unwrap());
            seen.push((created.to_string(), id.to_string()));
        }
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 50, "paging does not end");
    }

    let ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    let unique: HashSet<&String> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an operation was repeated across pages");
    for id in &before {
        assert!(unique.contains(id), "operation {id} was skipped");
    }
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "pages are not newest first");
}

#[tokio::test]
async fn history_filters_apply() {
    let app = spawn_app_with_float("1000.00").await;
    app.pay(&payment("0000001", "10", None)).await;
    app.pay(&payment("0009001", "10", None)).await;
    app.pay(r#"{"numberService":"04120000001","idTypeService":59,"amount":5}"#).await;

    let count = |answer: &Answer| answer.json()["operations"].as_array().unwrap().len();
    let rejected = app.get_query(OPERATIONS_PATH, &[("status", "rejected")]).await;
    assert_eq!(count(&rejected), 1, "{}", rejected.text);
    assert_eq!(rejected.json()["operations"][0]["numberService"], "04140009001");

    let digitel = app.get_query(OPERATIONS_PATH, &[("idTypeService", "59")]).await;
    assert_eq!(count(&digitel), 1, "{}", digitel.text);

    let past =
        app.get_query(OPERATIONS_PATH, &[("from", "2020-01-01T00:00:00Z"), ("to", "2020-02-01T00:00:00-04:00")]).await;
    assert_eq!(count(&past), 0, "{}", past.text);
    let all = app.get_query(OPERATIONS_PATH, &[("from", "2020-01-01T00:00:00Z")]).await;
    assert_eq!(count(&all), 3, "{}", all.text);
    assert!(all.json()["nextCursor"].is_null());
}

#[tokio::test]
async fn invalid_history_parameters_named() {
    let app = spawn_app().await;
    let cases: [(&str, Params, &str); 13] = [
        ("from not a date", vec![("from", "yesterday")], "from"),
        ("from without offset", vec![("from", "2026-01-31T21:30:00")], "from"),
        ("to not a date", vec![("to", "2026-13-01T00:00:00Z")], "to"),
        ("to before from", vec![("from", "2026-02-01T00:00:00Z"), ("to", "2026-01-01T00:00:00Z")], "to"),
        ("unknown status", vec![("status", "paid")], "status"),
        ("service not a number", vec![("idTypeService", "movistar")], "idTypeService"),
        ("unknown service", vec![("idTypeService", "99999")], "idTypeService"),
        ("limit zero", vec![("limit", "0")], "limit"),
        ("limit too big", vec![("limit", "101")], "limit"),
        ("limit not a number", vec![("limit", "ten")], "limit"),
        ("cursor not ours", vec![("cursor", "abc")], "cursor"),
        ("unknown parameter", vec![("page", "2")], "page"),
        ("repeated parameter", vec![("limit", "5"), ("limit", "6")], "limit"),
    ];
    for (case, params, field) in cases {
        let answer = app.get_query(OPERATIONS_PATH, &params).await;
        assert_problem(&answer, 400, "INVALID_QUERY_PARAMETER", case);
        assert_eq!(error_fields(&answer), vec![field.to_string()], "{case}");
    }

    let english =
        app.get_signed_with(OPERATIONS_PATH, "limit=0", r#"{"limit":"0"}"#, &[("accept-language", "en")]).await;
    assert!(english.json()["errors"][0]["message"].as_str().unwrap().contains("must be an integer from 1 to 100"));
}

#[tokio::test]
async fn account_shows_float_and_reserved() {
    let app = spawn_app_with_float("100.00").await;
    app.pay(&payment("0000001", "10", None)).await;
    // The sandbox number 9002 times out, so its amount stays reserved.
    let pending = app.pay(&payment("0009002", "15", None)).await;
    assert_eq!(pending.status, 202, "{}", pending.text);

    let answer = app.get_query(ACCOUNT_PATH, &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    let account = answer.json();
    assert_eq!(account["accountBalance"], "75.00");
    assert_eq!(account["reserved"], "15.00");
    assert_eq!(account["currency"], "VES");
    assert!(account["queriedAt"].is_string());
}
