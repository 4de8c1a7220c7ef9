//! `parindex index-set …`: validate, import, export and diff index sets from the shell.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use parindex_domain::index_set::{CodeMapping, SetDiff, counts_per_level_vi, diff_with};
use parindex_domain::{IndexSet, IndexSetDoc};
use parindex_store::index_sets::IndexSetContent;
use parindex_store::{AuditActor, Store};

use crate::config::DbArgs;

#[derive(Subcommand)]
pub enum IndexSetCommand {
    /// Check a YAML or Excel file and print its counts per level, or every problem.
    Validate { file: PathBuf },
    /// Import a YAML or Excel file as a draft set.
    Import {
        #[command(flatten)]
        db: DbArgs,
        file: PathBuf,
    },
    /// Write a stored set (by id or code) as YAML or Excel.
    Export {
        #[command(flatten)]
        db: DbArgs,
        /// The set's id or code.
        set: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Yaml)]
        format: ExportFormat,
        /// Output file; YAML goes to standard output when omitted.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// List added, removed and changed nodes, maxima, caps and bonus/penalty items between two
    /// sets (files, or ids/codes in the database), each change as before → after. When both
    /// are stored, the new set's recorded old → new code mapping pairs renumbered nodes.
    Diff {
        #[command(flatten)]
        db: DbArgs,
        old: String,
        new: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Yaml,
    Xlsx,
}

fn read_file(path: &Path) -> Result<IndexSetDoc, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("không đọc được tệp {}: {e}", path.display()))?;
    parindex_formats::parse_index_set_file(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

async fn stored_doc(store: &Store, key: &str) -> Result<(i64, IndexSetDoc), String> {
    let set = match key.parse::<i64>() {
        Ok(id) => store
            .get_index_set(id)
            .await
            .map_err(|e| format!("bộ chỉ số {key}: {e}"))?,
        Err(_) => store
            .find_index_set_by_code(&key.to_uppercase())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("không có bộ chỉ số nào mã {key}"))?,
    };
    let doc = serde_json::from_str(&set.definition)
        .map_err(|e| format!("bộ chỉ số đã lưu {key} không đọc được: {e}"))?;
    Ok((set.id, doc))
}

/// A set to compare: read from a file, or stored (with its id, for the code mapping).
struct Side {
    id: Option<i64>,
    doc: IndexSetDoc,
}

/// A file path if it exists, else a set in the database (opened once, on first need).
async fn side(db: &DbArgs, store: &mut Option<Store>, key: &str) -> Result<Side, String> {
    let path = Path::new(key);
    if path.exists() {
        return Ok(Side {
            id: None,
            doc: read_file(path)?,
        });
    }
    if store.is_none() {
        *store = Some(db.open().await?.0);
    }
    let opened = store.as_ref().expect("opened above");
    let (id, doc) = stored_doc(opened, key).await?;
    Ok(Side { id: Some(id), doc })
}

fn validated(doc: &IndexSetDoc, what: &str) -> Result<IndexSet, String> {
    IndexSet::from_doc(doc, None)
        .map_err(|report| format!("{what} chưa hợp lệ, không so sánh được:\n{report}"))
}

/// The old → new pairs recorded for `new` from `old`, when both are stored sets; none for a
/// file, which has no recorded mapping.
async fn stored_mapping(
    store: Option<&Store>,
    old: &Side,
    new: &Side,
    old_set: &IndexSet,
    new_set: &IndexSet,
) -> Result<CodeMapping, String> {
    let (Some(store), Some(old_id), Some(new_id)) = (store, old.id, new.id) else {
        return Ok(CodeMapping::default());
    };
    let pairs: Vec<(String, String)> = store
        .code_mappings(new_id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|(from, _, _)| *from == old_id)
        .map(|(_, a, b)| (a, b))
        .collect();
    CodeMapping::new(pairs, old_set, new_set).map_err(|report| {
        format!("bảng ghép mã cũ → mới đã lưu không khớp hai bộ chỉ số:\n{report}")
    })
}

/// One line of a long text: a method spanning lines reads on one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The diff as lines: "+" added, "-" removed, "~" changed (one line per changed property,
/// before → after), the set's own fields first and the bonus and penalty items last.
fn diff_lines(changes: &SetDiff) -> Vec<String> {
    let mut lines = Vec::new();
    for c in &changes.set_changes {
        lines.push(format!(
            "~ Bộ chỉ số: {}: {} → {}",
            c.label_vi(),
            c.old_vi(),
            c.new_vi()
        ));
    }
    for n in &changes.added {
        lines.push(format!(
            "+ {} {} ({} điểm)",
            n.code,
            one_line(&n.title),
            n.max.exact_vi()
        ));
    }
    for n in &changes.removed {
        lines.push(format!(
            "- {} {} ({} điểm)",
            n.code,
            one_line(&n.title),
            n.max.exact_vi()
        ));
    }
    for c in &changes.changed {
        let code = if c.old_code == c.new_code {
            c.new_code.clone()
        } else {
            format!("{} (mã cũ {})", c.new_code, c.old_code)
        };
        for ch in &c.changes {
            lines.push(format!(
                "~ {code}: {}: {} → {}",
                ch.label_vi(),
                one_line(&ch.old_vi()),
                one_line(&ch.new_vi())
            ));
        }
    }
    for a in &changes.adjustments_added {
        lines.push(format!(
            "+ {} ({}) {} ({} điểm)",
            a.code,
            a.kind_vi(),
            one_line(&a.title),
            a.max.exact_vi()
        ));
    }
    for a in &changes.adjustments_removed {
        lines.push(format!(
            "- {} ({}) {} ({} điểm)",
            a.code,
            a.kind_vi(),
            one_line(&a.title),
            a.max.exact_vi()
        ));
    }
    for a in &changes.adjustments_changed {
        for ch in &a.changes {
            lines.push(format!(
                "~ {}: {}: {} → {}",
                a.code,
                ch.label_vi(),
                one_line(&ch.old_vi()),
                one_line(&ch.new_vi())
            ));
        }
    }
    lines
}

pub async fn run(command: IndexSetCommand) -> Result<ExitCode, String> {
    match command {
        IndexSetCommand::Validate { file } => {
            let doc = read_file(&file)?;
            match IndexSet::from_doc(&doc, None) {
                Ok(set) => {
                    println!("{}: hợp lệ", doc.code);
                    println!("{}", set.summary());
                    println!("{}", set.summary().kinds_vi());
                    if doc.illustrative {
                        println!("(bộ chỉ số MINH HỌA)");
                    }
                    // Valid, but where a unit can be hurt: said, without failing.
                    let warnings = set.warnings();
                    if !warnings.is_empty() {
                        println!("Cảnh báo ({}):", warnings.len());
                        for w in &warnings {
                            println!("- {w}");
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(report) => {
                    println!("{}: KHÔNG HỢP LỆ — {} lỗi", doc.code, report.problems.len());
                    // What was read, so the secretariat can check the shape while fixing.
                    if let Some(counts) = doc.counts_per_level() {
                        println!("Đã đọc: {}", counts_per_level_vi(&counts));
                    }
                    println!("{report}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        IndexSetCommand::Import { db, file } => {
            let doc = read_file(&file)?;
            let valid = IndexSet::from_doc(&doc, None);
            let (store, _) = db.open().await?;
            let content = IndexSetContent {
                code: doc.code.clone(),
                year: i64::from(doc.year),
                unit_group: doc.unit_group.clone(),
                title: doc.title.clone(),
                illustrative: doc.illustrative,
                definition: serde_json::to_string(&doc).map_err(|e| e.to_string())?,
                node_count: valid.as_ref().map(|s| s.nodes().len() as i64).unwrap_or(0),
            };
            let mut tx = store
                .begin_write(AuditActor::system("cli"))
                .await
                .map_err(|e| e.to_string())?;
            let stored = tx
                .create_index_set(&content, None)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            println!(
                "Đã nhập {} thành bản nháp, mã số {}.",
                stored.code, stored.id
            );
            match valid {
                Ok(set) => println!("{}", set.summary()),
                Err(report) => {
                    if let Some(counts) = doc.counts_per_level() {
                        println!("Đã đọc: {}", counts_per_level_vi(&counts));
                    }
                    println!("Chưa hợp lệ (cần sửa trước khi ban hành):\n{report}")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        IndexSetCommand::Export {
            db,
            set,
            format,
            output,
        } => {
            let (store, _) = db.open().await?;
            let (_, doc) = stored_doc(&store, &set).await?;
            let bytes = match format {
                ExportFormat::Yaml => parindex_formats::write_index_set_yaml(&doc)
                    .map_err(|e| e.to_string())?
                    .into_bytes(),
                ExportFormat::Xlsx => {
                    parindex_formats::write_index_set_xlsx(&doc).map_err(|e| e.to_string())?
                }
            };
            match (output, format) {
                (Some(path), _) => {
                    std::fs::write(&path, &bytes)
                        .map_err(|e| format!("không ghi được tệp {}: {e}", path.display()))?;
                    println!("Đã ghi {}.", path.display());
                }
                (None, ExportFormat::Yaml) => print!("{}", String::from_utf8_lossy(&bytes)),
                (None, ExportFormat::Xlsx) => {
                    return Err("xuất Excel cần --output TỆP".into());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        IndexSetCommand::Diff { db, old, new } => {
            let mut store = None;
            let old_side = side(&db, &mut store, &old).await?;
            let new_side = side(&db, &mut store, &new).await?;
            let old_set = validated(&old_side.doc, &old)?;
            let new_set = validated(&new_side.doc, &new)?;
            let mapping =
                stored_mapping(store.as_ref(), &old_side, &new_side, &old_set, &new_set).await?;
            let changes = diff_with(&old_set, &new_set, &mapping);
            println!("{} → {}", old_side.doc.code, new_side.doc.code);
            if !mapping.is_empty() {
                println!(
                    "Ghép mã cũ → mới theo bảng đã lưu: {} cặp",
                    mapping.pairs().count()
                );
            }
            if changes.is_empty() {
                println!("Hai bộ chỉ số giống nhau.");
            }
            for line in diff_lines(&changes) {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
