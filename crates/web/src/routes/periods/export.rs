//! The progress board as a workbook, written by parindex-formats.

use parindex_app::periods::Board;
use parindex_formats::report::{BoardLine, ProgressBoard, write_progress_board_xlsx};

use super::views::progress_key;
use crate::AppState;
use crate::error::WebError;
use crate::i18n::Lang;
use crate::page::datetime_vi;

pub fn progress_workbook(state: &AppState, board: &Board, lang: Lang) -> Result<Vec<u8>, WebError> {
    let when = |t: Option<i64>| t.map(datetime_vi).unwrap_or_default();
    let workbook = ProgressBoard {
        province: state.config.province_name.clone(),
        period: board.period.name.clone(),
        generated_at: datetime_vi(state.now_ms()),
        lines: board
            .rows
            .iter()
            .map(|r| BoardLine {
                unit_code: r.unit.unit_code.clone(),
                unit_name: r.unit.unit_name.clone(),
                group: r.unit.group_code.clone(),
                stage: lang.t(progress_key(r.progress)).to_owned(),
                scored: r.scored as u32,
                total: r.total as u32,
                last_activity: when(r.unit.last_activity_at),
                submitted_at: when(r.unit.submitted_at),
                extension: when(r.unit.extension_until),
            })
            .collect(),
    };
    write_progress_board_xlsx(&workbook).map_err(|e| WebError::Internal(e.to_string()))
}
