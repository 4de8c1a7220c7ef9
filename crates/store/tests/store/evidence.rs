//! The evidence blob store, proved on both backends: local disk (a temporary folder) and a real
//! S3-compatible server on loopback (moto's server, started here; installed with pip when
//! missing). Where `moto_server` is not on the PATH the S3 half is reported ignored (the
//! `parindex_s3` cfg of `build.rs`); under `CI=true` it runs, and fails without a server.
//!
//! These tests need no database. They stream hundreds of megabytes, so the heavy ones take
//! turns where memory is measured.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use parindex_store::evidence::{
    EvidenceError, EvidenceStore, S3Settings, StoredBlob, UploadLimits, safe_display_name,
};
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

// --- The two backends ---------------------------------------------------------------------------

/// A fresh, empty store on one backend.
struct Target {
    store: EvidenceStore,
    backend: &'static str,
    /// Local disk: the folder holding the store's root (`<dir>/store`), to check that nothing
    /// is created beside it.
    dir: Option<tempfile::TempDir>,
    /// S3: the server and this test's prefix, to look for multipart uploads left behind.
    s3: Option<(&'static S3Server, String)>,
}

impl Target {
    fn local() -> Target {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("store");
        let url = format!("file://{}", root.display());
        let store = EvidenceStore::open(&url, &S3Settings::default()).expect("local store");
        Target {
            store,
            backend: "local disk",
            dir: Some(dir),
            s3: None,
        }
    }

    /// A store under a prefix of its own in the test bucket; fails when no S3 server starts.
    fn s3(test: &str) -> Target {
        let Some(server) = s3_server() else {
            let why = S3_UNAVAILABLE
                .get()
                .map(String::as_str)
                .unwrap_or("unknown");
            panic!(
                "no S3-compatible server could be started: {why}. Install moto: python3 -m pip \
                 install 'moto[server]'"
            );
        };
        let prefix = format!("{test}-{}", random_hex());
        let url = format!("s3://{}/{prefix}", server.bucket);
        let store = EvidenceStore::open(&url, &server.settings()).expect("s3 store");
        Target {
            store,
            backend: "S3",
            dir: None,
            s3: Some((server, prefix)),
        }
    }

    async fn keys(&self) -> Vec<String> {
        self.store.list_keys().await.expect("list")
    }

    /// Nothing stored, and on S3 no unfinished multipart upload either (they cost storage).
    async fn assert_empty(&self) {
        assert_eq!(self.keys().await, Vec::<String>::new(), "{}", self.backend);
        if let Some((server, prefix)) = &self.s3 {
            let (status, body) = http_request(
                server.port,
                "GET",
                &format!("/{}?uploads&prefix={prefix}", server.bucket),
            )
            .expect("list multipart uploads");
            assert_eq!(status, 200, "{body}");
            assert!(
                body.contains("ListMultipartUploadsResult") && !body.contains("<Upload>"),
                "unfinished multipart uploads: {body}"
            );
        }
    }
}

/// Runs a test body once on local disk and once on S3, each as its own `#[tokio::test]`.
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn local_disk() {
                super::$name(super::Target::local()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(parindex_s3), ignore = "needs moto_server on the PATH (S3)")]
            async fn s3() {
                super::$name(super::Target::s3(stringify!($name))).await;
            }
        }
    };
}

/// Tests that stream 100 MB or more take turns, so that memory measurements see one upload.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// --- Streams and files --------------------------------------------------------------------------

type ChunkResult = Result<Bytes, std::io::Error>;

fn once(bytes: &[u8]) -> impl Stream<Item = ChunkResult> + Unpin {
    stream::iter(vec![Ok(Bytes::copy_from_slice(bytes))])
}

fn in_chunks(bytes: &[u8], size: usize) -> impl Stream<Item = ChunkResult> + Unpin {
    let chunks: Vec<ChunkResult> = bytes
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

/// `total` bytes of a "PDF" generated on the fly in fresh 64 KiB chunks (as a server receives
/// them), never held whole; `pulled` counts what the consumer took.
fn generated_pdf(
    total: u64,
    seed: u64,
    pulled: Arc<AtomicU64>,
) -> impl Stream<Item = ChunkResult> + Unpin {
    let mut template = vec![0u8; CHUNK];
    for (i, b) in template.iter_mut().enumerate() {
        *b = (i as u64).wrapping_mul(2_654_435_761).wrapping_add(seed) as u8;
    }
    let chunks = total.div_ceil(CHUNK as u64);
    stream::iter((0..chunks).map(move |index| {
        let len = (total - index * CHUNK as u64).min(CHUNK as u64) as usize;
        let mut chunk = template[..len].to_vec();
        let mark = index.to_le_bytes();
        let n = mark.len().min(len);
        chunk[..n].copy_from_slice(&mark[..n]);
        if index == 0 {
            let header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
            chunk[..header.len()].copy_from_slice(header);
        }
        pulled.fetch_add(len as u64, Ordering::Relaxed);
        Ok(Bytes::from(chunk))
    }))
}

async fn sha_of_stream<S, E>(mut stream: S) -> (String, u64)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Debug,
{
    let mut hasher = Sha256::new();
    let mut size = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    (hex::encode(hasher.finalize()), size)
}

async fn download(store: &EvidenceStore, sha: &str) -> Vec<u8> {
    let mut got = store.get(sha).await.expect("get");
    let mut bytes = Vec::with_capacity(got.size as usize);
    while let Some(chunk) = got.stream.next().await {
        bytes.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(bytes.len() as u64, got.size);
    bytes
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn minimal_pdf(text: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n\
         % {text}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// A 1×1 PNG.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

fn zip_file(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, stored) in entries {
        let method = if *stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default().compression_method(method);
        writer.start_file(*name, options).expect("zip entry");
        writer.write_all(data).expect("zip data");
    }
    writer.finish().expect("zip").into_inner()
}

/// A minimal Word document, as Word lays it out.
fn minimal_docx() -> Vec<u8> {
    zip_file(&[
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
            false,
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#,
            false,
        ),
        (
            "word/document.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>Báo cáo tự đánh giá</w:t></w:r></w:p></w:body></w:document>".as_bytes(),
            false,
        ),
    ])
}

fn minimal_odt() -> Vec<u8> {
    zip_file(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text", true),
        (
            "content.xml",
            b"<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\"/>",
            false,
        ),
    ])
}

/// A real workbook from rust_xlsxwriter (its entry order differs from Excel's).
fn minimal_xlsx() -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "Chỉ số").expect("cell");
    sheet.write_number(0, 1, 9.5).expect("cell");
    workbook.save_to_buffer().expect("xlsx")
}

fn elf_executable(len: usize) -> Vec<u8> {
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
    elf.resize(len, 0x90);
    elf
}

fn windows_executable(len: usize) -> Vec<u8> {
    let mut mz = vec![0u8; len.max(0x100)];
    mz[..2].copy_from_slice(b"MZ");
    mz[0x3C] = 0x80;
    mz[0x80..0x84].copy_from_slice(b"PE\0\0");
    mz
}

// --- The tests ----------------------------------------------------------------------------------

both_backends!(too_large_is_refused_without_storing);
async fn too_large_is_refused_without_storing(t: Target) {
    let _heavy = HEAVY.lock().await;
    let pulled = Arc::new(AtomicU64::new(0));
    let stream = generated_pdf(200 * MIB, 1, pulled.clone());
    let err = t
        .store
        .put_stream(stream, "bao-cao-lon.pdf", &UploadLimits::default())
        .await
        .expect_err("a 200 MB file must be refused");
    assert!(
        matches!(err, EvidenceError::TooLarge { max_mb: 100 }),
        "{}: {err:?}",
        t.backend
    );
    assert_eq!(
        err.to_string(),
        "Tệp quá lớn: mỗi tệp minh chứng tối đa 100 MB"
    );
    // Refused as soon as it passed the limit, not after reading everything.
    let read = pulled.load(Ordering::Relaxed);
    assert!(
        read <= 100 * MIB + CHUNK as u64,
        "{}: read {read} bytes",
        t.backend
    );
    t.assert_empty().await;

    // A smaller limit is honoured the same way, also when passed inside the first bytes.
    let limits = UploadLimits::from_mb(1);
    let err = t
        .store
        .put_stream(generated_pdf(3 * MIB, 2, Arc::default()), "x.pdf", &limits)
        .await
        .expect_err("over 1 MB");
    assert!(matches!(err, EvidenceError::TooLarge { max_mb: 1 }));
    let tiny = UploadLimits { max_bytes: 100 };
    let err = t
        .store
        .put_stream(once(&minimal_pdf("x")), "x.pdf", &tiny)
        .await
        .expect_err("over 100 bytes");
    assert!(matches!(err, EvidenceError::TooLarge { .. }));
    t.assert_empty().await;
}

both_backends!(hundred_mb_upload_streams_in_bounded_memory);
async fn hundred_mb_upload_streams_in_bounded_memory(t: Target) {
    let _heavy = HEAVY.lock().await;
    let size = 100 * MIB;
    let (expected_sha, _) = sha_of_stream(generated_pdf(size, 7, Arc::default())).await;

    let sampler = RssSampler::start();
    let started = Instant::now();
    let stored = t
        .store
        .put_stream(
            generated_pdf(size, 7, Arc::default()),
            "Hồ sơ 100MB.pdf",
            &UploadLimits::default(),
        )
        .await
        .expect("a 100 MB upload is within the limit");
    let elapsed = started.elapsed();
    let (baseline, peak) = sampler.stop();
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "{}: 100 MiB stored in {elapsed:.2?}; RSS {} MiB -> peak {} MiB (+{} MiB)",
        t.backend,
        baseline / MIB,
        peak / MIB,
        growth / MIB
    );
    assert!(
        growth < 40 * MIB,
        "{}: RSS grew by {} MiB for a 100 MiB upload",
        t.backend,
        growth / MIB
    );
    assert_eq!(
        stored,
        StoredBlob {
            sha256_hex: expected_sha.clone(),
            size,
            content_type: "application/pdf",
            extension: "pdf",
            already_stored: false,
        }
    );
    let sha = &expected_sha;
    assert_eq!(
        t.keys().await,
        vec![format!("sha256/{}/{}/{sha}", &sha[..2], &sha[2..4])],
        "{}: one blob, no temporary left",
        t.backend
    );

    // The download streams the same bytes back.
    let got = t.store.get(sha).await.expect("get");
    assert_eq!(got.size, size);
    assert_eq!(
        sha_of_stream(got.stream).await,
        (expected_sha.clone(), size)
    );
    t.store.delete(sha).await.expect("delete");
    assert!(!t.store.exists(sha).await.expect("exists"));
}

both_backends!(renamed_executables_and_other_disguises_are_refused);
async fn renamed_executables_and_other_disguises_are_refused(t: Target) {
    let limits = UploadLimits::default();
    for (what, bytes) in [
        ("ELF", elf_executable(4096)),
        ("PE", windows_executable(4096)),
        // Larger than the sniffed head: refused before anything is written.
        ("large ELF", elf_executable(300 * 1024)),
    ] {
        let err = t
            .store
            .put_stream(in_chunks(&bytes, 1000), "baocao.pdf", &limits)
            .await
            .expect_err(what);
        assert!(
            matches!(err, EvidenceError::TypeNotAllowed { expected, .. } if expected == "PDF"),
            "{what}: {err:?}"
        );
        assert!(
            err.to_string().starts_with(
                "Tệp «baocao.pdf» không phải là PDF thật (nội dung là tệp thực thi); chỉ chấp nhận PDF"
            ),
            "{err}"
        );
    }
    // A plain ZIP is not a Word document, a PDF is not an image, HTML is not a spreadsheet.
    let plain_zip = zip_file(&[("setup.exe", &windows_executable(512), false)]);
    for (bytes, name, detected) in [
        (plain_zip, "Quyết định.docx", "tệp nén ZIP"),
        (minimal_pdf("x"), "anh.png", "PDF"),
        (
            b"<html><body>hi</body></html>".to_vec(),
            "bang.xlsx",
            "văn bản HTML",
        ),
    ] {
        let err = t
            .store
            .put_stream(once(&bytes), name, &limits)
            .await
            .expect_err(name);
        assert!(err.to_string().contains(detected), "{name}: {err}");
    }
    // Extensions outside the list are refused before reading.
    for name in [
        "setup.exe",
        "script.sh",
        "khong-co-duoi",
        "anh.svg",
        "trang.html",
    ] {
        let err = t
            .store
            .put_stream(once(&minimal_pdf("x")), name, &limits)
            .await
            .expect_err(name);
        assert!(
            matches!(err, EvidenceError::ExtensionNotAllowed { .. }),
            "{name}: {err:?}"
        );
    }
    let err = t
        .store
        .put_stream(once(b""), "rong.pdf", &limits)
        .await
        .expect_err("empty");
    assert_eq!(err.to_string(), "Tệp «rong.pdf» rỗng (0 byte)");
    assert!(!err.is_internal());
    t.assert_empty().await;
}

both_backends!(path_traversal_names_are_harmless);
async fn path_traversal_names_are_harmless(t: Target) {
    let names = [
        "../../etc/passwd.pdf",
        "..\\..\\Windows\\System32\\drivers.pdf",
        "/etc/cron.d/evil.pdf",
        "a/../../../b.pdf",
        "..%2f..%2fescape.pdf",
        "C:\\boot.pdf",
        "nul\0byte.pdf",
        "..",
    ];
    let limits = UploadLimits::default();
    for (i, name) in names.iter().enumerate() {
        // Small files (one write) and large ones (through a temporary object).
        let content = if i % 2 == 0 {
            minimal_pdf(name)
        } else {
            let mut big = minimal_pdf(name);
            big.resize(200 * 1024, b' ');
            big
        };
        let result = t
            .store
            .put_stream(in_chunks(&content, 16 * 1024), name, &limits)
            .await;
        if *name == ".." {
            // No extension left: refused, nothing written.
            assert!(matches!(
                result,
                Err(EvidenceError::ExtensionNotAllowed { .. })
            ));
            continue;
        }
        let stored = result.expect(name);
        assert_eq!(stored.sha256_hex, sha_hex(&content));
        assert_eq!(download(&t.store, &stored.sha256_hex).await, content);
    }
    let keys = t.keys().await;
    assert_eq!(keys.len(), names.len() - 1, "{keys:?}");
    for key in &keys {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 4, "{key}");
        assert_eq!(parts[0], "sha256");
        assert!(
            parts[3].len() == 64 && parts[3].starts_with(parts[1]),
            "{key}"
        );
    }
    if let Some(dir) = &t.dir {
        // Nothing beside the store's root, nothing in it but blobs and the empty tmp folder.
        let beside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(beside, vec!["store"]);
        let mut top: Vec<_> = std::fs::read_dir(dir.path().join("store"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        top.sort();
        assert_eq!(top, vec!["sha256", "tmp"]);
        assert_eq!(
            std::fs::read_dir(dir.path().join("store/tmp"))
                .unwrap()
                .count(),
            0
        );
    }
    // The display names are clean.
    assert_eq!(safe_display_name(names[0]), "passwd.pdf");
    assert_eq!(safe_display_name(names[1]), "drivers.pdf");
    assert_eq!(safe_display_name(names[6]), "nulbyte.pdf");
}

both_backends!(identical_content_is_stored_once);
async fn identical_content_is_stored_once(t: Target) {
    let limits = UploadLimits::default();
    let small = minimal_pdf("một lần");
    let mut large = minimal_pdf("lớn");
    large.resize(3 * 1024 * 1024 / 2, b'%');
    for content in [&small, &large] {
        let first = t
            .store
            .put_stream(in_chunks(content, CHUNK), "Lần 1.pdf", &limits)
            .await
            .expect("first");
        let second = t
            .store
            .put_stream(in_chunks(content, 10_000), "lan-2 (ban sao).PDF", &limits)
            .await
            .expect("second");
        assert_eq!(first.sha256_hex, second.sha256_hex);
        assert_eq!(first.size, content.len() as u64);
        assert!(!first.already_stored);
        assert!(second.already_stored, "{}", t.backend);
    }
    let keys = t.keys().await;
    assert_eq!(keys.len(), 2, "{}: {keys:?}", t.backend);
    assert!(keys.iter().all(|k| k.starts_with("sha256/")), "{keys:?}");
    assert_eq!(download(&t.store, &sha_hex(&large)).await, large);
}

both_backends!(real_documents_are_accepted_and_read_back);
async fn real_documents_are_accepted_and_read_back(t: Target) {
    let limits = UploadLimits::default();
    let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let cases: Vec<(Vec<u8>, &str, &str, &str)> = vec![
        (
            minimal_pdf("Biên bản"),
            "Biên bản họp.pdf",
            "application/pdf",
            "pdf",
        ),
        (PNG_1X1.to_vec(), "ảnh chụp.PNG", "image/png", "png"),
        (minimal_docx(), "Báo cáo.docx", docx, "docx"),
        (minimal_xlsx(), "Số liệu.xlsx", xlsx, "xlsx"),
        (
            minimal_odt(),
            "Tờ trình.odt",
            "application/vnd.oasis.opendocument.text",
            "odt",
        ),
    ];
    for (bytes, name, content_type, extension) in &cases {
        // Odd chunk sizes: the type is decided on the joined head.
        let stored = t
            .store
            .put_stream(in_chunks(bytes, 7), name, &limits)
            .await
            .unwrap_or_else(|e| panic!("{}: {name}: {e}", t.backend));
        assert_eq!(stored.content_type, *content_type, "{name}");
        assert_eq!(stored.extension, *extension, "{name}");
        assert_eq!(stored.size, bytes.len() as u64);
        assert_eq!(stored.sha256_hex, sha_hex(bytes));
        assert!(t.store.exists(&stored.sha256_hex).await.unwrap());
        assert_eq!(
            &download(&t.store, &stored.sha256_hex).await,
            bytes,
            "{name}"
        );
    }
    // Lookups validate the hash first and say when it is missing.
    assert!(matches!(
        t.store.get("../../etc/passwd").await,
        Err(EvidenceError::InvalidSha256)
    ));
    let missing = "0".repeat(64);
    assert!(matches!(
        t.store.get(&missing).await,
        Err(EvidenceError::NotFound)
    ));
    assert!(!t.store.exists(&missing).await.unwrap());
    t.store
        .delete(&missing)
        .await
        .expect("deleting nothing is fine");
}

both_backends!(an_interrupted_upload_leaves_nothing);
async fn an_interrupted_upload_leaves_nothing(t: Target) {
    let mut content = minimal_pdf("dở dang");
    content.resize(6 * MIB as usize, b'.');
    let mut chunks: Vec<ChunkResult> = content
        .chunks(CHUNK)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    chunks.push(Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "client went away",
    )));
    let err = t
        .store
        .put_stream(stream::iter(chunks), "x.pdf", &UploadLimits::default())
        .await
        .expect_err("interrupted");
    assert!(matches!(err, EvidenceError::Interrupted(_)), "{err:?}");
    t.assert_empty().await;
    assert_eq!(t.store.sweep_temporaries(0).await.unwrap(), 0);
}

/// Handlers spawn uploads on a multi-threaded runtime: the future must be `Send`.
#[test]
fn an_upload_is_a_send_future() {
    fn assert_send<T: Send>(_: T) {}
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::open(dir.path().to_str().unwrap(), &S3Settings::default()).unwrap();
    let limits = UploadLimits::default();
    // Not Unpin, and its error type is an axum-like boxed error.
    let stream = futures_util::stream::unfold(0u8, |n| async move {
        (n < 1).then(|| {
            (
                Ok::<Bytes, Box<dyn std::error::Error + Send + Sync>>(Bytes::new()),
                n + 1,
            )
        })
    });
    assert_send(store.put_stream(stream, "x.pdf", &limits));
}

// --- Memory ----------------------------------------------------------------------------------------

/// Samples this process's resident set size until stopped; reports the first and the peak.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, u64)>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let baseline = rss_bytes();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = baseline;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(rss_bytes());
                std::thread::sleep(Duration::from_millis(10));
            }
            (baseline, peak.max(rss_bytes()))
        });
        RssSampler { stop, thread }
    }

    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("sampler")
    }
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS kB");
    kb * 1024
}

// --- The S3 server: moto on loopback, one per test run ---------------------------------------------

struct S3Server {
    port: u16,
    endpoint: String,
    bucket: String,
}

impl S3Server {
    fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".to_string()),
            access_key_id: Some("testing".to_string()),
            secret_access_key: Some("testing".to_string()),
            allow_http: false,
        }
    }
}

static S3_UNAVAILABLE: OnceLock<String> = OnceLock::new();

fn s3_server() -> Option<&'static S3Server> {
    static SERVER: OnceLock<Option<S3Server>> = OnceLock::new();
    SERVER
        .get_or_init(|| match start_moto() {
            Ok(server) => Some(server),
            Err(why) => {
                let _ = S3_UNAVAILABLE.set(why);
                None
            }
        })
        .as_ref()
}

/// Starts moto's S3 server on a free loopback port (installing moto first if it is missing,
/// within a time limit) and creates the test bucket. The server is stopped by a small shell
/// watchdog when this test process exits.
fn start_moto() -> Result<S3Server, String> {
    let command = match moto_command() {
        Some(command) => command,
        None => {
            eprintln!(
                "moto_server not found; installing it: python3 -m pip install 'moto[server]'"
            );
            let mut install = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "moto[server]"])
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
            if !wait_with_deadline(&mut install, Duration::from_secs(240))? {
                return Err("pip install 'moto[server]' failed".to_string());
            }
            moto_command().ok_or("moto is installed but cannot be started")?
        }
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let log = std::env::temp_dir().join(format!("parindex-moto-{port}.log"));
    // The watchdog: moto lives as long as this process does.
    let script = format!(
        "{command} -H 127.0.0.1 -p {port} >'{log}' 2>&1 & m=$!; \
         trap 'kill $m 2>/dev/null' EXIT INT TERM; \
         while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 0.5; done",
        log = log.display(),
        parent = std::process::id(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let bucket = "parindex-evidence-test".to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match http_request(port, "PUT", &format!("/{bucket}")) {
            Ok((200, _)) => break,
            Ok((status, body)) => {
                return Err(format!(
                    "creating the bucket answered HTTP {status}: {body}"
                ));
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "moto did not answer on port {port}: {e}; log: {tail}"
                ));
            }
        }
    }
    // moto keeps writing to the unlinked log; it was only needed if the start failed.
    let _ = std::fs::remove_file(&log);
    Ok(S3Server {
        port,
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket,
    })
}

/// `moto_server` on the PATH, or moto importable by python3.
fn moto_command() -> Option<String> {
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| dir.join("moto_server").is_file())
    });
    if on_path {
        return Some("moto_server".to_string());
    }
    let importable = Command::new("python3")
        .args(["-c", "import moto.server, flask"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    importable.then(|| "python3 -m moto.server".to_string())
}

/// Waits for `child` until `limit`; kills it when late. True when it exited successfully.
fn wait_with_deadline(child: &mut Child, limit: Duration) -> Result<bool, String> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => return Ok(status.success()),
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(250)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("gave up after {limit:?}"));
            }
        }
    }
}

/// A bare HTTP/1.1 request to moto (it needs no signature): the status and the body.
fn http_request(port: u16, method: &str, target: &str) -> std::io::Result<(u16, String)> {
    let mut conn = TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        conn,
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    conn.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {response:.80}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("randomness");
    hex::encode(bytes)
}
