//! Request authentication: credentials, the nonce window, the signature
//! (whose rules live in `cps-signing`) and replay protection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use cps_signing::{signature_matches, strings_to_sign};
use cps_store::{ClientRecord, NonceRecord};
use serde_json::json;

use crate::problem::{ApiError, Message};
use crate::query::QueryParams;
use crate::state::AppState;

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
        let (parts, body, query) = read_request(request, state).await?;

        let (client, nonce) = verify(state, &parts, &body, &query).await?;
        if !nonce_is_new(state, &nonce).await? {
            return Err(nonce_reused());
        }
        tracing::Span::current().record("client_id", client.id.as_str());
        check_rate_limit(state, &client)?;

        Ok(SignedRequest { client, headers: parts.headers, body, query })
    }
}

/// An authenticated request whose nonce is not recorded yet. The pay route
/// writes it in the same commit as the reservation, so a payment waits for
/// one commit less. Every path that ends before the reservation must call
/// [`UnrecordedRequest::record_nonce`] first.
pub(crate) struct UnrecordedRequest {
    pub request: SignedRequest,
    pub nonce: NonceRecord,
}

impl FromRequest<AppState> for UnrecordedRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<UnrecordedRequest, ApiError> {
        let (parts, body, query) = read_request(request, state).await?;

        let (client, nonce) = verify(state, &parts, &body, &query).await?;
        tracing::Span::current().record("client_id", client.id.as_str());
        check_rate_limit(state, &client)?;

        let request = SignedRequest { client, headers: parts.headers, body, query };
        Ok(UnrecordedRequest { request, nonce })
    }
}

impl UnrecordedRequest {
    /// Records the nonce on its own, for a request that ends before the
    /// reservation. A replay gets 401 `NONCE_REUSED` instead of the request's
    /// own error, as the check order requires.
    pub async fn record_nonce(&self, state: &AppState) -> Result<(), ApiError> {
        if !nonce_is_new(state, &self.nonce).await? {
            return Err(self.replayed(state));
        }
        Ok(())
    }

    /// Builds the 401 for a replay and gives back the rate-limit token the
    /// request took, so replays spend no budget.
    pub fn replayed(&self, state: &AppState) -> ApiError {
        if let Some(limiter) = &state.rate_limiter {
            limiter.give_back(self.request.client.id.as_str());
        }
        nonce_reused()
    }
}

/// Reads the body, under the size limit and the body timeout, and the query.
async fn read_request(request: Request, state: &AppState) -> Result<(Parts, Bytes, QueryParams), ApiError> {
    let (parts, body) = request.into_parts();
    // A client that declares more bytes than it sends would otherwise hold
    // the connection open for as long as it likes.
    let body = tokio::time::timeout(state.body_read_timeout, axum::body::to_bytes(body, state.body_limit_bytes))
        .await
        .map_err(|_elapsed| ApiError::request_timeout(state.body_read_timeout))?
        .map_err(|error| body_read_error(&error, state.body_limit_bytes))?;
    let query = QueryParams::parse(parts.uri.query());
    Ok((parts, body, query))
}

/// Records a request's nonce and returns false when it was recorded before,
/// which makes the request a replay.
async fn nonce_is_new(state: &AppState, nonce: &NonceRecord) -> Result<bool, ApiError> {
    state
        .store
        .record_nonce(&nonce.api_key, &nonce.nonce, &nonce.signature, nonce.seen_at_ms)
        .await
        .map_err(|error| ApiError::internal(error.into()))
}

fn nonce_reused() -> ApiError {
    ApiError::unauthorized("NONCE_REUSED", Message::new("nonce-reused-detail"))
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

/// Checks the credentials, the nonce's window and the signature, and returns
/// the client with the request's replay record, not yet written.
async fn verify(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
    query: &QueryParams,
) -> Result<(ClientRecord, NonceRecord), ApiError> {
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
    let candidates = strings_to_sign(parts.method.as_str(), path, credentials.nonce, body, query.for_signature());
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
    let nonce = NonceRecord {
        api_key: credentials.api_key.to_string(),
        nonce: credentials.nonce.to_string(),
        signature: credentials.signature.to_ascii_lowercase(),
        seen_at_ms: now_ms,
    };
    Ok((client, nonce))
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
