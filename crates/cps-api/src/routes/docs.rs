//! The OpenAPI document and its interactive page, served without
//! authentication. The page's Swagger UI files are compiled into the binary,
//! so it works with no internet access. They come unmodified from the npm
//! package `swagger-ui-dist` 5.35.0 (Apache-2.0), kept with its license and
//! `package.json` in `assets/swagger-ui`.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

const DOCS_PAGE: &str = include_str!("../../assets/docs.html");
const SWAGGER_UI_BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

/// Assets change only with a new binary; an hour keeps reloads cheap without
/// holding an old page for long after an upgrade.
const ASSET_CACHE_CONTROL: &str = "public, max-age=3600";

/// OpenAPI document
///
/// This document, OpenAPI 3.1. No authentication.
#[utoipa::path(
    get,
    path = "/cps/v2/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "system",
    responses((status = 200, description = "The OpenAPI document of this API.", content_type = "application/json", body = Object)),
)]
pub(super) async fn openapi_json() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], super::openapi::document_json())
}

pub(super) async fn page() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], DOCS_PAGE)
}

pub(super) async fn swagger_ui_bundle() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, ASSET_CACHE_CONTROL)], SWAGGER_UI_BUNDLE)
}

pub(super) async fn swagger_ui_css() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, ASSET_CACHE_CONTROL)], SWAGGER_UI_CSS)
}
