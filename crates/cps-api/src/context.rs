//! Per-request context: request id, language, tracing span, and rendering of
//! every error as problem+json in the request's language.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header::{CONTENT_LANGUAGE, CONTENT_LENGTH};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cps_i18n::Lang;
use tracing::Instrument;

use crate::metrics::{Metrics, UNMATCHED_ROUTE};
use crate::problem::ApiError;

/// The header that carries the request id in every response.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Clone, Debug)]
pub(crate) struct RequestContext {
    pub request_id: String,
    pub lang: Lang,
}

/// Wraps every request: assigns its id and language, refuses a declared body
/// over the limit before reading it, opens its span, renders errors, and
/// counts the request in the metrics.
pub(crate) async fn with_request_context(
    body_limit_bytes: usize,
    metrics: Metrics,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let context = RequestContext {
        request_id: format!("req_{}", ulid::Ulid::new()),
        lang: Lang::from_accept_language(
            request.headers().get("accept-language").and_then(|value| value.to_str().ok()),
        ),
    };
    request.extensions_mut().insert(context.clone());

    // The query string is left out of the span: it can carry a subscriber
    // number. The client and operation ids are recorded once known.
    let span = tracing::info_span!(
        "request",
        request_id = %context.request_id,
        method = %request.method(),
        path = %request.uri().path(),
        client_id = tracing::field::Empty,
        operation_id = tracing::field::Empty,
    );
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let route = request.extensions().get::<MatchedPath>().map(|matched| matched.as_str().to_string());

    let response = if declared_length(&request).is_some_and(|length| length > body_limit_bytes as u64) {
        ApiError::payload_too_large(body_limit_bytes).into_response()
    } else {
        next.run(request).instrument(span.clone()).await
    };

    let code = response.extensions().get::<std::sync::Arc<ApiError>>().map(|error| error.code());
    let mut response = render_problem(response, &context, &method, &path);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&context.request_id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(context.lang.tag()));

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics.record_request(&method, route.as_deref().unwrap_or(UNMATCHED_ROUTE), status, elapsed);
    if status == StatusCode::REQUEST_TIMEOUT.as_u16() {
        response.headers_mut().insert(axum::http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    // The code shows an operator which 4xx it was, such as a bad signature
    // rather than a stale nonce.
    let code = code.unwrap_or("-");
    span.in_scope(|| tracing::info!(status, code, duration_ms = elapsed.as_millis() as u64, "request finished"));
    response
}

fn declared_length(request: &Request) -> Option<u64> {
    request.headers().get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Replaces the body of an error response with its problem+json document.
/// A 405 from the router carries no error of ours, so it gets one here.
fn render_problem(response: Response, context: &RequestContext, method: &axum::http::Method, path: &str) -> Response {
    if let Some(error) = response.extensions().get::<std::sync::Arc<ApiError>>().cloned() {
        let mut rendered = error.render(context);
        // Keep headers a handler set, such as Idempotent-Replayed.
        for (name, value) in response.headers() {
            if name != axum::http::header::CONTENT_TYPE && name != CONTENT_LENGTH {
                rendered.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return rendered;
    }
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let mut rendered = ApiError::method_not_allowed(method.as_str(), path).render(context);
        if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
            rendered.headers_mut().insert(axum::http::header::ALLOW, allow.clone());
        }
        return rendered;
    }
    response
}
