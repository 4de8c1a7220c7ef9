//! The unit import: upload, the row-by-row report (nothing saved), and the confirmation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::Action;

use super::views::{ImportPage, ReportPage};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Multipart, Path};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::refusal::{Refusal, web_error};
use crate::views::upload::file_field;

pub async fn import_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::ManageUnits)?;
    render(&ImportPage {
        p: Page::for_user(&state, &user, "import.title"),
        error: None,
    })
}

/// Receives the file, parses and checks every row, and shows the report. Nothing is saved
/// to the registry here; a clean file is kept (per user) until confirmed.
pub async fn import_upload(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.require(Action::ManageUnits)?;
    let lang = user.ctx.lang;
    let refuse = |message: String| {
        let p = Page::for_user(&state, &user, "import.title");
        let page = ImportPage {
            p,
            error: Some(message),
        };
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let (file_name, bytes) = match file_field(&mut multipart, "file").await {
        Ok(Some(file)) if !file.1.is_empty() => file,
        Ok(_) => return refuse(lang.t("import.no_file").into()),
        Err(why) => return refuse(format!("{} ({why})", lang.t("import.upload_failed"))),
    };
    let report = match state
        .app
        .check_unit_import(&user.session, &file_name, &bytes)
        .await
    {
        Ok(report) => report,
        Err(err) => return refuse(Refusal::of_invalid(err, lang)?.message),
    };
    let status = match report.problems.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = ReportPage {
        p: Page::for_user(&state, &user, "import.report_title"),
        file_name,
        encoding: (report.encoding).unwrap_or_else(|| lang.t("import.excel_encoding").into()),
        rows: report.rows,
        problems: report.problems,
        stash_id: report.stash_id,
    };
    render_status(status, &page)
}

/// Saves a checked import: every row in one transaction, or nothing.
pub async fn import_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(stash_id): Path<i64>,
) -> Result<Response, WebError> {
    let created = (state.app)
        .confirm_unit_import(&user.session, stash_id)
        .await
        .map_err(|e| web_error(e, user.ctx.lang))?;
    Ok(Redirect::to(&format!("/units?ok=imported&n={created}")).into_response())
}
