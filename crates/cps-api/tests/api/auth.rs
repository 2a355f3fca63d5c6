//! Request signing over real HTTP: path and payload forms, the nonce window,
//! replays and missing or unknown credentials.

use futures::future::join_all;

use crate::helpers::*;

const BALANCE_QUERY: &str = "numberService=02123457654&idTypeService=63";
const BALANCE_STRINGS: &str = r#"{"numberService":"02123457654","idTypeService":"63"}"#;
const BALANCE_TYPED: &str = r#"{"numberService":"02123457654","idTypeService":63}"#;

/// Milliseconds in 6 minutes, one minute past the default nonce window.
const SIX_MINUTES_MS: i64 = 6 * 60 * 1000;

/// GETs `target` (path and query) with `nonce`, signed over `string_to_sign`.
async fn get_signed_raw(app: &TestApp, target: &str, nonce: &str, string_to_sign: &str, language: &str) -> Answer {
    let request = app.http.get(app.url(target)).header("accept-language", language);
    app.send(app.with_signature(request, nonce, string_to_sign)).await
}

/// POSTs `body` as JSON to `path` with `nonce`, signed over `string_to_sign`.
async fn post_signed_raw(app: &TestApp, path: &str, nonce: &str, string_to_sign: &str, body: &str) -> Answer {
    let request = app.http.post(app.url(path)).header("content-type", "application/json").body(body.to_string());
    app.send(app.with_signature(request, nonce, string_to_sign)).await
}

/// Returns whether `text` contains a 13-digit number within a minute of this
/// machine's clock, as the server time in milliseconds is.
fn contains_server_time(text: &str) -> bool {
    let now_ms = cps_store::now_ms();
    text.split(|character: char| !character.is_ascii_digit())
        .filter(|digits| digits.len() == 13)
        .filter_map(|digits| digits.parse::<i64>().ok())
        .any(|value| (value - now_ms).abs() < 60_000)
}

#[tokio::test]
async fn both_path_forms_verify() {
    let app = spawn_app().await;
    let list = "/list/basic_services";
    let pay = "/operation/use/pay";

    // (label, path called, path signed)
    let cases = [
        ("list, public path", format!("/cps/v2{list}"), format!("/cps/v2{list}")),
        ("list, gateway path", format!("/v2{list}"), format!("/v2{list}")),
        ("list, public path signed without /cps", format!("/cps/v2{list}"), format!("/v2{list}")),
        ("list, gateway path signed with /cps", format!("/v2{list}"), format!("/cps/v2{list}")),
        ("pay, public path signed without /cps", format!("/cps/v2{pay}"), format!("/v2{pay}")),
        ("pay, gateway path signed with /cps", format!("/v2{pay}"), format!("/cps/v2{pay}")),
    ];
    for (label, called, signed) in cases {
        let nonce = nonce();
        let answer = if called.ends_with(pay) {
            post_signed_raw(&app, &called, &nonce, &format!("{signed}{nonce}{EXAMPLE_PAYMENT}"), EXAMPLE_PAYMENT).await
        } else {
            get_signed_raw(&app, &called, &nonce, &format!("{signed}{nonce}"), "es").await
        };
        assert_eq!(answer.status, 200, "{label}: {}", answer.text);
    }
}

#[tokio::test]
async fn balance_payload_forms_verify() {
    let app = spawn_app().await;

    for (label, payload) in [("string values", BALANCE_STRINGS), ("typed values", BALANCE_TYPED)] {
        let answer = app.get_signed(BALANCE_PATH, BALANCE_QUERY, payload).await;
        assert_eq!(answer.status, 200, "{label}: {}", answer.text);
        assert_eq!(answer.json()["numberService"], "02123457654", "{label}");
    }
}

#[tokio::test]
async fn empty_query_payload_forms_verify() {
    let app = spawn_app().await;

    for (label, payload) in [("empty string", ""), ("empty object", "{}")] {
        let answer = app.get_signed(SERVICES_PATH, "", payload).await;
        assert_eq!(answer.status, 200, "{label}: {}", answer.text);
        assert_eq!(answer.json().as_array().map(Vec::len), Some(20), "{label}");
    }
}

#[tokio::test]
async fn boolean_query_payload_forms_verify() {
    let app = spawn_app().await;

    let cases = [("typed boolean", r#"{"canGetBalance":false}"#), ("string value", r#"{"canGetBalance":"false"}"#)];
    for (label, payload) in cases {
        let answer = app.get_signed(SERVICES_PATH, "canGetBalance=false", payload).await;
        assert_eq!(answer.status, 200, "{label}: {}", answer.text);
        assert_eq!(answer.json().as_array().map(Vec::len), Some(20), "{label}");
    }
}

#[tokio::test]
async fn encoded_query_signed_decoded() {
    let app = spawn_app().await;

    // Decoded, `+` is a space and `%2D` a dash. The client signs the decoded
    // values.
    let query = "numberService=0212+345%2D7654&idTypeService=63";
    let cases = [
        ("string values", r#"{"numberService":"0212 345-7654","idTypeService":"63"}"#),
        ("typed values", r#"{"numberService":"0212 345-7654","idTypeService":63}"#),
    ];
    for (label, payload) in cases {
        let answer = app.get_signed(BALANCE_PATH, query, payload).await;
        assert_eq!(answer.status, 200, "{label}: {}", answer.text);
        assert_eq!(answer.json()["numberService"], "02123457654", "{label}");
    }
}

#[tokio::test]
async fn other_payloads_list_expected_strings() {
    let app = spawn_app().await;
    let balance = "/operation/get/balance";
    let list = "/list/basic_services";

    // (label, path under /v2, query, payload signed, payloads the server accepts)
    let cases: [(&str, &str, &str, &str, &[&str]); 11] = [
        (
            "balance, keys reordered",
            balance,
            BALANCE_QUERY,
            r#"{"idTypeService":63,"numberService":"02123457654"}"#,
            &[BALANCE_STRINGS, BALANCE_TYPED],
        ),
        (
            "balance, spaces",
            balance,
            BALANCE_QUERY,
            r#"{"numberService": "02123457654", "idTypeService": 63}"#,
            &[BALANCE_STRINGS, BALANCE_TYPED],
        ),
        (
            "balance, number as number",
            balance,
            BALANCE_QUERY,
            r#"{"numberService":2123457654,"idTypeService":63}"#,
            &[BALANCE_STRINGS, BALANCE_TYPED],
        ),
        ("balance, raw query string", balance, BALANCE_QUERY, BALANCE_QUERY, &[BALANCE_STRINGS, BALANCE_TYPED]),
        ("balance, empty string", balance, BALANCE_QUERY, "", &[BALANCE_STRINGS, BALANCE_TYPED]),
        ("balance, empty object", balance, BALANCE_QUERY, "{}", &[BALANCE_STRINGS, BALANCE_TYPED]),
        ("list, boolean without query", list, "", r#"{"canGetBalance":false}"#, &["", "{}"]),
        ("list, null without query", list, "", "null", &["", "{}"]),
        (
            "list, empty object with query",
            list,
            "canGetBalance=false",
            "{}",
            &[r#"{"canGetBalance":false}"#, r#"{"canGetBalance":"false"}"#],
        ),
        (
            "list, empty string with query",
            list,
            "canGetBalance=false",
            "",
            &[r#"{"canGetBalance":false}"#, r#"{"canGetBalance":"false"}"#],
        ),
        (
            "list, capitalized boolean",
            list,
            "canGetBalance=false",
            r#"{"canGetBalance":"False"}"#,
            &[r#"{"canGetBalance":false}"#, r#"{"canGetBalance":"false"}"#],
        ),
    ];
    for (label, path, query, payload, accepted) in cases {
        let nonce = nonce();
        let target = if query.is_empty() { format!("/cps/v2{path}") } else { format!("/cps/v2{path}?{query}") };
        let answer = get_signed_raw(&app, &target, &nonce, &format!("/cps/v2{path}{nonce}{payload}"), "es").await;

        assert_problem(&answer, 401, "INVALID_SIGNATURE", label);
        let listed: Vec<String> = answer.json()["stringToSign"]
            .as_array()
            .unwrap_or_else(|| panic!("{label}: stringToSign is not an array: {}", answer.text))
            .iter()
            .map(|value| value.as_str().unwrap_or_default().to_string())
            .collect();
        for prefix in ["/cps/v2", "/v2"] {
            for accepted_payload in accepted {
                let expected = format!("{prefix}{path}{nonce}{accepted_payload}");
                assert!(listed.contains(&expected), "{label}: stringToSign lacks {expected:?}: {listed:?}");
            }
        }
        assert!(!answer.text.contains(&app.secret), "{label}: the body shows the secret");
    }
}

#[tokio::test]
async fn wrong_post_signature_lists_body() {
    let app = spawn_app().await;
    let nonce = nonce();

    let answer = post_signed_raw(&app, PAY_PATH, &nonce, &format!("{PAY_PATH}{nonce}{{}}"), EXAMPLE_PAYMENT).await;

    assert_problem(&answer, 401, "INVALID_SIGNATURE", "POST signed over {}");
    let listed = answer.json()["stringToSign"].clone();
    let expected_public = format!("{PAY_PATH}{nonce}{EXAMPLE_PAYMENT}");
    let expected_gateway = format!("/v2/operation/use/pay{nonce}{EXAMPLE_PAYMENT}");
    assert!(listed.as_array().is_some_and(|strings| strings.contains(&expected_public.into())), "{listed}");
    assert!(listed.as_array().is_some_and(|strings| strings.contains(&expected_gateway.into())), "{listed}");
    assert!(!answer.text.contains(&app.secret), "the body shows the secret");
    assert_eq!(app.simulator.payment_count(), 0);
}

#[tokio::test]
async fn malformed_signatures_are_rejected() {
    let app = spawn_app().await;
    let string_to_sign = |nonce: &str| format!("{SERVICES_PATH}{nonce}");

    // (label, signature built from the nonce)
    let cases: [(&str, &dyn Fn(&str) -> String); 4] = [
        ("other secret", &|nonce| cps_api::sign("not-the-secret", &string_to_sign(nonce))),
        ("truncated", &|nonce| cps_api::sign(&app.secret, &string_to_sign(nonce))[..94].to_string()),
        ("not hex", &|_| "zz".repeat(48)),
        ("hex of the secret", &|_| hex::encode(&app.secret)),
    ];
    for (label, signature) in cases {
        let nonce = nonce();
        let request = app.with_credentials(app.http.get(app.url(SERVICES_PATH)), &nonce, &signature(&nonce));
        let answer = app.send(request).await;
        assert_problem(&answer, 401, "INVALID_SIGNATURE", label);
        assert!(!answer.text.contains(&app.secret), "{label}: the body shows the secret");
    }
}

#[tokio::test]
async fn replay_on_other_path_form() {
    let app = spawn_app_with_float("100.00").await;
    let nonce = nonce();
    // Signed over the gateway form, which is valid on both paths.
    let string_to_sign = format!("/v2/operation/use/pay{nonce}{EXAMPLE_PAYMENT}");

    let first = post_signed_raw(&app, PAY_PATH, &nonce, &string_to_sign, EXAMPLE_PAYMENT).await;
    let resend = post_signed_raw(&app, "/v2/operation/use/pay", &nonce, &string_to_sign, EXAMPLE_PAYMENT).await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_problem(&resend, 401, "NONCE_REUSED", "resend on the gateway path");
    assert_eq!(app.float().await, "90.00");
}

#[tokio::test]
async fn spaced_body_signed_raw_verifies() {
    let app = spawn_app_with_float("100.00").await;
    let body = r#"{"numberService": "04140000001", "idTypeService": 57, "amount": 10}"#;

    let answer = app.pay(body).await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.float().await, "90.00");
}

#[tokio::test]
async fn upper_case_signature_verifies() {
    let app = spawn_app_with_float("100.00").await;
    let nonce = nonce();
    let signature = cps_api::sign(&app.secret, &format!("{PAY_PATH}{nonce}{EXAMPLE_PAYMENT}"));
    let send = |signature: String| {
        let request = app.http.post(app.url(PAY_PATH)).header("content-type", "application/json").body(EXAMPLE_PAYMENT);
        app.send(app.with_credentials(request, &nonce, &signature))
    };

    let upper = send(signature.to_ascii_uppercase()).await;
    let lower_resend = send(signature).await;

    assert_eq!(upper.status, 200, "{}", upper.text);
    // The same signature in other letter case is the same request again.
    assert_problem(&lower_resend, 401, "NONCE_REUSED", "lower-case resend");
    assert_eq!(app.float().await, "90.00");
}

#[tokio::test]
async fn same_request_twice_is_replay() {
    let app = spawn_app_with_float("100.00").await;
    let nonce = nonce();
    let string_to_sign = format!("{PAY_PATH}{nonce}{EXAMPLE_PAYMENT}");

    let first = post_signed_raw(&app, PAY_PATH, &nonce, &string_to_sign, EXAMPLE_PAYMENT).await;
    let second = post_signed_raw(&app, PAY_PATH, &nonce, &string_to_sign, EXAMPLE_PAYMENT).await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_problem(&second, 401, "NONCE_REUSED", "second send");
    assert_eq!(app.simulator.payment_count(), 1);
    assert_eq!(app.float().await, "90.00");
}

#[tokio::test]
async fn parallel_replays_accept_one() {
    let app = spawn_app_with_float("100.00").await;
    let nonce = nonce();
    let string_to_sign = format!("{PAY_PATH}{nonce}{EXAMPLE_PAYMENT}");

    let sends = (0..10).map(|_| post_signed_raw(&app, PAY_PATH, &nonce, &string_to_sign, EXAMPLE_PAYMENT));
    let answers = join_all(sends).await;

    let accepted = answers.iter().filter(|answer| answer.status == 200).count();
    let replays = answers.iter().filter(|answer| answer.status == 401 && answer.code() == "NONCE_REUSED").count();
    assert_eq!(accepted, 1, "{answers:?}");
    assert_eq!(replays, 9, "{answers:?}");
    assert_eq!(app.simulator.payment_count(), 1);
    assert_eq!(app.float().await, "90.00");
}

#[tokio::test]
async fn one_nonce_two_bodies_accepted() {
    let app = spawn_app_with_float("100.00").await;
    let nonce = nonce();
    let bodies = [
        r#"{"numberService":"04140000001","idTypeService":57,"amount":10}"#,
        r#"{"numberService":"04140000002","idTypeService":57,"amount":10}"#,
    ];

    for body in bodies {
        let answer = post_signed_raw(&app, PAY_PATH, &nonce, &format!("{PAY_PATH}{nonce}{body}"), body).await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.text);
    }
    assert_eq!(app.simulator.payment_count(), 2);
    assert_eq!(app.float().await, "80.00");
}

#[tokio::test]
async fn bad_nonces_are_explained() {
    let app = spawn_app().await;
    let now_ms = cps_store::now_ms();
    let six_minutes_old = (now_ms - SIX_MINUTES_MS).to_string();
    let six_minutes_ahead = (now_ms + SIX_MINUTES_MS).to_string();
    let seconds = (now_ms / 1000).to_string();
    let microseconds = (now_ms * 1000).to_string();

    // (label, nonce, code, words of the English detail that name the problem)
    let cases = [
        ("seconds", seconds.as_str(), "INVALID_NONCE", "in seconds"),
        ("microseconds", microseconds.as_str(), "INVALID_NONCE", "in microseconds"),
        ("6 minutes old", six_minutes_old.as_str(), "NONCE_OUT_OF_WINDOW", "seconds away from the server time"),
        ("6 minutes ahead", six_minutes_ahead.as_str(), "NONCE_OUT_OF_WINDOW", "seconds away from the server time"),
        ("letters", "abc", "INVALID_NONCE", "not a whole number"),
        ("exponent", "1e12", "INVALID_NONCE", "not a whole number"),
    ];
    for (label, nonce, code, words) in cases {
        for language in ["es", "en"] {
            let case = format!("{label} ({language})");
            let answer = get_signed_raw(&app, SERVICES_PATH, nonce, &format!("{SERVICES_PATH}{nonce}"), language).await;

            assert_problem(&answer, 401, code, &case);
            let detail = answer.json()["detail"].as_str().unwrap_or_default().to_string();
            assert!(detail.contains(nonce), "{case}: detail does not show the nonce: {detail}");
            assert!(contains_server_time(&detail), "{case}: detail does not show the server time: {detail}");
            if language == "en" {
                assert!(detail.contains(words), "{case}: detail does not say {words:?}: {detail}");
            }
        }
    }
}

#[tokio::test]
async fn nonce_inside_window_verifies() {
    let app = spawn_app().await;
    let four_minutes_old = (cps_store::now_ms() - 4 * 60 * 1000).to_string();

    let answer =
        get_signed_raw(&app, SERVICES_PATH, &four_minutes_old, &format!("{SERVICES_PATH}{four_minutes_old}"), "es")
            .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn missing_headers_are_named() {
    let app = spawn_app().await;

    for header in ["api-key", "api-nonce", "api-signature"] {
        for (label, value) in [("missing", None), ("empty", Some(""))] {
            let case = format!("{header} {label}");
            let nonce = nonce();
            let mut credentials = vec![
                ("api-key", app.api_key.clone()),
                ("api-nonce", nonce.clone()),
                ("api-signature", cps_api::sign(&app.secret, &format!("{SERVICES_PATH}{nonce}"))),
            ];
            credentials.retain(|(name, _)| *name != header);
            if let Some(value) = value {
                credentials.push((header, value.to_string()));
            }
            let mut request = app.http.get(app.url(SERVICES_PATH)).header("accept-language", "en");
            for (name, value) in &credentials {
                request = request.header(*name, value);
            }

            let answer = app.send(request).await;

            assert_problem(&answer, 401, "MISSING_CREDENTIALS", &case);
            let detail = answer.json()["detail"].as_str().unwrap_or_default().to_string();
            assert!(detail.contains(&format!("header {header}")), "{case}: detail does not name the header: {detail}");
        }
    }
}

#[tokio::test]
async fn unknown_api_key_is_rejected() {
    let app = spawn_app().await;
    let nonce = nonce();
    let unknown_key = "0123456789abcdef0123456789abcdef";
    let signature = cps_api::sign(&app.secret, &format!("{SERVICES_PATH}{nonce}"));

    let request = app
        .http
        .get(app.url(SERVICES_PATH))
        .header("api-key", unknown_key)
        .header("api-nonce", &nonce)
        .header("api-signature", signature);
    let answer = app.send(request).await;

    assert_problem(&answer, 401, "INVALID_CREDENTIALS", "unknown api-key");
    assert!(answer.json().get("stringToSign").is_none(), "an unknown key gets no signing hint: {}", answer.text);
    assert!(!answer.text.contains(&app.api_key), "the body shows another client's key");
}

#[tokio::test]
async fn refused_payments_are_replays_too() {
    // A payment refused before its reservation records its nonce on its own,
    // so sending it again is a replay whatever the first refusal was.
    let app = spawn_app_with_float("5.00").await;
    let cases = [
        ("business rule (422)", r#"{"numberService":"04140000001","idTypeService":57,"amount":0}"#, 422),
        ("insufficient funds (402)", r#"{"numberService":"04140000001","idTypeService":57,"amount":10}"#, 402),
        ("malformed JSON (400)", r#"{"numberService":"#, 400),
    ];

    for (case, body, status) in cases {
        let nonce = nonce();
        let string_to_sign = format!("{PAY_PATH}{nonce}{body}");
        let first = post_signed_raw(&app, PAY_PATH, &nonce, &string_to_sign, body).await;
        let second = post_signed_raw(&app, PAY_PATH, &nonce, &string_to_sign, body).await;

        assert_eq!(first.status, status, "{case}: {}", first.text);
        assert_problem(&second, 401, "NONCE_REUSED", case);
    }
    assert_eq!(app.float().await, "5.00");
}
