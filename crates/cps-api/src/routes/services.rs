//! `GET /cps/v2/list/basic_services`: the service catalog.

use axum::extract::State;
use axum::Json;
use cps_domain::{Money, Service};
use cps_i18n::Lang;
use serde::Serialize;

use crate::auth::SignedRequest;
use crate::context::RequestContext;
use crate::problem::{ApiError, Message};
use crate::query;
use crate::state::AppState;

const CAN_GET_BALANCE: &str = "canGetBalance";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceView {
    id_type_service: i64,
    code: String,
    name: String,
    company: String,
    category: String,
    can_get_balance: bool,
    min_amount: Money,
    max_amount: Money,
    currency: &'static str,
    number_format: String,
    number_pattern: String,
    enabled: bool,
}

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
