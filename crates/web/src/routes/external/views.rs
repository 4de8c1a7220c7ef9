//! The external values' view models: the periods, the matrix and an import's preview.

use askama::Template;
use parindex_app::external::{ImportPreview, Matrix};
use parindex_domain::Points;

use crate::i18n::Lang;
use crate::page::Page;
use crate::views::external_value::ValueView;

/// A period to enter values for.
pub struct PeriodRow {
    pub id: i64,
    pub name: String,
    pub stage: String,
}

#[derive(Template)]
#[template(path = "external/periods.html")]
pub struct PeriodsPage {
    pub p: Page,
    pub periods: Vec<PeriodRow>,
}

/// One cell of the matrix.
pub struct CellView {
    pub unit_id: i64,
    pub code: String,
    pub value: Option<ValueView>,
    /// Whether this user may write the cell (a provider writes its agency's leaves only).
    pub editable: bool,
}

pub struct UnitRowView {
    pub code: String,
    pub name: String,
    pub cells: Vec<CellView>,
}

/// A column of the matrix: an external leaf.
pub struct LeafColumn {
    pub code: String,
    pub title: String,
    pub max: String,
    pub provider: String,
}

pub struct GroupView {
    pub group: String,
    pub leaves: Vec<LeafColumn>,
    pub units: Vec<UnitRowView>,
}

#[derive(Template)]
#[template(path = "external/matrix.html")]
pub struct MatrixPage {
    pub p: Page,
    pub period_id: i64,
    pub period_name: String,
    pub stage: String,
    pub refusal: Option<String>,
    pub groups: Vec<GroupView>,
}

pub fn matrix_page(p: Page, matrix: Matrix) -> MatrixPage {
    let lang = p.lang;
    let groups = matrix
        .groups
        .into_iter()
        .map(|g| GroupView {
            group: g.group,
            leaves: g
                .leaves
                .into_iter()
                .map(|l| LeafColumn {
                    code: l.code,
                    title: l.title,
                    max: l.max.exact_vi(),
                    provider: l.provider,
                })
                .collect(),
            units: g
                .units
                .into_iter()
                .map(|(u, cells)| UnitRowView {
                    code: u.unit_code,
                    name: u.unit_name,
                    cells: cells
                        .into_iter()
                        .map(|c| CellView {
                            unit_id: c.unit_id,
                            code: c.code,
                            value: c.value.as_ref().map(ValueView::of),
                            editable: c.editable,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    MatrixPage {
        p,
        period_id: matrix.period.id,
        period_name: matrix.period.name,
        stage: matrix.stage.label_vi(),
        refusal: matrix.refusal.map(|m| lang.message(&m)),
        groups,
    }
}

pub struct PreviewRow {
    pub row_number: usize,
    pub unit_code: String,
    pub unit_name: String,
    pub leaf_code: String,
    pub points: String,
    pub note: String,
    pub problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "external/preview.html")]
pub struct PreviewPage {
    pub p: Page,
    pub period_id: i64,
    pub period_name: String,
    pub file_name: String,
    pub encoding: String,
    pub error: Option<String>,
    pub rows: Vec<PreviewRow>,
    pub bad: usize,
    pub token: Option<i64>,
}

impl PreviewPage {
    /// The page with only an error (the file could not be read).
    pub fn refused(
        p: Page,
        (period_id, period_name): (i64, String),
        file_name: String,
        error: String,
    ) -> PreviewPage {
        PreviewPage {
            p,
            period_id,
            period_name,
            file_name,
            encoding: String::new(),
            error: Some(error),
            rows: Vec::new(),
            bad: 0,
            token: None,
        }
    }

    /// The page of a checked file.
    pub fn checked(
        p: Page,
        (period_id, period_name): (i64, String),
        file_name: String,
        preview: ImportPreview,
    ) -> PreviewPage {
        let lang: Lang = p.lang;
        PreviewPage {
            encoding: preview
                .encoding
                .map(str::to_owned)
                .unwrap_or_else(|| lang.t("external.excel").to_owned()),
            bad: preview.bad,
            token: preview.token,
            rows: preview
                .rows
                .into_iter()
                .map(|c| PreviewRow {
                    row_number: c.row.row_number,
                    unit_code: c.row.unit_code,
                    unit_name: c.unit_name,
                    leaf_code: c.row.leaf_code,
                    points: c
                        .write
                        .as_ref()
                        .map(|w| Points::from_millipoints(w.score_milli).exact_vi())
                        .unwrap_or(c.row.points_text),
                    note: c.row.note,
                    problems: c.problems.iter().map(|m| lang.message(m)).collect(),
                })
                .collect(),
            ..PreviewPage::refused(p, (period_id, period_name), file_name, String::new())
        }
        .without_error()
    }

    fn without_error(mut self) -> PreviewPage {
        self.error = None;
        self
    }
}
