//! `parindex index-set …`: validate, import, export and diff index sets from the shell.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use parindex_domain::index_set::diff;
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
    /// List added, removed and changed nodes between two sets (files, or ids/codes in the database).
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
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parindex_formats::parse_index_set_file(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

async fn stored_doc(store: &Store, key: &str) -> Result<(i64, IndexSetDoc), String> {
    let set = match key.parse::<i64>() {
        Ok(id) => store
            .get_index_set(id)
            .await
            .map_err(|e| format!("index set {key}: {e}"))?,
        Err(_) => store
            .find_index_set_by_code(&key.to_uppercase())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no index set with code {key}"))?,
    };
    let doc =
        serde_json::from_str(&set.definition).map_err(|e| format!("stored set {key}: {e}"))?;
    Ok((set.id, doc))
}

/// A file path if it exists, else a set in the database.
async fn doc_from(db: &DbArgs, key: &str) -> Result<IndexSetDoc, String> {
    let path = Path::new(key);
    if path.exists() {
        return read_file(path);
    }
    let (store, _) = db.open().await?;
    Ok(stored_doc(&store, key).await?.1)
}

fn validated(doc: &IndexSetDoc, what: &str) -> Result<IndexSet, String> {
    IndexSet::from_doc(doc, None).map_err(|report| format!("{what} is not valid:\n{report}"))
}

pub async fn run(command: IndexSetCommand) -> Result<ExitCode, String> {
    match command {
        IndexSetCommand::Validate { file } => {
            let doc = read_file(&file)?;
            match IndexSet::from_doc(&doc, None) {
                Ok(set) => {
                    println!("{}: hợp lệ / valid", doc.code);
                    println!("{}", set.summary());
                    println!("{}", set.summary().kinds_vi());
                    if doc.illustrative {
                        println!("(bộ chỉ số MINH HỌA / illustrative set)");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(report) => {
                    println!(
                        "{}: KHÔNG HỢP LỆ / invalid — {} problem(s)",
                        doc.code,
                        report.problems.len()
                    );
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
            println!("Imported {} as draft id {}.", stored.code, stored.id);
            match valid {
                Ok(set) => println!("{}", set.summary()),
                Err(report) => println!("Not valid yet (fix before publishing):\n{report}"),
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
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    println!("Wrote {}.", path.display());
                }
                (None, ExportFormat::Yaml) => print!("{}", String::from_utf8_lossy(&bytes)),
                (None, ExportFormat::Xlsx) => {
                    return Err("an Excel export needs --output FILE".into());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        IndexSetCommand::Diff { db, old, new } => {
            let old_doc = doc_from(&db, &old).await?;
            let new_doc = doc_from(&db, &new).await?;
            let changes = diff(&validated(&old_doc, &old)?, &validated(&new_doc, &new)?);
            println!("{} → {}", old_doc.code, new_doc.code);
            if changes.is_empty() {
                println!("No differences.");
            }
            for n in &changes.added {
                println!("+ {} {} ({})", n.code, n.title, n.max.exact_vi());
            }
            for n in &changes.removed {
                println!("- {} {} ({})", n.code, n.title, n.max.exact_vi());
            }
            for c in &changes.changed {
                let what: Vec<&str> = c.changes.iter().map(|ch| ch.label_vi()).collect();
                println!("~ {}: {}", c.new_code, what.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
