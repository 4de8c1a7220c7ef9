//! Static assets compiled into the binary: our own CSS and small JS, no third-party code.

use crate::routes::table::Routes;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::extract::Path;

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new().open_get("/static/{file}", serve)
}
