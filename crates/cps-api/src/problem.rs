//! API errors as RFC 9457 problem documents.
//!
//! Handlers return an [`ApiError`] naming the outcome; the request-context
//! middleware renders it in the request's language, with the request id. A
//! 5xx never carries internal detail: the cause is logged, not sent.

use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cps_i18n::{message, Lang};
use serde_json::{json, Map, Value};

use crate::context::RequestContext;
use crate::rate_limit::RateLimit;

/// A message key with its arguments, formatted in the request's language.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    key: &'static str,
    args: Vec<(&'static str, ArgValue)>,
}

/// A message argument: literal text, or another message formatted in the
/// same language (such as `expected-string`).
#[derive(Clone, Debug)]
enum ArgValue {
    Text(String),
    Message(&'static str),
    PerLanguage { es: String, en: String },
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message { key, args: Vec::new() }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Message {
        self.args.push((name, ArgValue::Text(value.to_string())));
        self
    }

    pub fn arg_message(mut self, name: &'static str, key: &'static str) -> Message {
        self.args.push((name, ArgValue::Message(key)));
        self
    }

    /// An argument whose text comes from data in both languages, such as a
    /// service's number format from the catalog.
    pub fn arg_per_language(mut self, name: &'static str, es: &str, en: &str) -> Message {
        self.args.push((name, ArgValue::PerLanguage { es: es.to_string(), en: en.to_string() }));
        self
    }

    fn format(&self, lang: Lang) -> String {
        let values: Vec<(&str, String)> = self
            .args
            .iter()
            .map(|(name, value)| match value {
                ArgValue::Text(text) => (*name, text.clone()),
                ArgValue::Message(key) => (*name, message(lang, key, &[])),
                ArgValue::PerLanguage { es, en } => (*name, if lang == Lang::En { en.clone() } else { es.clone() }),
            })
            .collect();
        let args: Vec<cps_i18n::Arg<'_>> = values.iter().map(|(name, value)| (*name, value.as_str().into())).collect();
        message(lang, self.key, &args)
    }
}

/// One faulty field of a request.
#[derive(Clone, Debug)]
pub(crate) struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: Message,
}

/// An error response: status, stable code, localized detail, and the faulty
/// fields.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: Message,
    errors: Vec<FieldError>,
    /// Extra members of the problem document (`stringToSign`, `operation`).
    members: Map<String, Value>,
    /// The `Retry-After` header of a 429, in seconds. A plain number rather
    /// than a header list keeps this type small, because every fallible step
    /// of a request returns it.
    retry_after_secs: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: Message) -> ApiError {
        ApiError { status, code, detail, errors: Vec::new(), members: Map::new(), retry_after_secs: None }
    }

    /// An error about one field: the field entry repeats the detail.
    pub fn for_field(status: StatusCode, code: &'static str, field: &str, detail: Message) -> ApiError {
        let mut error = ApiError::new(status, code, detail.clone());
        error.errors.push(FieldError { field: field.to_string(), code, message: detail });
        error
    }

    /// A 422 for several faulty fields; the first one names the whole error.
    pub fn unprocessable(faults: Vec<FieldError>) -> ApiError {
        let first = faults.first().expect("an unprocessable request has at least one fault").clone();
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, first.code, first.message);
        error.errors = faults;
        error
    }

    pub fn with_member(mut self, name: &str, value: Value) -> ApiError {
        self.members.insert(name.to_string(), value);
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            Message::new("payload-too-large-detail").arg("limit", limit),
        )
    }

    /// Builds the 408 for a body that did not arrive in full within `waited`.
    /// The connection is closed because the rest of the body may still come.
    pub fn request_timeout(waited: std::time::Duration) -> ApiError {
        tracing::info!(waited_ms = waited.as_millis() as u64, "request body did not arrive in time");
        let detail = Message::new("request-timeout-detail").arg("seconds", waited.as_secs_f64());
        ApiError::new(StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT", detail)
    }

    pub fn not_found(path: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", Message::new("not-found-detail").arg("path", path))
    }

    pub fn method_not_allowed(method: &str, path: &str) -> ApiError {
        let detail = Message::new("method-not-allowed-detail").arg("method", method).arg("path", path);
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", detail)
    }

    pub fn unauthorized(code: &'static str, detail: Message) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn bad_request(code: &'static str, field: &str, detail: Message) -> ApiError {
        ApiError::for_field(StatusCode::BAD_REQUEST, code, field, detail)
    }

    /// Builds a 429 for a client over its rate limit, with `Retry-After` in whole
    /// seconds.
    pub fn rate_limited(limit: RateLimit, retry_after_secs: u32) -> ApiError {
        let per_second = Duration::from_secs(1).as_nanos() / limit.refill_interval.as_nanos().max(1);
        let detail = Message::new("rate-limited-detail")
            .arg("perSecond", per_second)
            .arg("burst", limit.burst)
            .arg("retryAfter", retry_after_secs);
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", detail);
        error.retry_after_secs = Some(retry_after_secs);
        error
    }

    /// Logs an internal failure with its cause chain and hides it from the
    /// client.
    pub fn internal(error: anyhow::Error) -> ApiError {
        tracing::error!(error = format!("{error:#}"), "request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", Message::new("internal-error-detail"))
    }

    /// Builds the problem+json response in the request's language.
    pub fn render(&self, context: &RequestContext) -> Response {
        let lang = context.lang;
        let title_key = format!("{}-title", self.code.to_ascii_lowercase().replace('_', "-"));
        let detail = match self.code {
            "INTERNAL_ERROR" => self.detail.clone().arg("requestId", &context.request_id),
            _ => self.detail.clone(),
        };
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|error| json!({"field": error.field, "code": error.code, "message": error.message.format(lang)}))
            .collect();

        let mut document = Map::new();
        document.insert("type".into(), json!(format!("urn:cps:problem:{}", self.code.to_ascii_lowercase())));
        document.insert("title".into(), json!(message(lang, &title_key, &[])));
        document.insert("status".into(), json!(self.status.as_u16()));
        document.insert("detail".into(), json!(detail.format(lang)));
        document.insert("code".into(), json!(self.code));
        document.insert("requestId".into(), json!(context.request_id));
        document.insert("errors".into(), Value::Array(errors));
        for (name, value) in &self.members {
            document.insert(name.clone(), value.clone());
        }

        let body = serde_json::to_vec(&Value::Object(document)).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Handlers return the error as a bare status plus the error itself in the
/// response extensions; the middleware renders it once the language and
/// request id are at hand.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}
