//! `parindex backup DEST` and `parindex restore SRC`: a consistent online copy of the SQLite
//! database (`VACUUM INTO`) followed by the evidence files, and putting such a copy back.
//!
//! The database is copied first: a row is committed only after its file is stored, so every
//! file the copied rows name is already in the store when the files are copied next. Files
//! stored after the database copy are copied too and are harmless (no row names them).
//! On PostgreSQL the database is copied with `pg_dump` (docs/operations.md); `backup` then
//! copies the evidence store, local or S3.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use futures_util::StreamExt;
use parindex_store::evidence::{EvidenceStore, UploadLimits};
use parindex_store::{Backend, ChainReport, Store};

use crate::config::DbArgs;

/// The database file inside a backup folder.
const DB_FILE: &str = "parindex.db";
/// The evidence files inside a backup folder, in the store's own layout.
const EVIDENCE_DIR: &str = "evidence";
/// What the backup holds, written last: a folder without it is an unfinished backup.
const MANIFEST: &str = "backup.json";

pub async fn backup(db: &DbArgs, dest: &Path) -> Result<ExitCode, String> {
    // Opening a missing SQLite file creates an empty database: a mistyped --data-dir would
    // then give a "successful" backup of nothing, which is found out only on the day it is
    // needed. A backup reads an existing database, never makes one.
    if let Some(source) = sqlite_source(db)
        && !source.is_file()
    {
        let demo = source
            .parent()
            .map(|d| d.join("demo").join(DB_FILE))
            .filter(|d| d.is_file())
            .map(|d| format!(" (dữ liệu demo nằm ở {})", d.display()))
            .unwrap_or_default();
        return Err(format!(
            "không có cơ sở dữ liệu {} để sao lưu; hãy kiểm tra --data-dir hoặc --database-url{demo} (no database to back up)",
            source.display()
        ));
    }
    if dest.exists()
        && std::fs::read_dir(dest)
            .map_err(|e| format!("{}: {e}", dest.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "thư mục sao lưu {} đã có dữ liệu; hãy chọn một thư mục mới (the backup folder must be new or empty)",
            dest.display()
        ));
    }
    std::fs::create_dir_all(dest.join(EVIDENCE_DIR))
        .map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let (store, _) = db.open().await?;
    let evidence = db.open_evidence()?;

    // 1. The database, as of one commit.
    let (head, referenced) = match store.backend() {
        Backend::Sqlite => {
            let copy = dest.join(DB_FILE);
            store
                .sqlite_backup_into(&copy)
                .await
                .map_err(|e| format!("database copy failed: {e}"))?;
            let copied = Store::connect(&sqlite_url(&copy), 1)
                .await
                .map_err(|e| format!("cannot read the copy {}: {e}", copy.display()))?;
            let head = copied.audit_head().await.map_err(|e| e.to_string())?;
            let referenced = copied.referenced_blobs().await.map_err(|e| e.to_string())?;
            copied.close().await;
            (head, referenced)
        }
        Backend::Postgres => {
            println!(
                "PostgreSQL: this copies the evidence files only. Dump the database with pg_dump \
                 BEFORE this command (see docs/operations.md), e.g.\n  pg_dump --format=custom --file=parindex.dump \"$PARINDEX_DATABASE_URL\""
            );
            let head = store.audit_head().await.map_err(|e| e.to_string())?;
            let referenced = store.referenced_blobs().await.map_err(|e| e.to_string())?;
            (head, referenced)
        }
    };
    store.close().await;

    // 2. The evidence files, after the database.
    let shas = evidence.blob_shas().await.map_err(|e| e.to_string())?;
    let mut bytes_copied: u64 = 0;
    let mut copied = Vec::with_capacity(shas.len());
    for sha in &shas {
        match copy_blob_out(&evidence, sha, &dest.join(EVIDENCE_DIR)).await? {
            Some(size) => {
                bytes_copied += size;
                copied.push(sha.clone());
            }
            // Swept as an orphan since it was listed: nothing names it, nothing is lost.
            None if !referenced.contains(sha) => {}
            None => return Err(format!("evidence file {sha} vanished during the backup")),
        }
    }
    let shas = copied;
    let missing: Vec<&String> = referenced
        .iter()
        .filter(|sha| shas.binary_search(sha).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} file(s) named by the database are not in the evidence store (first: {}); the backup is incomplete",
            missing.len(),
            missing[0]
        ));
    }

    let manifest = serde_json::json!({
        "format": 1,
        "created_at_ms": parindex_store::now_ms(),
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "database": (store.backend() == Backend::Sqlite).then_some(DB_FILE),
        "audit_seq": head.0,
        "audit_hash": head.1,
        "evidence_files": shas.len(),
        "evidence_bytes": bytes_copied,
    });
    write_synced(
        &dest.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)
            .map_err(|e| e.to_string())?
            .as_bytes(),
    )?;
    println!(
        "Backup written to {}: audit record {} ({}), {} evidence file(s), {} bytes.",
        dest.display(),
        head.0,
        &head.1[..16.min(head.1.len())],
        shas.len(),
        bytes_copied
    );
    Ok(ExitCode::SUCCESS)
}

/// The SQLite file `backup` reads: the data folder's, or the path of a `sqlite:` URL;
/// `None` for PostgreSQL and in-memory databases.
fn sqlite_source(db: &DbArgs) -> Option<PathBuf> {
    let Some(url) = db.database_url.as_deref() else {
        return Some(db.data_dir.join(DB_FILE));
    };
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

pub async fn restore(db: &DbArgs, src: &Path, force: bool) -> Result<ExitCode, String> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(src.join(MANIFEST))
            .map_err(|e| format!("{} is not a parindex backup: {e}", src.display()))?,
    )
    .map_err(|e| format!("{}: {e}", src.join(MANIFEST).display()))?;
    let target = match &db.database_url {
        None => Some(db.data_dir.join(DB_FILE)),
        Some(url) if url.starts_with("sqlite:") => Some(sqlite_path(url)?),
        Some(_) => None,
    };
    match (&target, manifest.get("database").and_then(|d| d.as_str())) {
        (Some(target), Some(file)) => restore_sqlite(&src.join(file), target, force).await?,
        (Some(_), None) => {
            return Err("this backup holds no SQLite database (it was taken on PostgreSQL): restore its pg_dump with pg_restore, then run restore with PARINDEX_DATABASE_URL".into());
        }
        (None, _) => println!(
            "PostgreSQL: restore the database from its pg_dump first (pg_restore); this restores the evidence files."
        ),
    }

    let evidence = db.open_evidence()?;
    let mut restored = 0usize;
    for file in blob_files(&src.join(EVIDENCE_DIR))? {
        copy_blob_in(&evidence, &file).await?;
        restored += 1;
    }

    let (store, _) = db.open().await?;
    let report = store.audit_verify().await.map_err(|e| e.to_string())?;
    let referenced = store.referenced_blobs().await.map_err(|e| e.to_string())?;
    store.close().await;
    let stored = evidence.blob_shas().await.map_err(|e| e.to_string())?;
    let missing = referenced
        .iter()
        .filter(|sha| stored.binary_search(sha).is_err())
        .count();
    println!(
        "Restored {restored} evidence file(s) from {}.",
        src.display()
    );
    if missing > 0 {
        println!(
            "WARNING: {missing} file(s) named by the database are missing from the evidence store."
        );
    }
    match report {
        ChainReport::Intact { records } => {
            println!("Audit chain intact: {records} records verified.");
            Ok(if missing > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        ChainReport::Broken { seq, reason } => {
            println!("AUDIT CHAIN BROKEN at record {seq}: {reason}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Puts the database copy `from` in place of `target`, refusing to replace a database that
/// holds data unless `force`. The server must be stopped.
async fn restore_sqlite(from: &Path, target: &Path, force: bool) -> Result<(), String> {
    if !from.is_file() {
        return Err(format!("{} is missing from the backup", from.display()));
    }
    if target.exists() {
        let existing = Store::connect(&sqlite_url(target), 1)
            .await
            .map_err(|e| format!("cannot open {}: {e}", target.display()))?;
        let holds_data = existing.holds_data().await.map_err(|e| e.to_string())?;
        existing.close().await;
        if holds_data && !force {
            return Err(format!(
                "cơ sở dữ liệu {} đã có dữ liệu; khôi phục sẽ ghi đè toàn bộ. Dừng máy chủ rồi chạy lại với --force nếu đúng ý bạn \
                 (the database holds data; add --force to replace it)",
                target.display()
            ));
        }
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let temp = target.with_extension("db.restoring");
    std::fs::copy(from, &temp).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    std::fs::File::open(&temp)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("{}: {e}", temp.display()))?;
    // A write-ahead log left beside the old database would be replayed into the new one.
    for suffix in ["-wal", "-shm"] {
        let mut side = target.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove the old journal: {e}")),
        }
    }
    std::fs::rename(&temp, target).map_err(|e| format!("{}: {e}", target.display()))?;
    println!("Database restored to {}.", target.display());
    Ok(())
}

/// Copies one blob into `root/sha256/ab/cd/<sha>` (written aside, fsynced, then renamed);
/// None when it is no longer in the store.
async fn copy_blob_out(
    evidence: &EvidenceStore,
    sha: &str,
    root: &Path,
) -> Result<Option<u64>, String> {
    use tokio::io::AsyncWriteExt;
    let dir = root.join("sha256").join(&sha[0..2]).join(&sha[2..4]);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(sha);
    let part = dir.join(format!("{sha}.part"));
    let mut download = match evidence.get(sha).await {
        Ok(download) => download,
        Err(parindex_store::evidence::EvidenceError::NotFound) => return Ok(None),
        Err(e) => return Err(format!("reading evidence {sha}: {e}")),
    };
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(|e| format!("{}: {e}", part.display()))?;
    let mut written = 0u64;
    while let Some(chunk) = download.stream.next().await {
        let chunk = chunk.map_err(|e| format!("reading evidence {sha}: {e}"))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("{}: {e}", part.display()))?;
        written += chunk.len() as u64;
    }
    file.sync_all()
        .await
        .map_err(|e| format!("{}: {e}", part.display()))?;
    tokio::fs::rename(&part, &path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(written))
}

/// Stores one backed-up file again, checking that its content still has its name's SHA-256.
async fn copy_blob_in(evidence: &EvidenceStore, file: &Path) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    let expected = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let reader = tokio::fs::File::open(file)
        .await
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let chunks = futures_util::stream::unfold(reader, |mut reader| async move {
        let mut buf = vec![0u8; 256 * 1024];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), reader))
            }
            Err(e) => Some((Err(e), reader)),
        }
    });
    let limits = UploadLimits {
        max_bytes: u64::MAX,
    };
    let stored = evidence
        .put_data_stream(chunks, "backup.bin", &limits)
        .await
        .map_err(|e| format!("{}: {e}", file.display()))?;
    if stored.sha256_hex != expected {
        return Err(format!(
            "{} is damaged: its content's SHA-256 is {}",
            file.display(),
            stored.sha256_hex
        ));
    }
    Ok(())
}

/// The blob files of a backup's evidence folder (`sha256/ab/cd/<sha>`).
fn blob_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut folders = vec![root.join("sha256")];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", folder.display())),
        };
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The file of a `sqlite://path?…` URL.
fn sqlite_path(url: &str) -> Result<PathBuf, String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return Err(format!("{url} names no database file"));
    }
    Ok(PathBuf::from(path))
}
