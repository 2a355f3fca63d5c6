//! Request signing: `api-signature` is the hex HMAC-SHA384, keyed with the
//! client's secret, of PATH + NONCE + PAYLOAD.
//!
//! PATH is the path as received, without `/cps`, or with `/cps` added (a
//! gateway in front may strip the prefix the client signed). PAYLOAD is the raw
//! body of a POST, or for a GET the query as `JSON.stringify` would write it,
//! with string or typed values. `{}` and the empty string both stand for no
//! query.
//!
//! This crate does no I/O, so the server, the command-line client and the
//! fuzz targets share one implementation.

mod query;

use hmac::{Hmac, Mac};
use sha2::Sha384;

pub use query::QueryParams;

/// The prefix a gateway in front of CPS strips from public paths.
const GATEWAY_PREFIX: &str = "/cps";

/// Returns every PATH + NONCE + PAYLOAD byte string the server accepts for
/// this request. `method` is upper case, as HTTP writes it. For `GET` and
/// `HEAD` the payload comes from the query; for any other method it is the raw
/// body received, never decoded.
pub fn strings_to_sign(method: &str, path: &str, nonce: &str, body: &[u8], query: &QueryParams) -> Vec<Vec<u8>> {
    let mut paths = vec![path.to_string()];
    match path.strip_prefix(GATEWAY_PREFIX) {
        Some(stripped) if stripped.starts_with('/') => paths.push(stripped.to_string()),
        _ => paths.push(format!("{GATEWAY_PREFIX}{path}")),
    }

    let payloads = if method == "GET" || method == "HEAD" {
        let mut forms = vec![query.string_payload(), query.typed_payload()];
        if query.is_empty() {
            forms = vec!["{}".to_string(), String::new()];
        }
        forms.dedup();
        forms.into_iter().map(String::into_bytes).collect()
    } else {
        vec![body.to_vec()]
    };

    let mut candidates = Vec::new();
    for path in &paths {
        for payload in &payloads {
            let mut candidate = format!("{path}{nonce}").into_bytes();
            candidate.extend_from_slice(payload);
            candidates.push(candidate);
        }
    }
    candidates
}

/// Compares in constant time (through `Mac::verify_slice`) against each
/// candidate. Upper- and lower-case hex are both accepted.
pub fn signature_matches(secret: &str, candidates: &[Vec<u8>], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex) else {
        return false;
    };
    candidates.iter().any(|candidate| {
        let mut mac = Hmac::<Sha384>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
        mac.update(candidate);
        mac.verify_slice(&signature).is_ok()
    })
}

/// Checks a request's signature the way the server does: every accepted
/// PATH + NONCE + PAYLOAD form, compared in constant time. Exposed for
/// benchmarks and for tools that verify requests offline.
pub fn check_signature(
    secret: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
    nonce: &str,
    body: &[u8],
    signature_hex: &str,
) -> bool {
    let candidates = strings_to_sign(method, path, nonce, body, &QueryParams::parse(query));
    signature_matches(secret, &candidates, signature_hex)
}

/// Computes the lowercase hex signature of `string_to_sign`, as clients do.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha384>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t";

    #[test]
    fn both_path_forms_are_candidates() {
        let query = QueryParams::parse(Some("canGetBalance=false"));
        let candidates = strings_to_sign("GET", "/cps/v2/list/basic_services", "1733340389123", b"", &query);
        assert!(candidates.contains(&br#"/v2/list/basic_services1733340389123{"canGetBalance":false}"#.to_vec()));
        assert!(candidates.contains(&br#"/cps/v2/list/basic_services1733340389123{"canGetBalance":"false"}"#.to_vec()));
    }

    #[test]
    fn empty_query_accepts_braces_and_empty() {
        let candidates = strings_to_sign("GET", "/v2/list/basic_services", "1", b"", &QueryParams::default());
        assert!(candidates.contains(&b"/v2/list/basic_services1{}".to_vec()));
        assert!(candidates.contains(&b"/v2/list/basic_services1".to_vec()));
        assert!(candidates.contains(&b"/cps/v2/list/basic_services1".to_vec()));
    }

    #[test]
    fn post_signs_raw_body() {
        let body = br#"{"numberService": "04140000001", "idTypeService": 57, "amount": 10}"#;
        let candidates = strings_to_sign("POST", "/cps/v2/operation/use/pay", "1", body, &QueryParams::default());
        let signature = sign(SECRET, &format!("/cps/v2/operation/use/pay1{}", std::str::from_utf8(body).unwrap()));
        assert!(signature_matches(SECRET, &candidates, &signature));
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        let candidates = vec![b"/v2/x1{}".to_vec()];
        let signature = sign(SECRET, "/v2/x1{}");
        assert!(signature_matches(SECRET, &candidates, &signature.to_ascii_uppercase()));
    }

    #[test]
    fn wrong_signatures_are_rejected() {
        let candidates = vec![b"/v2/x1{}".to_vec()];
        let signature = sign(SECRET, "/v2/x1{}");
        assert!(!signature_matches("other", &candidates, &signature));
        assert!(!signature_matches(SECRET, &candidates, "zz"));
        assert!(!signature_matches(SECRET, &candidates, &signature[..94]));
        assert!(!signature_matches(SECRET, &candidates, ""));
    }
}
