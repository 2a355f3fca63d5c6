//! The strings a signature covers: for any request, the client's signature
//! over the first candidate is accepted, the query payloads are JSON objects
//! holding exactly the parsed parameters, and a wrong secret is rejected.
//!
//! An input is readable text, so seeds can be written by hand: lines
//! `METHOD PATH`, `NONCE`, `QUERY` (`-` for none), `SECRET`, then the body
//! as raw bytes up to the end.

#![no_main]

use cps_signing::{check_signature, sign, signature_matches, strings_to_sign, QueryParams};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct Request<'a> {
    method: &'a str,
    path: &'a str,
    nonce: &'a str,
    query: Option<&'a str>,
    secret: &'a str,
    body: &'a [u8],
}

impl<'a> Request<'a> {
    fn parse(data: &'a [u8]) -> Option<Request<'a>> {
        let mut parts = data.splitn(5, |byte| *byte == b'\n');
        let mut line = || parts.next().and_then(|part| std::str::from_utf8(part).ok());
        let (method, path) = line()?.split_once(' ')?;
        let nonce = line()?;
        let query = Some(line()?).filter(|query| *query != "-");
        let secret = line()?;
        let body = parts.next().unwrap_or_default();
        Some(Request { method, path, nonce, query, secret, body })
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = Request::parse(data) else {
        return;
    };
    let method = request.method;
    let query = QueryParams::parse(request.query);
    let candidates = strings_to_sign(method, request.path, request.nonce, request.body, &query);

    assert!(!candidates.is_empty());
    let signed_part = format!("{}{}", request.path, request.nonce).into_bytes();
    assert!(candidates.iter().any(|candidate| candidate.starts_with(&signed_part)), "the path as sent is missing");

    check_query_payloads(&query);

    // A client signs text, so only UTF-8 candidates can be signed with `sign`.
    let Ok(first) = std::str::from_utf8(&candidates[0]) else {
        return;
    };
    let signature = sign(request.secret, first);
    assert_eq!(signature.len(), 96);
    assert!(signature_matches(request.secret, &candidates, &signature));
    assert!(signature_matches(request.secret, &candidates, &signature.to_ascii_uppercase()));
    let other_secret = format!("{}x", request.secret);
    assert!(!signature_matches(&other_secret, &candidates, &signature));
    assert!(check_signature(
        request.secret,
        method,
        request.path,
        request.query,
        request.nonce,
        request.body,
        &signature
    ));
});

/// Both payload forms are JSON objects with the parameters in URL order, and
/// the string form contains each value unchanged.
fn check_query_payloads(query: &QueryParams) {
    let entries: Vec<(&str, &str)> = query.entries().collect();
    let expected_names: Vec<&str> = entries.iter().map(|(name, _)| *name).collect();
    for payload in [query.string_payload(), query.typed_payload()] {
        // serde_json is built with `preserve_order` here, so the map keeps
        // the document's member order.
        let object: serde_json::Map<String, Value> =
            serde_json::from_str(&payload).unwrap_or_else(|error| panic!("{payload} is not an object: {error}"));
        let names: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(names, expected_names, "payload {payload}");
    }

    let strings: serde_json::Map<String, Value> = serde_json::from_str(&query.string_payload()).unwrap();
    for (name, value) in &entries {
        assert_eq!(strings.get(*name), Some(&Value::String(value.to_string())), "parameter {name:?}");
    }

    // Serialized again as a URL query, the parameters parse back unchanged.
    if query.repeated().is_none() && !query.has_invalid_encoding() {
        let rebuilt = form_urlencoded::Serializer::new(String::new()).extend_pairs(entries.iter()).finish();
        let reparsed = QueryParams::parse(Some(&rebuilt));
        assert_eq!(reparsed.entries().collect::<Vec<_>>(), entries, "query {rebuilt:?}");
    }
}
