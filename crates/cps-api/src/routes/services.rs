//! `GET /cps/v2/list/basic_services`: the service catalog.

use axum::extract::State;
use axum::Json;
use cps_domain::{Money, Service};
use cps_i18n::Lang;
use serde::Serialize;

use super::openapi::{Amount, Problem, SignedRequestErrors};
use crate::auth::SignedRequest;
use crate::context::RequestContext;
use crate::problem::{ApiError, Message};
use crate::query;
use crate::state::AppState;

const CAN_GET_BALANCE: &str = "canGetBalance";

/// A basic service of the catalog.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceView {
    #[schema(example = 57)]
    id_type_service: i64,
    #[schema(example = "MOVISTAR_PREPAGO")]
    code: String,
    #[schema(example = "Movistar Prepago")]
    name: String,
    company: String,
    category: String,
    /// Whether `GET /cps/v2/operation/get/balance` supports this service.
    can_get_balance: bool,
    /// The smallest amount a payment may have.
    #[schema(value_type = Amount)]
    min_amount: Money,
    /// The largest amount a payment may have.
    #[schema(value_type = Amount)]
    max_amount: Money,
    #[schema(example = "VES")]
    currency: &'static str,
    /// The written form of subscriber numbers, in the request's language.
    number_format: String,
    /// The regular expression a normalized number must match.
    number_pattern: String,
    /// A disabled service rejects payments with `SERVICE_DISABLED`.
    enabled: bool,
}

/// List basic services
///
/// Lists the catalog, or with `canGetBalance=true` only the services whose
/// balance can be queried. The signature's PAYLOAD is the query as a JSON
/// object, such as `{"canGetBalance":false}` or `{"canGetBalance":"false"}`,
/// or `{}` (or the empty string) without a query.
#[utoipa::path(
    get,
    path = "/cps/v2/list/basic_services",
    operation_id = "listBasicServices",
    tag = "services",
    security(("api-key" = [], "api-nonce" = [], "api-signature" = [])),
    params(
        ("canGetBalance" = Option<bool>, Query, description = "`true` lists only services with a balance query; absent or `false` lists all."),
    ),
    responses(
        (status = 200, description = "The services, in catalog order.", body = Vec<ServiceView>),
        (status = 400, description = "A parameter is unknown, repeated or badly encoded, or `canGetBalance` is neither `true` nor `false` (code `INVALID_QUERY_PARAMETER`).", body = Problem, content_type = "application/problem+json"),
        SignedRequestErrors,
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    axum::Extension(context): axum::Extension<RequestContext>,
    request: SignedRequest,
) -> Result<Json<Vec<ServiceView>>, ApiError> {
    request.query.check(&[CAN_GET_BALANCE])?;
    let only_with_balance = match request.query.get(CAN_GET_BALANCE) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            let detail = Message::new("invalid-query-parameter-boolean").arg("field", CAN_GET_BALANCE);
            return Err(query::invalid(CAN_GET_BALANCE, detail));
        }
    };

    let services = state
        .catalog
        .current()
        .services()
        .iter()
        .filter(|service| !only_with_balance || service.can_get_balance)
        .map(|service| view(service, context.lang))
        .collect();
    Ok(Json(services))
}

fn view(service: &Service, lang: Lang) -> ServiceView {
    let number_format = match lang {
        Lang::Es => &service.rule.format_es,
        Lang::En => &service.rule.format_en,
    };
    ServiceView {
        id_type_service: service.id,
        code: service.code.clone(),
        name: service.name.clone(),
        company: service.company.clone(),
        category: service.category.clone(),
        can_get_balance: service.can_get_balance,
        min_amount: service.min_amount,
        max_amount: service.max_amount,
        currency: "VES",
        number_format: number_format.clone(),
        number_pattern: service.rule.pattern.as_str().to_string(),
        enabled: service.enabled,
    }
}
