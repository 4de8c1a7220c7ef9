//! Reliability under a full disk, a database outage and slow or idle clients (issue 10,
//! points 15 to 17): the server answers 507 or 503 with a Vietnamese message (JSON for the
//! autosave), recovers with no restart, keeps /readyz honest, and closes what would exhaust
//! it.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use parindex_store::{AuditActor, Backend, Store, StoreOptions};
use parindex_web::AppState;
use parindex_web::server::ServerLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{TestApp, TestClient, TestResponse};
use crate::web_test;

/// The bound of every timed wait here: a hang guard, not a performance target (the timeouts
/// under test are 1 to 2 s, their absence would be minutes or forever), generous for a loaded
/// 2-core machine running every test at once.
const HANG: Duration = Duration::from_secs(20);

/// The same application over another store (same database, other pool settings).
fn over_store(app: TestApp, store: Store) -> TestApp {
    let state = AppState::new(
        store,
        (*app.state.config).clone(),
        (*app.state.evidence).clone(),
    );
    let router = parindex_web::app(state.clone());
    TestApp {
        db: app.db,
        state,
        router,
        seed: app.seed,
        evidence_dir: app.evidence_dir,
    }
}

/// The first binary leaf of the departments set, which the unit officer saves.
fn binary_leaf() -> String {
    crate::support::fixtures::so_set()
        .leaves()
        .find(|l| matches!(l.rule, Some(parindex_domain::rules::RuleSpec::Binary)))
        .unwrap()
        .code
        .clone()
}

/// Posts a form as the autosave script does (Accept: application/json), with the CSRF token.
async fn autosave(client: &mut TestClient, path: &str, fields: &[(&str, &str)]) -> TestResponse {
    let token = client.csrf().await;
    let mut all = fields.to_vec();
    all.push(("csrf", &token));
    client
        .send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(Body::from(serde_urlencoded::to_string(&all).unwrap()))
                .unwrap(),
        )
        .await
}

async fn readyz(app: &TestApp) -> (TestResponse, Duration) {
    let start = Instant::now();
    let response = app.client().get("/readyz").await;
    (response, start.elapsed())
}

/// Makes the database refuse to grow: on SQLite its page count is capped at its current size
/// (after a VACUUM, so no free page is left); on PostgreSQL a trigger answers `disk_full`
/// (SQLSTATE 53100), as a full disk would.
async fn fill_disk(store: &Store) {
    let sql = match store.backend() {
        Backend::Sqlite => "VACUUM; PRAGMA max_page_count = 1;",
        Backend::Postgres => {
            "CREATE OR REPLACE FUNCTION parindex_test_disk_full() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$ LANGUAGE plpgsql; \
             DROP TRIGGER IF EXISTS parindex_test_disk_full ON leaf_entries; \
             CREATE TRIGGER parindex_test_disk_full BEFORE INSERT OR UPDATE ON leaf_entries \
             FOR EACH ROW EXECUTE FUNCTION parindex_test_disk_full();"
        }
    };
    sqlx::raw_sql(sql)
        .execute(store.raw_pool_for_tests())
        .await
        .unwrap();
}

async fn free_disk(store: &Store) {
    let sql = match store.backend() {
        Backend::Sqlite => "PRAGMA max_page_count = 1073741823;",
        Backend::Postgres => "DROP TRIGGER IF EXISTS parindex_test_disk_full ON leaf_entries;",
    };
    sqlx::raw_sql(sql)
        .execute(store.raw_pool_for_tests())
        .await
        .unwrap();
}

// Point 15. One pooled connection, so that the connection that failed is the one used next:
// before the fix it stayed inside its dead transaction and every later write failed with
// "attempted to call begin_with at non-zero transaction depth".
web_test!(
    a_full_disk_never_poisons_the_database,
    |app: TestApp| async move {
        let store = Store::connect(&app.db.url, 1).await.unwrap();
        let app = over_store(app, store.clone());
        let period = crate::support::fixtures::open_period(&app).await;
        let stp = app.seed.unit_stp;
        let code = binary_leaf();
        let path = format!("/periods/{period}/units/{stp}/leaves/{code}");
        let mut officer = app.login_as("canbo.stp").await;
        // Long enough to need new pages (the entry, its history and its audit record).
        let note = "Ghi chú minh chứng rất dài. ".repeat(300);
        let fields = [("value", "yes"), ("version", "0"), ("note", note.as_str())];

        // While full: 507 with a Vietnamese message, JSON for the autosave, nothing saved.
        fill_disk(&store).await;
        let r = autosave(&mut officer, &path, &fields).await;
        assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.body);
        let json: serde_json::Value = serde_json::from_str(&r.body).expect("JSON for the autosave");
        assert_eq!(json["ok"], false);
        assert!(
            json["error"]
                .as_str()
                .unwrap()
                .contains("hết dung lượng lưu trữ"),
            "{}",
            r.body
        );
        fill_disk(&store).await;
        let r = officer.post(&path, &fields).await;
        assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.body);
        assert!(r.body.contains("Hết dung lượng lưu trữ"), "{}", r.body);
        assert!(
            app.store()
                .leaf_entry(period, stp, &code)
                .await
                .unwrap()
                .is_none()
        );
        if store.backend() == Backend::Sqlite {
            // The probe allocates space like a write: it sees the full database.
            fill_disk(&store).await;
            let (r, took) = readyz(&app).await;
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
            assert_eq!(r.body, "storage full");
            assert!(took < Duration::from_secs(2), "{took:?}");
        }

        // Space returns: the same save works, with no restart, and /readyz says so.
        free_disk(&store).await;
        let r = autosave(&mut officer, &path, &fields).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(json["ok"], true, "{}", r.body);
        let entry = app
            .store()
            .leaf_entry(period, stp, &code)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(entry.note, note.trim());
        let (r, _) = readyz(&app).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "ready"));

        // The mechanism itself: a transaction that SQLite ended on its own (as it may on
        // SQLITE_FULL), so that COMMIT and the ROLLBACK after it both fail. The connection is
        // discarded, not pooled again: the next write begins and commits.
        let mut tx = store.begin_write(AuditActor::system("test")).await.unwrap();
        tx.audit("test.probe", "test", 1, None, None).await.unwrap();
        sqlx::raw_sql("ROLLBACK")
            .execute(tx.raw_conn_for_tests())
            .await
            .unwrap();
        let committed = tx.commit().await;
        if store.backend() == Backend::Sqlite {
            assert!(
                committed.is_err(),
                "COMMIT with no transaction fails on SQLite"
            );
        }
        for _ in 0..3 {
            let mut tx = store.begin_write(AuditActor::system("test")).await.unwrap();
            tx.audit("test.after", "test", 1, None, None).await.unwrap();
            tx.commit().await.unwrap();
        }
        let (r, _) = readyz(&app).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "ready"));
        assert!(matches!(
            store.audit_verify().await.unwrap(),
            parindex_store::ChainReport::Intact { .. }
        ));
        store.raw_pool_for_tests().close().await;
        app
    }
);

/// A loopback TCP proxy to `target`, stopped by aborting its task (which drops every
/// connection through it): a database that becomes unreachable.
async fn start_proxy(listener: TcpListener, target: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pipes = tokio::task::JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let target = target.clone();
            pipes.spawn(async move {
                if let Ok(mut server) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    })
}

/// The host:port of a PostgreSQL URL (`postgres://user@host:port/db`).
fn host_port(url: &str) -> String {
    let rest = &url[url
        .find('@')
        .map_or(url.find("://").unwrap() + 3, |at| at + 1)..];
    rest.split(['/', '?']).next().unwrap().to_owned()
}

// Point 17. The pool waits at most its acquire timeout (1 s here), then the request is
// answered 503 with Retry-After and a Vietnamese message; /readyz answers within 2 s.
// PostgreSQL: the database disappears behind a proxy, then comes back. SQLite: another
// process holds the write lock.
web_test!(
    a_database_outage_gives_clean_503s,
    |app: TestApp| async move {
        let options = StoreOptions {
            max_connections: 2,
            acquire_timeout: Duration::from_secs(1),
            ..StoreOptions::default()
        };
        let backend = app.store().backend();
        let (store, proxy) = match backend {
            Backend::Sqlite => (
                Store::connect_with(&app.db.url, options).await.unwrap(),
                None,
            ),
            Backend::Postgres => {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let target = host_port(&app.db.url);
                let proxy = start_proxy(listener, target.clone()).await;
                let url = app.db.url.replacen(&target, &addr.to_string(), 1);
                let store = Store::connect_with(&url, options).await.unwrap();
                (store, Some((proxy, addr, target)))
            }
        };
        let app = over_store(app, store.clone());
        let period = crate::support::fixtures::open_period(&app).await;
        let stp = app.seed.unit_stp;
        let code = binary_leaf();
        let path = format!("/periods/{period}/units/{stp}/leaves/{code}");
        let mut officer = app.login_as("canbo.stp").await;
        let csrf = officer.csrf().await;
        let save = |officer: &mut TestClient| {
            let mut officer = officer.clone();
            let path = path.clone();
            let csrf = csrf.clone();
            async move {
                let body = serde_urlencoded::to_string([
                    ("value", "yes"),
                    ("version", "0"),
                    ("csrf", csrf.as_str()),
                ])
                .unwrap();
                let start = Instant::now();
                let r = officer
                    .send(
                        Request::post(&path)
                            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                            .header(header::ACCEPT, "application/json")
                            .body(Body::from(body))
                            .unwrap(),
                    )
                    .await;
                (r, start.elapsed())
            }
        };

        // The outage.
        let mut locker = None;
        match &proxy {
            Some((task, _, _)) => task.abort(),
            None => {
                let mut conn = app.db.store.raw_pool_for_tests().acquire().await.unwrap();
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                locker = Some(conn);
            }
        }
        let (r, took) = save(&mut officer).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
        // Hang guards, generous for a loaded machine: without the 1 s acquire timeout the
        // request would wait for the outage to end.
        assert!(took < HANG, "answered after {took:?}");
        assert_eq!(
            r.header("retry-after"),
            parindex_web::error::RETRY_AFTER_SECONDS
        );
        let json: serde_json::Value = serde_json::from_str(&r.body).expect("JSON for the autosave");
        assert!(
            json["error"]
                .as_str()
                .unwrap()
                .contains("tạm thời không kết nối được cơ sở dữ liệu"),
            "{}",
            r.body
        );
        if backend == Backend::Postgres {
            // Every page, not only writes: the session cannot even be loaded.
            let start = Instant::now();
            let r = officer.get("/account").await;
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
            assert!(start.elapsed() < HANG);
            assert!(r.body.contains("thử lại sau"), "{}", r.body);
            assert!(!r.headers.get("retry-after").unwrap().is_empty());
        }
        let (r, took) = readyz(&app).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
        assert!(took < HANG, "readyz took {took:?}");
        assert!(
            app.db
                .store
                .leaf_entry(period, stp, &code)
                .await
                .unwrap()
                .is_none()
        );

        // The database comes back: the same save works, with no restart.
        let mut restarted = None;
        match proxy {
            Some((_, addr, target)) => {
                let listener = TcpListener::bind(addr).await.unwrap();
                restarted = Some(start_proxy(listener, target).await);
            }
            None => {
                let mut conn = locker.take().unwrap();
                sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
            }
        }
        let start = Instant::now();
        loop {
            let (r, _) = readyz(&app).await;
            if r.status == StatusCode::OK {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "never ready again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (r, _) = save(&mut officer).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            app.db
                .store
                .leaf_entry(period, stp, &code)
                .await
                .unwrap()
                .is_some()
        );
        store.raw_pool_for_tests().close().await;
        if let Some(task) = restarted {
            task.abort();
        }
        app
    }
);

/// Reads until the server closes the connection (EOF or reset); what was read, and when.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "connection still open after {limit:?}; read: {}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

async fn get_healthz(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    read_until_closed(&mut s, Duration::from_secs(5)).await.0
}

// Point 16 (the server loop; the open-files limit and SIGTERM of the real binary are in the
// CLI tests). A trickling slowloris is cut at the header timeout, a silent or idle keep-alive
// connection at the idle timeout, connections over the limit get a clean 503 while /healthz
// still answers, and shutdown finishes within its deadline with a half-sent request open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_cannot_take_the_server_down() {
    let app = TestApp::new(Backend::Sqlite).await;
    let limits = ServerLimits {
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(1),
        max_connections: 8,
        shutdown_timeout: Duration::from_secs(1),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(parindex_web::serve_with(
        listener,
        app.state.clone(),
        limits,
        async move {
            let _ = stop_rx.await;
        },
    ));
    assert!(get_healthz(addr).await.contains(" 200 "));

    // A slowloris: a header line every 200 ms, never the blank line. Cut at ~2 s.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    let cut_after = loop {
        assert!(start.elapsed() < HANG, "slowloris kept open");
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break start.elapsed();
        }
        match tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buf)).await {
            Ok(_) => break start.elapsed(),
            Err(_) => continue,
        }
    };
    assert!(
        cut_after >= Duration::from_millis(1500),
        "slowloris cut after {cut_after:?}, before the header timeout"
    );

    // A half-sent request that goes silent, and an idle keep-alive: closed at ~1 s.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    silent
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    // Closed at all (read_until_closed fails after HANG): the 60 s default would be a hang.
    let (_, _) = read_until_closed(&mut silent, HANG).await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let (text, took) = read_until_closed(&mut idle, HANG).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        took >= Duration::from_millis(800),
        "closed before the idle timeout: {took:?}"
    );

    // The connection limit: 8 silent sockets hold every slot; 20 more are refused cleanly
    // with a 503, and once the silent ones are closed /healthz answers again.
    // (A moment first, so that the connections closed above have given their slots back.)
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..20 {
        let text = get_healthz(addr).await;
        assert!(
            text.starts_with("HTTP/1.1 503") && text.to_lowercase().contains("retry-after"),
            "{text}"
        );
        assert!(text.contains("quá tải"), "{text}");
    }
    let start = Instant::now();
    loop {
        if get_healthz(addr).await.contains(" 200 ") {
            break;
        }
        assert!(start.elapsed() < HANG, "/healthz never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for mut socket in held {
        let (_, _) = read_until_closed(&mut socket, HANG).await;
    }

    // Shutdown with a half-sent request open: done within the 1 s deadline (plus slack).
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nusername=")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    stop_tx.send(()).unwrap();
    let finished = tokio::time::timeout(HANG, server).await;
    assert!(
        finished.is_ok(),
        "shutdown hung with a half-sent request ({:?})",
        start.elapsed()
    );
    let (_, _) = read_until_closed(&mut half, HANG).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "not listening any more"
    );
    app.cleanup().await;
}
