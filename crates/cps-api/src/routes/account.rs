//! `GET /cps/v2/account`: the caller's float.

use axum::extract::State;
use axum::Json;
use cps_domain::Money;
use serde::Serialize;

use super::openapi::{Amount, Problem, SignedRequestErrors};
use crate::auth::SignedRequest;
use crate::problem::ApiError;
use crate::state::AppState;

/// The client's float.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountView {
    /// Available for new payments.
    #[schema(value_type = Amount)]
    account_balance: Money,
    /// Held by payments still pending; it returns to the balance if they are
    /// rejected.
    #[schema(value_type = Amount)]
    reserved: Money,
    #[schema(example = "VES")]
    currency: &'static str,
    #[schema(format = DateTime)]
    queried_at: String,
}

/// Returns the client's available float and the amount its pending payments
/// hold.
#[utoipa::path(
    get,
    path = "/cps/v2/account",
    operation_id = "getAccount",
    tag = "payments",
    security(("api-key" = [], "api-nonce" = [], "api-signature" = [])),
    responses(
        (status = 200, description = "The client's available float and the amount reserved by pending payments.", body = AccountView),
        (status = 400, description = "A query parameter was sent; this endpoint takes none (code `INVALID_QUERY_PARAMETER`).", body = Problem, content_type = "application/problem+json"),
        SignedRequestErrors,
    ),
)]
pub(super) async fn account(
    State(state): State<AppState>,
    request: SignedRequest,
) -> Result<Json<AccountView>, ApiError> {
    request.query.check(&[])?;

    let (float, reserved) =
        state.store.client_account(&request.client.id).await.map_err(|error| ApiError::internal(error.into()))?;

    Ok(Json(AccountView {
        account_balance: float,
        reserved,
        currency: "VES",
        queried_at: cps_domain::format_ms(cps_store::now_ms()),
    }))
}
