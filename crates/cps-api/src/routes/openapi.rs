//! The OpenAPI 3.1 document of the API, generated from the handlers'
//! `#[utoipa::path]` annotations and the response types' `ToSchema` derives.
//!
//! To document a new endpoint:
//!
//! 1. Annotate its handler with `#[utoipa::path(...)]`, giving the full
//!    `/cps/v2/...` path (the `/v2` alias is described once, in the document's
//!    description), an `operation_id` and a `tag`. A handler that takes a
//!    `SignedRequest` also lists
//!    `security(("api-key" = [], "api-nonce" = [], "api-signature" = []))`
//!    and `SignedRequestErrors` among its responses. Every other status it can
//!    return gets its own row, with `body = Problem` and
//!    `content_type = "application/problem+json"` for errors.
//! 2. Add the handler to `paths(...)` in [`ApiDocument`].
//!
//! Response types derive `utoipa::ToSchema`; a `Money` field takes
//! `#[schema(value_type = Amount)]`. The API test
//! `every_documented_operation_is_routed` and `scripts/schemathesis` check
//! the document against the running server.

use std::sync::OnceLock;

use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::operation_view::OperationSchema;
use super::{account, balance, docs, health, metrics, operations, pay, services};

/// The regular expression of an amount in a response: a decimal string with
/// exactly 2 decimals.
const AMOUNT_PATTERN: &str = r"^-?[0-9]+\.[0-9]{2}$";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CPS — Core Payment Services",
        description = include_str!("openapi_description.md"),
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        pay::pay,
        operations::by_id,
        operations::by_reference,
        operations::history,
        account::account,
        balance::balance,
        services::list,
        health::live,
        health::ready,
        docs::openapi_json,
        metrics::metrics,
    ),
    modifiers(&SignatureHeaders, &ClosedRequestBodies),
    tags(
        (name = "payments", description = "Paying basic services from the client's float."),
        (name = "services", description = "The service catalog and subscriber balances."),
        (name = "system", description = "Health checks and this document; no signature needed."),
    ),
)]
pub(crate) struct ApiDocument;

/// Serializes the document once and returns the bytes the server sends.
pub(crate) fn document_json() -> &'static [u8] {
    static DOCUMENT: OnceLock<Vec<u8>> = OnceLock::new();
    DOCUMENT.get_or_init(|| ApiDocument::openapi().to_json().expect("the OpenAPI document serializes").into_bytes())
}

/// Declares the three signing headers as API-key security schemes. A signed
/// operation requires all three in one requirement:
/// `security(("api-key" = [], "api-nonce" = [], "api-signature" = []))`.
struct SignatureHeaders;

impl Modify for SignatureHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let headers = [
            ("api-key", "The client's public key, as `cps client create` prints it."),
            (
                "api-nonce",
                "Unix time of the request in milliseconds (13 decimal digits), within 5 minutes of the server \
                 clock by default. Each (api-key, api-nonce, api-signature) is accepted once.",
            ),
            (
                "api-signature",
                "Hex HMAC-SHA384, keyed with the client's secret, of PATH + NONCE + PAYLOAD. PAYLOAD is the raw \
                 request body, or for a GET the query parameters as a JSON object in URL order (`{}` or the empty \
                 string when there are none). See the document's description for the details.",
            ),
        ];
        for (name, description) in headers {
            let scheme = SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, description)));
            components.add_security_scheme(name, scheme);
        }
    }
}

/// Marks request bodies as closed objects: the server rejects unknown members
/// with a 400 `UNKNOWN_FIELD`.
struct ClosedRequestBodies;

impl Modify for ClosedRequestBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for name in [pay::PayRequest::name()] {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name.as_ref()) {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

/// A response amount: a decimal string with exactly 2 decimals, such as
/// `"10.00"`.
pub(super) struct Amount;

impl utoipa::PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some(AMOUNT_PATTERN))
            .description(Some("Bolívares (VES) as a decimal string with exactly 2 decimals."))
            .examples([serde_json::json!("10.00")])
            .into()
    }
}

impl ToSchema for Amount {}

/// The status of an operation, as `cps_domain::OperationStatus::as_str`
/// writes it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum OperationStatusName {
    Pending,
    Approved,
    Rejected,
    Refunded,
}

/// An error, as an RFC 9457 problem document (`application/problem+json`).
/// Members other than those listed here may appear, as the code requires.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub(super) struct Problem {
    /// `urn:cps:problem:` followed by the code in lower case.
    #[schema(example = "urn:cps:problem:invalid_amount")]
    r#type: String,
    /// A short summary of the code, in the request's language.
    title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// The explanation of the failure, in the request's language.
    detail: String,
    /// A stable upper-case code, such as `INVALID_AMOUNT`.
    #[schema(pattern = "^[A-Z_]+$", example = "INVALID_AMOUNT")]
    code: String,
    /// The id this request's log lines carry; also in the `x-request-id`
    /// header.
    #[schema(example = "req_01JEZ4Q7M2X9K3V8T6R5N1B0CD")]
    request_id: String,
    /// The faulty fields; empty when no field is at fault.
    errors: Vec<ProblemField>,
    /// `INVALID_SIGNATURE` only: every PATH + NONCE + PAYLOAD string the
    /// server tried.
    string_to_sign: Option<Vec<String>>,
    /// `NONCE_OUT_OF_WINDOW` only: the server clock in Unix milliseconds.
    server_time: Option<i64>,
    /// `PROVIDER_REJECTED` only: the rejected operation, with the float
    /// restored.
    operation: Option<OperationSchema>,
    /// `INSUFFICIENT_FUNDS` only: the client's available float.
    #[schema(value_type = Option<Amount>)]
    account_balance: Option<String>,
}

/// One faulty field of a request.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ProblemField {
    /// The field or query parameter at fault, such as `amount`; empty when
    /// the whole query string is at fault.
    field: String,
    /// A stable upper-case code, such as `INVALID_AMOUNT`.
    code: String,
    /// The explanation of the field's fault, in the request's language.
    message: String,
}

/// Errors every signed endpoint can return, before or around its own checks.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub(super) enum SignedRequestErrors {
    /// The credentials are missing, unknown or disabled, the nonce is not Unix
    /// milliseconds, out of the window or already used, or the signature does
    /// not match (codes `MISSING_CREDENTIALS`, `INVALID_CREDENTIALS`,
    /// `INVALID_NONCE`, `NONCE_OUT_OF_WINDOW`, `NONCE_REUSED`,
    /// `INVALID_SIGNATURE`).
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The body did not arrive in full within the server's body timeout (10 s
    /// by default), code `REQUEST_TIMEOUT`; the server closes the connection.
    #[response(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Problem),
    /// The body is larger than the limit (16 KiB by default), code
    /// `PAYLOAD_TOO_LARGE`.
    #[response(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Problem),
    /// The client sent more requests than its rate limit allows, code
    /// `RATE_LIMITED`. Retry after `Retry-After` seconds with a new nonce and
    /// signature.
    #[response(
        status = 429,
        content_type = "application/problem+json",
        headers(("retry-after" = u64, description = "Seconds to wait before retrying."))
    )]
    RateLimited(Problem),
    /// An internal failure, code `INTERNAL_ERROR`; the detail carries only the
    /// request id.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::from_slice(document_json()).unwrap()
    }

    #[test]
    fn document_is_openapi_3_1() {
        let document = document();
        assert!(document["openapi"].as_str().unwrap().starts_with("3.1."), "{}", document["openapi"]);
    }

    #[test]
    fn signed_operations_name_all_three_headers() {
        let document = document();
        for path in ["/cps/v2/operation/use/pay", "/cps/v2/operation/get/balance", "/cps/v2/list/basic_services"] {
            let operation = document["paths"][path].as_object().unwrap().values().next().unwrap();
            let requirement = &operation["security"][0];
            for header in ["api-key", "api-nonce", "api-signature"] {
                assert!(requirement.get(header).is_some(), "{path} lacks {header}: {requirement}");
            }
        }
    }

    #[test]
    fn status_names_match_the_domain() {
        let document = document();
        let names: Vec<&str> = document["components"]["schemas"]["OperationStatusName"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap())
            .collect();
        for status in [
            cps_domain::OperationStatus::Pending,
            cps_domain::OperationStatus::Approved,
            cps_domain::OperationStatus::Rejected,
            cps_domain::OperationStatus::Refunded,
        ] {
            assert!(names.contains(&status.as_str()), "{} missing from {names:?}", status.as_str());
        }
        assert_eq!(names.len(), 4);
    }

    #[test]
    fn pay_request_lists_the_handler_fields() {
        let document = document();
        let schema = &document["components"]["schemas"]["PayRequest"];
        let mut documented: Vec<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut accepted = pay::FIELDS.to_vec();
        documented.sort_unstable();
        accepted.sort_unstable();
        assert_eq!(documented, accepted);
        assert_eq!(schema["additionalProperties"], false);
    }
}
