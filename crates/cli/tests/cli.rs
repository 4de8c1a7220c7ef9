//! The `parindex` binary, run for real: zero-configuration start, graceful shutdown, the
//! first administrator, and `audit verify` catching a tampered row on both backends.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use parindex_store::Backend;
use parindex_store::testing::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_parindex");

/// A fresh working directory; the process id and a clock reading keep parallel runs apart.
fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "parindex-cli-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET http://addr/path with a bare HTTP/1.0 request; the status code, or None if refused.
fn http_status(addr: &str, path: &str) -> Option<u16> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

fn wait_ready(addr: &str, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if http_status(addr, "/healthz") == Some(200) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("parindex exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("parindex did not answer /healthz within 20 s");
}

fn run(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .envs(envs.iter().copied())
        .env_remove("PARINDEX_DATABASE_URL")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn serve_with_no_configuration_creates_its_data_and_stops_on_sigterm() {
    let dir = temp_dir("serve");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", &addr])
        .current_dir(&dir)
        .env_remove("PARINDEX_DATABASE_URL")
        .env_remove("PARINDEX_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&addr, &mut child);
    assert_eq!(http_status(&addr, "/readyz"), Some(200));
    assert_eq!(http_status(&addr, "/login"), Some(200));
    assert!(dir.join("data/parindex.db").exists());
    assert!(dir.join("data/evidence").is_dir());
    // WAL mode leaves its -wal file beside the database while the server runs.
    assert!(
        dir.join("data/parindex.db-wal").exists(),
        "SQLite runs in WAL mode"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(exit.success(), "exit {exit}: {log}");
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(
        log.contains("create the first administrator")
            || log.contains("Create the first administrator"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_default_port_is_8080_on_loopback() {
    let (code, help) = run(&temp_dir("help"), &["serve", "--help"], &[]);
    assert_eq!(code, 0);
    assert!(
        help.contains("127.0.0.1:8080")
            && help.contains("PARINDEX_BIND")
            && help.contains("PARINDEX_DATABASE_URL")
    );
}

async fn audit_verify_catches_tampering(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = temp_dir("audit");
    let url = db.url.clone();
    let with_url = |args: &[&str]| {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--database-url", &url]);
        run(&dir, &full, &[])
    };
    let (code, out) = with_url(&[
        "user",
        "create",
        "--username",
        "admin",
        "--full-name",
        "Quản trị",
        "--role",
        "system_admin",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("One-time password"), "{out}");
    let (code, out) = with_url(&["user", "reset-password", "admin"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = with_url(&["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 3 records"), "{out}");

    let drop_guard = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    sqlx::query(drop_guard)
        .execute(db.store.raw_pool_for_tests())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET after_json = '{\"role\":\"viewer\"}' WHERE seq = 2")
        .execute(db.store.raw_pool_for_tests())
        .await
        .unwrap();
    let (code, out) = with_url(&["audit", "verify"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("BROKEN at record 2"), "{out}");
    db.cleanup().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_catches_tampering_sqlite() {
    audit_verify_catches_tampering(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn audit_verify_catches_tampering_postgres() {
    audit_verify_catches_tampering(Backend::Postgres).await;
}

#[test]
fn demo_seeds_a_labelled_province_with_every_role() {
    let dir = temp_dir("demo");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(["demo", "--bind", &addr])
        .current_dir(&dir)
        .env_remove("PARINDEX_DATABASE_URL")
        // A configured evidence storage is real data: the demo must not write there.
        .env("PARINDEX_STORAGE_URL", dir.join("real-evidence"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&addr, &mut child);
    let _ = child.kill();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    assert!(out.contains("DEMO") && out.contains("DỮ LIỆU MẪU"), "{out}");
    for role in [
        "Quản trị hệ thống",
        "Thường trực",
        "Cán bộ đầu mối",
        "Thủ trưởng đơn vị",
        "Thành viên tổ thẩm định",
        "Thành viên hội đồng",
        "Cơ quan cung cấp số liệu",
        "Cán bộ điều tra XHH",
        "Lãnh đạo (chỉ xem)",
    ] {
        assert!(out.contains(role), "no demo account for {role}: {out}");
    }
    // The demo lives apart from real data.
    assert!(dir.join("data/demo/parindex.db").exists());
    assert!(!dir.join("data/parindex.db").exists());
    assert!(dir.join("data/demo/evidence").exists());
    assert!(!dir.join("real-evidence").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn demo_refuses_a_database_that_holds_accounts() {
    let dir = temp_dir("demo-real");
    let url = format!("sqlite://{}?mode=rwc", dir.join("real.db").display());
    let (code, out) = run(
        &dir,
        &[
            "user",
            "create",
            "--database-url",
            &url,
            "--username",
            "admin",
            "--full-name",
            "Quản trị thật",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    let audited = |url: String| async move {
        let store = parindex_store::Store::connect(&url, 1).await.unwrap();
        (
            store.list_users().await.unwrap().len(),
            sqlx::query_scalar::<_, i64>("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log")
                .fetch_one(store.raw_pool_for_tests())
                .await
                .unwrap(),
        )
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let before = rt.block_on(audited(url.clone()));
    assert_eq!(before.0, 1);
    // Both ways of pointing the demo at the database: the flag and the variable.
    for (args, envs) in [
        (vec!["demo", "--database-url", url.as_str()], vec![]),
        (vec!["demo"], vec![("PARINDEX_DATABASE_URL", url.as_str())]),
    ] {
        let mut args = args.clone();
        args.extend(["--bind", "127.0.0.1:0"]);
        let output = Command::new(BIN)
            .args(&args)
            .current_dir(&dir)
            .env_remove("PARINDEX_DATABASE_URL")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text}");
        assert!(text.contains("đã có tài khoản"), "{text}");
    }
    // Nothing was written: the same accounts, the same audit log.
    assert_eq!(rt.block_on(audited(url.clone())), before);
    let _ = std::fs::remove_dir_all(dir);
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/index-sets")
        .join(name)
}

#[test]
fn index_set_validate_reports_the_shipped_shapes_and_refuses_bad_files() {
    let dir = temp_dir("validate");
    let so = shipped("minh-hoa-2021-so.yaml");
    let (code, out) = run(&dir, &["index-set", "validate", so.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("8 lĩnh vực / 38 tiêu chí / 85 tiêu chí thành phần; 75 + 25 = 100"),
        "{out}"
    );
    let huyen = shipped("minh-hoa-2021-huyen.yaml");
    let (code, out) = run(
        &dir,
        &["index-set", "validate", huyen.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("8 lĩnh vực / 44 tiêu chí / 94 tiêu chí thành phần; 75 + 25 = 100"),
        "{out}"
    );

    let broken = std::fs::read_to_string(&so)
        .unwrap()
        .replacen("max: 8.5", "max: 9.5", 1);
    let broken_path = dir.join("sai-tong.yaml");
    std::fs::write(&broken_path, broken).unwrap();
    let (code, out) = run(
        &dir,
        &["index-set", "validate", broken_path.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("KHÔNG HỢP LỆ"), "{out}");
    // An invalid set still reports what was read, level by level.
    assert!(
        out.contains("Đã đọc: 8 lĩnh vực / 38 tiêu chí / 85 tiêu chí thành phần"),
        "{out}"
    );
    let garbage = dir.join("rac.yaml");
    std::fs::write(&garbage, "nodes: [unclosed").unwrap();
    let (code, out) = run(
        &dir,
        &["index-set", "validate", garbage.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn index_set_checks_warn_about_unguarded_division_and_fractional_counts() {
    let dir = temp_dir("warn");
    // The shipped sets guard their divisions: valid, no warning.
    let so = shipped("minh-hoa-2021-so.yaml");
    let (code, out) = run(&dir, &["index-set", "validate", so.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hợp lệ") && !out.contains("Cảnh báo"), "{out}");
    // Without the guard a unit entering b = 0 gets no score: still valid, with a warning.
    let text = std::fs::read_to_string(&so).unwrap();
    let guarded = "\"if(b > 0, min(1, a / b), 1) * 1\"";
    assert!(text.contains(guarded));
    let unguarded = text.replacen(guarded, "\"min(1, a / b) * 1\"", 1);
    let path = dir.join("chia-khong-kiem-tra.yaml");
    std::fs::write(&path, unguarded).unwrap();
    let (code, out) = run(
        &dir,
        &["index-set", "validate", path.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Cảnh báo (1):"), "{out}");
    assert!(
        out.contains("chia cho «b» mà không xét trường hợp b = 0"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn index_set_import_export_and_diff() {
    let dir = temp_dir("sets");
    let data = dir.join("data");
    let data_arg = data.to_str().unwrap().to_owned();
    let so = shipped("minh-hoa-2021-so.yaml");
    let (code, out) = run(
        &dir,
        &[
            "index-set",
            "import",
            "--data-dir",
            &data_arg,
            so.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Đã nhập MH-2021-SO thành bản nháp"), "{out}");
    let xlsx = dir.join("so.xlsx");
    let (code, out) = run(
        &dir,
        &[
            "index-set",
            "export",
            "--data-dir",
            &data_arg,
            "MH-2021-SO",
            "--format",
            "xlsx",
            "--output",
            xlsx.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    // The exported workbook validates like the YAML it came from.
    let (code, out) = run(
        &dir,
        &["index-set", "validate", xlsx.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("8 lĩnh vực / 38 tiêu chí / 85 tiêu chí thành phần"),
        "{out}"
    );
    let (code, yaml) = run(
        &dir,
        &["index-set", "export", "--data-dir", &data_arg, "MH-2021-SO"],
        &[],
    );
    assert_eq!(code, 0, "{yaml}");
    assert!(yaml.contains("code: MH-2021-SO"));
    // Next year's set: a domain retitled, 1.1.3 renumbered 1.1.4, the bonus cap raised
    // and bonus item T1 halved. The diff against the stored set shows each value before →
    // after with a decimal comma; a file carries no code mapping, so 1.1.3 → 1.1.4 reads
    // as one removed and one added.
    let changed = std::fs::read_to_string(&so)
        .unwrap()
        .replacen("code: MH-2021-SO", "code: MH-2022-SO", 1)
        .replacen(
            "Công tác chỉ đạo, điều hành cải cách hành chính",
            "Chỉ đạo, điều hành cải cách hành chính",
            1,
        )
        .replacen("code: \"1.1.3\"", "code: \"1.1.4\"", 1)
        .replacen("bonus_cap: 2", "bonus_cap: 3", 1)
        .replacen(
            "max: 1\n    method: \"Mỗi sáng kiến",
            "max: 0.5\n    method: \"Mỗi sáng kiến",
            1,
        );
    let changed_path = dir.join("moi.yaml");
    std::fs::write(&changed_path, changed).unwrap();
    let (code, out) = run(
        &dir,
        &[
            "index-set",
            "diff",
            "--data-dir",
            &data_arg,
            "MH-2021-SO",
            changed_path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    for line in [
        "MH-2021-SO → MH-2022-SO",
        "~ Bộ chỉ số: Điểm thưởng tối đa: 2 → 3",
        "~ 1: Tên: Công tác chỉ đạo, điều hành cải cách hành chính → Chỉ đạo, điều hành cải cách hành chính",
        "- 1.1.3 Bố trí kinh phí thực hiện kế hoạch CCHC (0,25 điểm)",
        "+ 1.1.4 Bố trí kinh phí thực hiện kế hoạch CCHC (0,25 điểm)",
        "~ T1: Điểm tối đa: 1 → 0,5",
    ] {
        assert!(out.lines().any(|l| l == line), "«{line}» not in:\n{out}");
    }
    assert!(!out.contains("Ghép mã"), "{out}");

    // Stored, with the recorded old → new mapping: 1.1.3 pairs with 1.1.4.
    let (code, out) = run(
        &dir,
        &[
            "index-set",
            "import",
            "--data-dir",
            &data_arg,
            changed_path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    let url = format!("sqlite://{}?mode=rwc", data.join("parindex.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = parindex_store::Store::connect(&url, 1).await.unwrap();
        let old = store
            .find_index_set_by_code("MH-2021-SO")
            .await
            .unwrap()
            .unwrap();
        let new = store
            .find_index_set_by_code("MH-2022-SO")
            .await
            .unwrap()
            .unwrap();
        let mut tx = store
            .begin_write(parindex_store::AuditActor::system("test"))
            .await
            .unwrap();
        tx.set_code_mapping(new.id, old.id, &[("1.1.3".into(), "1.1.4".into())])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store.raw_pool_for_tests().close().await;
    });
    let (code, out) = run(
        &dir,
        &[
            "index-set",
            "diff",
            "--data-dir",
            &data_arg,
            "MH-2021-SO",
            "MH-2022-SO",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Ghép mã cũ → mới theo bảng đã lưu: 1 cặp"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l == "~ 1.1.4 (mã cũ 1.1.3): Mã: 1.1.3 → 1.1.4"),
        "{out}"
    );
    assert!(
        !out.contains("+ 1.1.4") && !out.contains("- 1.1.3"),
        "{out}"
    );

    let (code, out) = run(
        &dir,
        &[
            "index-set",
            "diff",
            "--data-dir",
            &data_arg,
            "MH-2021-SO",
            "MH-2021-SO",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Hai bộ chỉ số giống nhau."), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

// ---- Issue 10, reliability (points 16, 18, 19) ----

/// The current domain needs these to seed data in-process.
fn unit_draft(code: &str, group_id: i64) -> parindex_domain::UnitDraft {
    parindex_domain::UnitDraft {
        code: parindex_domain::UnitCode::parse(code).unwrap(),
        name_vi: parindex_domain::UnitName::parse(&format!("Đơn vị {code}")).unwrap(),
        name_en: None,
        group_id,
        parent_id: None,
        valid_from: time::macros::date!(2021 - 01 - 01),
        valid_to: None,
        successor_id: None,
    }
}

/// A group, a unit and one evidence file in the unit's library (stored, with its row).
/// Returns the unit id and the file's SHA-256.
async fn seed_with_evidence(
    store: &parindex_store::Store,
    evidence: &parindex_store::evidence::EvidenceStore,
    text: &str,
) -> (i64, String) {
    let pdf = format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {text}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    );
    let blob = put(evidence, pdf.into_bytes(), "minh-chung.pdf").await;
    let mut tx = store
        .begin_write(parindex_store::AuditActor::system("test"))
        .await
        .unwrap();
    let group = tx
        .create_group(
            &parindex_domain::GroupCode::parse("SO").unwrap(),
            "Sở, ban, ngành",
            None,
            1,
        )
        .await
        .unwrap();
    let unit = tx.create_unit(&unit_draft("STP", group.id)).await.unwrap();
    tx.add_evidence_file(&parindex_store::evidence_library::NewEvidenceFile {
        unit_id: unit.id,
        sha256: blob.clone(),
        size: 100,
        content_type: "application/pdf".into(),
        extension: "pdf".into(),
        display_name: "minh-chung.pdf".into(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (group.id, blob)
}

async fn put(
    evidence: &parindex_store::evidence::EvidenceStore,
    bytes: Vec<u8>,
    name: &str,
) -> String {
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
    evidence
        .put_data_stream(stream, name, &Default::default())
        .await
        .unwrap()
        .sha256_hex
}

fn blob_path(evidence_dir: &Path, sha: &str) -> PathBuf {
    evidence_dir
        .join("sha256")
        .join(&sha[0..2])
        .join(&sha[2..4])
        .join(sha)
}

fn age(path: &Path, by: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - by)
        .unwrap();
}

fn stop(child: &mut Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            return exit;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("parindex did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn_serve(dir: &Path, addr: &str, envs: &[(&str, &str)]) -> Child {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", addr])
        .current_dir(dir)
        .env_remove("PARINDEX_DATABASE_URL")
        .env_remove("PARINDEX_DATA_DIR")
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(addr, &mut child);
    child
}

// Point 18: a temporary upload and a blob with no row, both older than the upload timeout,
// are swept when `serve` starts; a fresh temporary, a fresh orphan and a file with its row
// are kept.
async fn crashed_uploads_leave_nothing_behind(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = temp_dir("sweep");
    let evidence_dir = dir.join("data/evidence");
    let evidence =
        parindex_store::evidence::EvidenceStore::from_env(evidence_dir.to_str().unwrap()).unwrap();
    let (_, kept) = seed_with_evidence(&db.store, &evidence, "có dòng").await;
    let orphan_old = put(&evidence, b"mo coi cu".to_vec(), "a.csv").await;
    let orphan_new = put(&evidence, b"mo coi moi".to_vec(), "b.csv").await;
    let temp_old = evidence_dir.join("tmp/upload-crashed-old");
    let temp_new = evidence_dir.join("tmp/upload-in-progress");
    std::fs::write(&temp_old, vec![0u8; 4096]).unwrap();
    std::fs::write(&temp_new, vec![0u8; 4096]).unwrap();
    let two_hours = Duration::from_secs(2 * 3600);
    for path in [
        &temp_old,
        &blob_path(&evidence_dir, &orphan_old),
        &blob_path(&evidence_dir, &kept),
    ] {
        age(path, two_hours);
    }
    let addr = format!("127.0.0.1:{}", free_port());
    let mut envs = vec![];
    if backend == Backend::Postgres {
        envs.push(("PARINDEX_DATABASE_URL", db.url.as_str()));
    } else {
        // The same SQLite file the test seeded.
        std::fs::create_dir_all(dir.join("data")).unwrap();
        envs.push(("PARINDEX_DATABASE_URL", db.url.as_str()));
    }
    let mut child = spawn_serve(&dir, &addr, &envs);
    let start = Instant::now();
    while temp_old.exists() || blob_path(&evidence_dir, &orphan_old).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not swept at start: temp {} orphan {}",
            temp_old.exists(),
            blob_path(&evidence_dir, &orphan_old).exists()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(temp_new.exists(), "an upload in progress is kept");
    assert!(
        blob_path(&evidence_dir, &orphan_new).exists(),
        "a fresh blob is kept"
    );
    assert!(
        blob_path(&evidence_dir, &kept).exists(),
        "a file with its row is kept"
    );
    assert!(evidence.exists(&kept).await.unwrap());
    assert!(stop(&mut child).success());
    db.cleanup().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_uploads_leave_nothing_behind_sqlite() {
    crashed_uploads_leave_nothing_behind(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn crashed_uploads_leave_nothing_behind_postgres() {
    crashed_uploads_leave_nothing_behind(Backend::Postgres).await;
}

// Point 16, the real binary: it raises its open-files soft limit to the hard limit, takes
// its timeouts from PARINDEX_* variables, and SIGTERM with a half-sent request open stops
// it within the shutdown deadline (it used to wait for that request forever).
#[test]
fn slow_and_idle_clients_cannot_take_the_server_down() {
    use std::io::Write;
    let dir = temp_dir("limits");
    let addr = format!("127.0.0.1:{}", free_port());
    // Started with a low soft limit, as under a default systemd unit.
    let mut child = Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -Sn 256 && exec {BIN} serve --bind {addr}"),
        ])
        .current_dir(&dir)
        .env_remove("PARINDEX_DATABASE_URL")
        .env_remove("PARINDEX_DATA_DIR")
        .env("PARINDEX_HEADER_READ_TIMEOUT_SECONDS", "60")
        .env("PARINDEX_IDLE_TIMEOUT_SECONDS", "60")
        .env("PARINDEX_SHUTDOWN_TIMEOUT_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&addr, &mut child);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_owned();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(
        numbers[0], numbers[1],
        "soft limit raised to the hard limit: {line}"
    );
    assert_ne!(numbers[0], "256", "{line}");

    // A request whose headers never finish.
    let mut half = std::net::TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let exit = stop(&mut child);
    let took = start.elapsed();
    assert!(exit.success(), "{exit}");
    // A hang guard, generous for a loaded machine: the half-sent request would hold the
    // shutdown for the 60 s header timeout without the 1 s shutdown deadline.
    assert!(took < Duration::from_secs(20), "SIGTERM took {took:?}");
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("shutdown requested"), "{log}");
    let _ = std::fs::remove_dir_all(dir);
}

// Point 19: `backup` takes a consistent copy while the server serves and another writer
// writes; `restore` puts it into a fresh folder, `audit verify` passes there, and the copy is
// the source as of one commit (the same audit record at its head, the same units up to
// it, every cited file). `restore` refuses to overwrite a database holding data without
// --force. On PostgreSQL, `backup` copies the evidence store and points to pg_dump.
async fn backup_and_restore_are_commands(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = temp_dir("backup");
    let data = dir.join("data");
    let evidence_dir = data.join("evidence");
    let evidence =
        parindex_store::evidence::EvidenceStore::from_env(evidence_dir.to_str().unwrap()).unwrap();
    let (group, cited) = seed_with_evidence(&db.store, &evidence, "sao lưu").await;
    let url = db.url.clone();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = spawn_serve(&dir, &addr, &[("PARINDEX_DATABASE_URL", url.as_str())]);

    // Writes going on during the backup: units created one by one, each with its audit record.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let store = db.store.clone();
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) && n < 400 {
                let mut tx = store
                    .begin_write(parindex_store::AuditActor::system("writer"))
                    .await
                    .unwrap();
                tx.create_unit(&unit_draft(&format!("U{n:03}"), group))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                n += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let backup_dir = dir.join("backup");
    let (code, out) = {
        let mut args = vec!["backup", backup_dir.to_str().unwrap(), "--data-dir"];
        args.push(data.to_str().unwrap());
        let url = url.clone();
        let dir = dir.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let mut full: Vec<&str> = args.iter().map(String::as_str).collect();
            full.extend(["--database-url", &url]);
            run(&dir, &full, &[])
        })
        .await
        .unwrap()
    };
    assert_eq!(code, 0, "{out}");
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0);
    assert!(
        blob_path(&backup_dir.join("evidence"), &cited).exists(),
        "{out}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(backup_dir.join("backup.json")).unwrap())
            .unwrap();
    assert!(stop(&mut server).success());

    if backend == Backend::Postgres {
        assert!(out.contains("pg_dump"), "{out}");
        assert!(!backup_dir.join("parindex.db").exists());
        // The evidence goes back into a fresh store; the database comes from pg_restore.
        let fresh = dir.join("fresh-evidence");
        let (code, out) = run(
            &dir,
            &[
                "restore",
                backup_dir.to_str().unwrap(),
                "--database-url",
                &url,
                "--storage-url",
                fresh.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("Audit chain intact"), "{out}");
        assert!(blob_path(&fresh, &cited).exists());
        db.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
        return;
    }

    // SQLite: restore into a fresh folder.
    let restored = dir.join("restored");
    let restored_arg = restored.to_str().unwrap();
    let (code, out) = run(
        &dir,
        &[
            "restore",
            backup_dir.to_str().unwrap(),
            "--data-dir",
            restored_arg,
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Audit chain intact"), "{out}");
    let (code, out) = run(&dir, &["audit", "verify", "--data-dir", restored_arg], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(blob_path(&restored.join("evidence"), &cited).exists());

    let copy = parindex_store::Store::connect(
        &format!(
            "sqlite://{}?mode=rwc",
            restored.join("parindex.db").display()
        ),
        1,
    )
    .await
    .unwrap();
    let (seq, hash) = copy.audit_head().await.unwrap();
    assert_eq!(manifest["audit_seq"], seq);
    assert_eq!(manifest["audit_hash"], hash.as_str());
    // The source's record at that number has the same hash: the copy is the source as of
    // one commit.
    let source_hash: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
        .bind(seq)
        .fetch_one(db.store.raw_pool_for_tests())
        .await
        .unwrap();
    assert_eq!(source_hash, hash);
    let count = |store: parindex_store::Store, sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(store.raw_pool_for_tests())
            .await
            .unwrap()
    };
    let restored_units = count(copy.clone(), "SELECT CAST(COUNT(*) AS BIGINT) FROM units").await;
    let source_units_then: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = 'unit.create' AND seq <= $1",
    )
    .bind(seq)
    .fetch_one(db.store.raw_pool_for_tests())
    .await
    .unwrap();
    assert_eq!(restored_units, source_units_then);
    assert!(restored_units >= 1);
    copy.raw_pool_for_tests().close().await;

    // A database holding data is not overwritten unless asked.
    let (code, out) = run(
        &dir,
        &[
            "restore",
            backup_dir.to_str().unwrap(),
            "--data-dir",
            restored_arg,
        ],
        &[],
    );
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("đã có dữ liệu") && out.contains("--force"),
        "{out}"
    );
    let (code, out) = run(
        &dir,
        &[
            "restore",
            backup_dir.to_str().unwrap(),
            "--data-dir",
            restored_arg,
            "--force",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    // A backup folder is never written over either.
    let (code, out) = run(
        &dir,
        &[
            "backup",
            backup_dir.to_str().unwrap(),
            "--data-dir",
            restored_arg,
        ],
        &[],
    );
    assert_ne!(code, 0, "{out}");
    db.cleanup().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_are_commands_sqlite() {
    backup_and_restore_are_commands(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn backup_and_restore_are_commands_postgres() {
    backup_and_restore_are_commands(Backend::Postgres).await;
}

// Point 19: `backup` pointed at a folder (or SQLite URL) with no database refuses, instead of
// creating an empty database there and reporting a "successful" backup of nothing; the same
// command on the folder once it holds a database writes the backup.
#[test]
fn backup_refuses_a_source_without_a_database() {
    let dir = temp_dir("backup-empty");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("other.db").display());
    for (n, source) in [
        vec!["--data-dir", data.to_str().unwrap()],
        vec!["--database-url", url.as_str()],
    ]
    .into_iter()
    .enumerate()
    {
        let dest = dir.join(format!("b{n}"));
        let mut args = vec!["backup", dest.to_str().unwrap()];
        args.extend(source);
        let (code, out) = run(&dir, &args, &[]);
        assert_ne!(code, 0, "{out}");
        assert!(out.contains("không có cơ sở dữ liệu"), "{out}");
        assert!(!dest.join("backup.json").exists(), "{out}");
    }
    assert!(!data.join("parindex.db").exists());
    assert!(!dir.join("other.db").exists());

    let (code, out) = run(
        &dir,
        &["migrate", "--data-dir", data.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    let dest = dir.join("b-real");
    let (code, out) = run(
        &dir,
        &[
            "backup",
            dest.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Backup written"), "{out}");
    assert!(dest.join("backup.json").exists() && dest.join("parindex.db").exists());
    let _ = std::fs::remove_dir_all(dir);
}
