//! Request signing: `api-signature` is the hex HMAC-SHA384, keyed with the
//! client's secret, of PATH + NONCE + PAYLOAD.
//!
//! PATH is the path as received, without `/cps`, or with `/cps` added (a
//! gateway in front may strip the prefix the client signed). PAYLOAD is the raw
//! body of a POST, or for a GET the query as `JSON.stringify` would write it,
//! with string or typed values; `{}` and the empty string both stand for no
//! query.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use cps_store::ClientRecord;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha384;

use crate::problem::{ApiError, Message};
use crate::query::QueryParams;
use crate::state::AppState;

/// The prefix a gateway in front of CPS strips from public paths.
const GATEWAY_PREFIX: &str = "/cps";

/// Digits of a Unix time in milliseconds, from 2001 until 2286.
const MILLISECOND_DIGITS: usize = 13;

/// An authenticated request: the client, its raw body, and its query.
pub(crate) struct SignedRequest {
    pub client: ClientRecord,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub query: QueryParams,
}

impl FromRequest<AppState> for SignedRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<SignedRequest, ApiError> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, state.body_limit_bytes)
            .await
            .map_err(|error| body_read_error(&error, state.body_limit_bytes))?;
        let query = QueryParams::parse(parts.uri.query());

        let client = authenticate(state, &parts, &body, &query).await?;
        tracing::Span::current().record("client_id", client.id.as_str());
        check_rate_limit(state, &client)?;

        Ok(SignedRequest { client, headers: parts.headers, body, query })
    }
}

/// Takes a token from the client's bucket. It runs only after the signature
/// and the nonce are accepted, so neither a forged request nor a replayed one
/// spends a real client's budget. A rejected request has used its nonce.
fn check_rate_limit(state: &AppState, client: &ClientRecord) -> Result<(), ApiError> {
    let Some(limiter) = &state.rate_limiter else {
        return Ok(());
    };
    limiter.acquire(client.id.as_str(), std::time::Instant::now()).map_err(|wait| {
        let retry_after_secs = crate::rate_limit::retry_after_secs(wait);
        tracing::info!(retry_after_secs, "client over its rate limit");
        ApiError::rate_limited(limiter.limit(), retry_after_secs)
    })
}

/// A body over the limit is a 413. Any other read failure, such as a client
/// that closes before sending its declared `Content-Length`, is a 400.
fn body_read_error(error: &axum::Error, limit: usize) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return ApiError::payload_too_large(limit);
        }
        source = current.source();
    }
    tracing::info!(error = %error, "request body could not be read");
    ApiError::new(StatusCode::BAD_REQUEST, "MALFORMED_JSON", Message::new("malformed-json-incomplete"))
}

struct Credentials<'a> {
    api_key: &'a str,
    nonce: &'a str,
    signature: &'a str,
}

async fn authenticate(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
    query: &QueryParams,
) -> Result<ClientRecord, ApiError> {
    let credentials = read_credentials(&parts.headers)?;
    let now_ms = cps_store::now_ms();
    check_nonce(credentials.nonce, now_ms, state.nonce_window.as_millis() as i64)?;

    let client = state
        .store
        .find_client_by_api_key(credentials.api_key)
        .await
        .map_err(|error| ApiError::internal(error.into()))?
        .filter(|client| client.enabled)
        .ok_or_else(|| ApiError::unauthorized("INVALID_CREDENTIALS", Message::new("invalid-credentials-detail")))?;

    // Inside a nested router `parts.uri` has lost its prefix; the signature
    // covers the path the client sent.
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|original| original.0.path())
        .unwrap_or_else(|| parts.uri.path());
    let candidates = strings_to_sign(&parts.method, path, credentials.nonce, body, query);
    // During a rotation's grace period the previous secret works too.
    let signed = client
        .accepted_secrets(now_ms)
        .iter()
        .any(|secret| signature_matches(secret, &candidates, credentials.signature));
    if !signed {
        // Shown as text; a body that is not UTF-8 shows replacement characters
        // here but was signed as raw bytes.
        let shown: Vec<String> =
            candidates.iter().map(|candidate| String::from_utf8_lossy(candidate).into_owned()).collect();
        let detail = Message::new("invalid-signature-detail");
        return Err(ApiError::unauthorized("INVALID_SIGNATURE", detail).with_member("stringToSign", json!(shown)));
    }

    // Recorded only after the signature holds, so unsigned traffic cannot
    // fill the table. Lower-case makes an upper-case resend the same replay.
    let signature = credentials.signature.to_ascii_lowercase();
    let first_time = state
        .store
        .record_nonce(credentials.api_key, credentials.nonce, &signature, now_ms)
        .await
        .map_err(|error| ApiError::internal(error.into()))?;
    if !first_time {
        return Err(ApiError::unauthorized("NONCE_REUSED", Message::new("nonce-reused-detail")));
    }
    Ok(client)
}

fn read_credentials(headers: &HeaderMap) -> Result<Credentials<'_>, ApiError> {
    let read = |name: &'static str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "MISSING_CREDENTIALS",
                    Message::new("missing-credentials-detail").arg("header", name),
                )
            })
    };
    Ok(Credentials { api_key: read("api-key")?, nonce: read("api-nonce")?, signature: read("api-signature")? })
}

/// Checks that the nonce is Unix time in milliseconds within the window. The
/// common unit mistakes get their own message.
fn check_nonce(nonce: &str, now_ms: i64, window_ms: i64) -> Result<(), ApiError> {
    let invalid = |key: &'static str| {
        let detail = Message::new(key).arg("nonce", nonce).arg("serverTime", now_ms);
        ApiError::unauthorized("INVALID_NONCE", detail)
    };

    if !nonce.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid("invalid-nonce-digits"));
    }
    match nonce.len() {
        MILLISECOND_DIGITS => {}
        10 => return Err(invalid("invalid-nonce-seconds")),
        16 => return Err(invalid("invalid-nonce-microseconds")),
        19 => return Err(invalid("invalid-nonce-nanoseconds")),
        _ => return Err(invalid("invalid-nonce-length")),
    }

    let nonce_ms: i64 = nonce.parse().map_err(|_| invalid("invalid-nonce-digits"))?;
    let skew_ms = (nonce_ms - now_ms).abs();
    if skew_ms > window_ms {
        let detail = Message::new("nonce-out-of-window-detail")
            .arg("nonce", nonce)
            .arg("skewSeconds", skew_ms / 1000)
            .arg("serverTime", now_ms)
            .arg("serverTimeIso", cps_domain::format_ms(now_ms))
            .arg("windowSeconds", window_ms / 1000);
        return Err(ApiError::unauthorized("NONCE_OUT_OF_WINDOW", detail).with_member("serverTime", json!(now_ms)));
    }
    Ok(())
}

/// Every PATH + NONCE + PAYLOAD byte string the server accepts for this
/// request. A POST body is taken as the raw bytes received, never decoded.
fn strings_to_sign(method: &Method, path: &str, nonce: &str, body: &[u8], query: &QueryParams) -> Vec<Vec<u8>> {
    let mut paths = vec![path.to_string()];
    match path.strip_prefix(GATEWAY_PREFIX) {
        Some(stripped) if stripped.starts_with('/') => paths.push(stripped.to_string()),
        _ => paths.push(format!("{GATEWAY_PREFIX}{path}")),
    }

    let payloads = if *method == Method::GET || *method == Method::HEAD {
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
fn signature_matches(secret: &str, candidates: &[Vec<u8>], signature_hex: &str) -> bool {
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
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::POST);
    let candidates = strings_to_sign(&method, path, nonce, body, &QueryParams::parse(query));
    signature_matches(secret, &candidates, signature_hex)
}

/// Computes the lowercase hex signature of `string_to_sign`, as clients do.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha384>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Requires a JSON body: `application/json`, with any parameters.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let media_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    if media_type.as_deref() == Some("application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        Message::new("unsupported-media-type-detail"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t";

    #[test]
    fn both_path_forms_are_candidates() {
        let query = QueryParams::parse(Some("canGetBalance=false"));
        let candidates = strings_to_sign(&Method::GET, "/cps/v2/list/basic_services", "1733340389123", b"", &query);
        assert!(candidates.contains(&br#"/v2/list/basic_services1733340389123{"canGetBalance":false}"#.to_vec()));
        assert!(candidates.contains(&br#"/cps/v2/list/basic_services1733340389123{"canGetBalance":"false"}"#.to_vec()));
    }

    #[test]
    fn empty_query_accepts_braces_and_empty() {
        let candidates = strings_to_sign(&Method::GET, "/v2/list/basic_services", "1", b"", &QueryParams::default());
        assert!(candidates.contains(&b"/v2/list/basic_services1{}".to_vec()));
        assert!(candidates.contains(&b"/v2/list/basic_services1".to_vec()));
        assert!(candidates.contains(&b"/cps/v2/list/basic_services1".to_vec()));
    }

    #[test]
    fn post_signs_raw_body() {
        let body = br#"{"numberService": "04140000001", "idTypeService": 57, "amount": 10}"#;
        let candidates =
            strings_to_sign(&Method::POST, "/cps/v2/operation/use/pay", "1", body, &QueryParams::default());
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

    #[test]
    fn nonce_problems_are_named() {
        let now = 1_733_340_389_123;
        let window = 300_000;
        let cases = [
            ("abc", "INVALID_NONCE"),
            ("1e12", "INVALID_NONCE"),
            ("1733340389", "INVALID_NONCE"),
            ("1733340389123456", "INVALID_NONCE"),
            ("-1733340389123", "INVALID_NONCE"),
            ("1733339969123", "NONCE_OUT_OF_WINDOW"),
            ("1733340809123", "NONCE_OUT_OF_WINDOW"),
        ];
        for (nonce, code) in cases {
            assert_eq!(check_nonce(nonce, now, window).unwrap_err().code(), code, "nonce {nonce}");
        }
        assert!(check_nonce("1733340089123", now, window).is_ok());
    }
}
