//! `GET /cps/v2/account`: the caller's float.

use axum::extract::State;
use axum::Json;
use cps_domain::Money;
use serde::Serialize;

use crate::auth::SignedRequest;
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountView {
    /// Available for new payments.
    account_balance: Money,
    /// Held by payments still pending; it returns to the balance if they are
    /// rejected.
    reserved: Money,
    currency: &'static str,
    queried_at: String,
}

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
