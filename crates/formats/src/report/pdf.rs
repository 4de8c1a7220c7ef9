//! The report as a PDF, typeset by typst used as a library.
//!
//! The typst source is the constant template `self_assessment.typ`; the report reaches it as
//! `/data.json`, a file of the in-memory [`ReportWorld`], and is read there with `json()`.
//! Every user text is therefore a typst string, set as plain text: a unit called
//! `#set text(red) *x*` prints exactly that. The world has no other files, no packages and
//! only the fonts embedded in the binary (typst-assets), so the output depends on the report
//! alone: same input, same bytes.

use std::sync::LazyLock;

use serde_json::{Value, json};
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;
use typst_pdf::PdfOptions;

use super::{ILLUSTRATIVE_NOTE, SelfAssessmentReport, authority_line, unit_with_code};
use crate::FormatError;

/// The template; see the file for the layout.
const TEMPLATE: &str = include_str!("self_assessment.typ");
const MAIN_PATH: &str = "/main.typ";
const DATA_PATH: &str = "/data.json";

/// How many compilations typst's memoisation cache keeps entries for. The cache is
/// process-wide; without eviction a long-running server would grow it with every report.
const CACHE_MAX_AGE: usize = 10;

/// What every compilation shares: the standard library and the embedded fonts, loaded once.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: FileId,
    data: FileId,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Shared {
        library: LazyHash::new(Library::builder().build()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
        main: project_file(MAIN_PATH),
        data: project_file(DATA_PATH),
    }
});

fn project_file(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a constant, valid virtual path");
    FileId::new(RootedPath::new(VirtualRoot::Project, vpath))
}

/// The in-memory world one report is compiled in: the template and the report's data.
struct ReportWorld {
    shared: &'static Shared,
    template: &'static str,
    main: Source,
    data: Bytes,
    today: Option<Datetime>,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.shared.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.shared.book
    }

    fn main(&self) -> FileId {
        self.shared.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.shared.main {
            Ok(self.main.clone())
        } else if id == self.shared.data {
            Err(FileError::NotSource)
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.shared.main {
            Ok(Bytes::from_string(self.template))
        } else if id == self.shared.data {
            Ok(self.data.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.shared.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today
    }
}

/// Typesets the report as an A4 PDF: title block, the illustrative note when it applies, the
/// score table (domains bold, a total row), the explanations and the evidence list, with
/// "Trang x/y" at the foot of every page.
pub fn write_report_pdf(report: &SelfAssessmentReport) -> Result<Vec<u8>, FormatError> {
    typeset(TEMPLATE, &report_data(report), &report.generated_at)
}

/// Compiles the report, returning the document and typst's warnings (for tests: the
/// template should compile without any).
#[cfg(test)]
fn compile(
    report: &SelfAssessmentReport,
) -> Result<(PagedDocument, Vec<SourceDiagnostic>), FormatError> {
    compile_template(TEMPLATE, &report_data(report), &report.generated_at)
}

/// Compiles a constant `template` that reads `data` as `/data.json`; `generated_at`
/// ("dd/mm/yyyy …") is the day `datetime.today()` answers.
pub(crate) fn compile_template(
    template: &'static str,
    data: &Value,
    generated_at: &str,
) -> Result<(PagedDocument, Vec<SourceDiagnostic>), FormatError> {
    let shared: &'static Shared = &SHARED;
    let data = serde_json::to_vec(data).map_err(|error| FormatError::PdfFailed {
        detail: error.to_string(),
    })?;
    let world = ReportWorld {
        shared,
        template,
        main: Source::new(shared.main, template.to_owned()),
        data: Bytes::new(data),
        today: today_from(generated_at),
    };
    let warned = typst::compile::<PagedDocument>(&world);
    typst::comemo::evict(CACHE_MAX_AGE);
    let document = warned.output.map_err(|errors| pdf_failed(&errors))?;
    Ok((document, warned.warnings.into_iter().collect()))
}

/// Typesets a constant `template` over `data` as a PDF.
pub(crate) fn typeset(
    template: &'static str,
    data: &Value,
    generated_at: &str,
) -> Result<Vec<u8>, FormatError> {
    let (document, _warnings) = compile_template(template, data, generated_at)?;
    let options = PdfOptions {
        creator: Smart::Custom(Some("parindex".to_owned())),
        ..PdfOptions::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|errors| pdf_failed(&errors))
}

fn pdf_failed(errors: &[SourceDiagnostic]) -> FormatError {
    let detail = errors
        .iter()
        .map(|error| {
            let mut text = error.message.to_string();
            for hint in &error.hints {
                text.push_str(" (gợi ý: ");
                text.push_str(&hint.v);
                text.push(')');
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ");
    FormatError::PdfFailed { detail }
}

/// The date typst's `datetime.today()` answers: the day the report was generated (read from
/// "dd/mm/yyyy …"), so nothing depends on the clock of the machine.
fn today_from(generated_at: &str) -> Option<Datetime> {
    let date = generated_at.split_whitespace().next()?;
    let mut parts = date.split('/');
    let day = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let year = parts.next()?.parse().ok()?;
    Datetime::from_ymd(year, month, day)
}

/// The report as the template reads it. Every text is a JSON string; numbers stay the
/// formatted strings of the report (decimal comma).
fn report_data(report: &SelfAssessmentReport) -> Value {
    let rows: Vec<Value> = report
        .rows
        .iter()
        .map(|row| {
            json!({
                "code": row.code,
                "title": row.title,
                "level": row.level,
                "max": row.max,
                "self_score": row.self_score,
                "source": row.source,
                "explanation": row.explanation,
            })
        })
        .collect();
    let explanations: Vec<Value> = report
        .explanations
        .iter()
        .map(|explanation| {
            json!({
                "code": explanation.code,
                "title": explanation.title,
                "text": explanation.text,
            })
        })
        .collect();
    let evidence: Vec<Value> = report
        .evidence
        .iter()
        .map(|evidence| {
            json!({
                "code": evidence.code,
                "file_name": evidence.file_name,
                "reference": evidence.reference,
                "sha256_short": evidence.sha256_short,
                "size": evidence.size,
            })
        })
        .collect();
    json!({
        "document_title": format!(
            "Báo cáo tự đánh giá — {} — {}",
            report.unit_name, report.period_label
        ),
        "authority": authority_line(&report.province),
        "unit_name": report.unit_name,
        "unit_with_code": unit_with_code(report),
        "period_label": report.period_label,
        "set_title": report.set_title,
        "illustrative": report.illustrative,
        "illustrative_note": ILLUSTRATIVE_NOTE,
        "generated_at": report.generated_at,
        "status_label": report.status_label,
        "footer_left": format!("{} — {}", report.unit_name, report.period_label),
        "rows": rows,
        "total_self": report.total_self,
        "total_max": report.total_max,
        "explanations": explanations,
        "evidence": evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ReportRow;

    #[test]
    fn the_template_compiles_without_warnings() {
        let report = SelfAssessmentReport {
            province: "Tỉnh Sông Lam".to_owned(),
            unit_name: "Sở Tư pháp".to_owned(),
            illustrative: true,
            generated_at: "25/11/2026 10:07".to_owned(),
            rows: vec![ReportRow {
                code: "1".to_owned(),
                title: "Công tác chỉ đạo, điều hành".to_owned(),
                level: 1,
                explanation: "Hai dòng\ncủa diễn giải".to_owned(),
                ..ReportRow::default()
            }],
            ..SelfAssessmentReport::default()
        };
        let (document, warnings) = compile(&report).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(!document.pages().is_empty());
    }

    #[test]
    fn today_is_the_generation_day() {
        assert_eq!(
            today_from("25/11/2026 10:07"),
            Datetime::from_ymd(2026, 11, 25)
        );
        assert_eq!(today_from(""), None);
        assert_eq!(today_from("hôm nay"), None);
    }
}
