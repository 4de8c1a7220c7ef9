//! The read-only JSON API under /api/v1, for other provincial systems: published results and
//! published index sets, with its OpenAPI document. No login: it serves only what is public
//! (published periods, published sets); anything else answers 404 with a JSON error.

use crate::routes::table::Routes;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parindex_store::index_sets::StoredIndexSet;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::WebError;
use crate::extract::Path;
use crate::views::open_data::open_data_json;
use parindex_app::results::{Audience, PeriodResults};

/// An API error: its status and a JSON body `{"error": "…"}`; 500s are logged, not detailed.
pub struct ApiError(WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        ApiError(e)
    }
}

impl From<parindex_store::StoreError> for ApiError {
    fn from(e: parindex_store::StoreError) -> Self {
        ApiError(WebError::from(e))
    }
}

impl From<parindex_app::AppError> for ApiError {
    fn from(e: parindex_app::AppError) -> Self {
        ApiError(WebError::from(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self.0 {
            WebError::NotFound => (StatusCode::NOT_FOUND, "Không tìm thấy.".to_owned()),
            WebError::Internal(detail) => {
                tracing::error!(%detail, "api error");
                (StatusCode::INTERNAL_SERVER_ERROR, "Lỗi máy chủ.".to_owned())
            }
            other => (other.status(), other.message(crate::i18n::Lang::default())),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// `GET /api/v1/periods`: the published periods.
pub async fn periods(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for p in state.published_periods().await? {
        out.push(json!({
            "id": p.id,
            "year": p.year,
            "name": p.name,
            "decision_number": p.decision_number,
            "decision_date": p.decision_date,
            "results": format!("/api/v1/periods/{}/results", p.id),
        }));
    }
    Ok(Json(json!({ "periods": out })))
}

/// `GET /api/v1/periods/{id}/results`: the published results of a period.
pub async fn period_results(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let r = PeriodResults::load(&state, id, Audience::Public).await?;
    Ok(Json(open_data_json(&r)))
}

fn set_summary(s: &StoredIndexSet) -> Value {
    json!({
        "id": s.id,
        "code": s.code,
        "year": s.year,
        "unit_group": s.unit_group,
        "title": s.title,
        "illustrative": s.illustrative,
        "node_count": s.node_count,
        "href": format!("/api/v1/index-sets/{}", s.id),
    })
}

/// `GET /api/v1/index-sets`: the published index sets.
pub async fn index_sets(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let sets: Vec<Value> = state
        .published_index_sets()
        .await?
        .iter()
        .map(set_summary)
        .collect();
    Ok(Json(json!({ "index_sets": sets })))
}

/// `GET /api/v1/index-sets/{id}`: a published set with its whole tree.
pub async fn index_set(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let s = state.published_index_set(id).await?;
    let definition: Value = serde_json::from_str(&s.definition)
        .map_err(|e| ApiError(WebError::Internal(e.to_string())))?;
    let mut body = set_summary(&s);
    body["definition"] = definition;
    Ok(Json(body))
}

/// `GET /api/v1/openapi.json`: the OpenAPI 3.0 document of this API.
pub async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The OpenAPI document, kept beside the handlers it describes.
pub fn openapi_document() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let not_found = json!({
        "description": "Không tìm thấy (hoặc chưa công bố)",
        "content": { "application/json": { "schema": error } }
    });
    let id_param = json!({
        "name": "id", "in": "path", "required": true,
        "schema": { "type": "integer", "format": "int64" }
    });
    let decimal = json!({ "type": "string", "description": "Số thập phân chính xác, dấu chấm thập phân", "example": "61.5" });
    // Apart from the document: one macro call this deep exceeds json!'s recursion limit.
    let criteria = json!({ "type": "array", "description": "Lĩnh vực và tiêu chí, cả tiêu chí chấm điểm trực tiếp (không có tiêu chí thành phần); không gồm tiêu chí thành phần; theo thứ tự của bộ chỉ số", "items": { "type": "object", "properties": {
        "code": { "type": "string" }, "achieved": decimal.clone(), "applicable_max": decimal.clone(),
        "sub_index": { "type": "string", "nullable": true, "description": "Điểm đạt ÷ điểm tối đa áp dụng × 100, 2 chữ số thập phân" }
    } } });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "parindex API",
            "version": "1.0.0",
            "description": "API chỉ đọc: kết quả Chỉ số CCHC đã công bố và các bộ chỉ số đã ban hành. Read-only: published PAR Index results and published index sets."
        },
        "paths": {
            "/api/v1/openapi.json": { "get": {
                "summary": "Tài liệu OpenAPI này",
                "operationId": "openapi",
                "responses": { "200": { "description": "OK", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["openapi", "info", "paths"]
                } } } } }
            } },
            "/api/v1/periods": { "get": {
                "summary": "Các kỳ đánh giá đã công bố kết quả",
                "operationId": "listPeriods",
                "responses": { "200": { "description": "OK", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["periods"],
                    "properties": { "periods": { "type": "array", "items": { "$ref": "#/components/schemas/Period" } } }
                } } } } }
            } },
            "/api/v1/periods/{id}/results": { "get": {
                "summary": "Kết quả đã công bố của một kỳ",
                "operationId": "periodResults",
                "parameters": [id_param.clone()],
                "responses": {
                    "200": { "description": "OK", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Results" } } } },
                    "404": not_found.clone()
                }
            } },
            "/api/v1/index-sets": { "get": {
                "summary": "Các bộ chỉ số đã ban hành",
                "operationId": "listIndexSets",
                "responses": { "200": { "description": "OK", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["index_sets"],
                    "properties": { "index_sets": { "type": "array", "items": { "$ref": "#/components/schemas/IndexSetSummary" } } }
                } } } } }
            } },
            "/api/v1/index-sets/{id}": { "get": {
                "summary": "Một bộ chỉ số đã ban hành, cả cây tiêu chí",
                "operationId": "getIndexSet",
                "parameters": [id_param],
                "responses": {
                    "200": { "description": "OK", "content": { "application/json": { "schema": {
                        "allOf": [
                            { "$ref": "#/components/schemas/IndexSetSummary" },
                            { "type": "object", "properties": { "definition": { "type": "object", "description": "Cây tiêu chí theo docs/index-set-format.md" } } }
                        ]
                    } } } },
                    "404": not_found
                }
            } }
        },
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
            "Period": { "type": "object", "required": ["id", "year", "name", "results"], "properties": {
                "id": { "type": "integer" }, "year": { "type": "integer" }, "name": { "type": "string" },
                "decision_number": { "type": "string", "nullable": true },
                "decision_date": { "type": "string", "nullable": true, "description": "dd/mm/yyyy" },
                "results": { "type": "string" }
            } },
            "IndexSetSummary": { "type": "object", "required": ["id", "code", "year", "unit_group", "title", "illustrative"], "properties": {
                "id": { "type": "integer" }, "code": { "type": "string" }, "year": { "type": "integer" },
                "unit_group": { "type": "string" }, "title": { "type": "string" },
                "illustrative": { "type": "boolean", "description": "Bộ chỉ số minh họa, không phải nội dung chính thức" },
                "node_count": { "type": "integer" }, "href": { "type": "string" }
            } },
            "Results": { "type": "object", "required": ["period", "groups", "tie_rule", "bands"], "properties": {
                "period": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "year": { "type": "integer" }, "name": { "type": "string" },
                    "official": { "type": "boolean" },
                    "decision_number": { "type": "string", "nullable": true },
                    "decision_date": { "type": "string", "nullable": true }
                } },
                "tie_rule": { "type": "string" },
                "bands": { "type": "object", "properties": {
                    "good_from": decimal.clone(), "fair_from": decimal.clone(), "average_from": decimal.clone()
                } },
                "groups": { "type": "array", "items": { "type": "object", "properties": {
                    "group": { "type": "string" },
                    "index_set": { "type": "string" },
                    "illustrative_index_set": { "type": "boolean" },
                    "units": { "type": "array", "items": { "$ref": "#/components/schemas/UnitResult" } }
                } } }
            } },
            "UnitResult": { "type": "object", "required": ["code", "name", "total", "applicable_max"], "properties": {
                "code": { "type": "string" }, "name": { "type": "string" },
                "appraised": decimal.clone(), "survey": decimal.clone(), "bonus": decimal.clone(),
                "penalty": decimal.clone(), "total": decimal.clone(), "applicable_max": decimal.clone(),
                "index": { "type": "string", "nullable": true, "description": "Chỉ số CCHC (%), 2 chữ số thập phân" },
                "rank": { "type": "integer", "nullable": true },
                "tied": { "type": "boolean" },
                "band": { "type": "string", "nullable": true, "enum": ["good", "fair", "average", "weak", null] },
                "rank_change": { "type": "integer", "nullable": true, "description": "Hạng năm trước − hạng năm nay" },
                "domains": { "type": "array", "items": { "type": "object", "properties": {
                    "code": { "type": "string" }, "achieved": decimal.clone(), "applicable_max": decimal.clone()
                } } },
                "criteria": criteria
            } }
        } }
    })
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .open_get("/api/v1/openapi.json", openapi)
        .open_get("/api/v1/periods", periods)
        .open_get("/api/v1/periods/{id}/results", period_results)
        .open_get("/api/v1/index-sets", index_sets)
        .open_get("/api/v1/index-sets/{id}", index_set)
}
