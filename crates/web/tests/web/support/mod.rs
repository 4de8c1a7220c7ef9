//! Test support: `TestApp` (a fresh database and the real router), a cookie-keeping client
//! that sends requests through the router in-process, and seed data with an account for every
//! role.

#![allow(dead_code)]

pub mod browser;
pub mod fixtures;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use parindex_domain::{GroupCode, Role, RoleGrant, UnitCode, UnitDraft, UnitName, Username};
use parindex_store::testing::TestDb;
use parindex_store::users::NewUser;
use parindex_store::{AuditActor, Backend, Store};
use parindex_web::{AppState, WebConfig};
use tower::ServiceExt;

/// The password of every seeded account.
pub const PASSWORD: &str = "Mat-khau-2026";

/// A running application on a fresh database.
pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    pub router: Router,
    pub seed: Seed,
    /// The evidence folder, removed with the app (also when the test panics).
    pub evidence_dir: tempfile::TempDir,
}

/// What `TestApp` seeds: two groups, three units, an account for every role.
#[derive(Debug, Clone)]
pub struct Seed {
    pub group_so: i64,
    pub group_huyen: i64,
    /// Sở Tư pháp: the unit of `canbo.stp` and `truong.stp`.
    pub unit_stp: i64,
    /// Sở Nội vụ: a foreign unit for them.
    pub unit_snv: i64,
    pub unit_huyen: i64,
    /// username → user id
    pub users: HashMap<&'static str, i64>,
}

/// username, role, unit code
pub const ACCOUNTS: &[(&str, Role, Option<&str>)] = &[
    ("admin", Role::SystemAdmin, None),
    ("thuky", Role::Secretariat, None),
    ("canbo.stp", Role::UnitOfficer, Some("STP")),
    ("truong.stp", Role::UnitHead, Some("STP")),
    ("thamdinh", Role::Appraiser, Some("SNV")),
    ("hoidong", Role::CouncilMember, None),
    ("cungcap", Role::ExternalProvider, Some("STP")),
    ("khaosat", Role::SurveyOperator, None),
    ("lanhdao", Role::Viewer, None),
];

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(parindex_app::password::hash(PASSWORD.into()))
                .unwrap()
        })
        .join()
        .unwrap()
    })
    .clone()
}

impl TestApp {
    /// A fresh app on `backend`; PostgreSQL needs `PARINDEX_TEST_DATABASE_URL` (the tests that
    /// use it are ignored where it is not set, see `web_test!`).
    pub async fn new(backend: Backend) -> TestApp {
        Self::with_config(backend, WebConfig::default()).await
    }

    pub async fn with_config(backend: Backend, config: WebConfig) -> TestApp {
        let db = TestDb::new(backend).await;
        let seed = seed(&db.store).await;
        let evidence_dir = tempfile::Builder::new()
            .prefix("parindex-evidence-")
            .tempdir()
            .unwrap();
        let evidence = parindex_store::evidence::EvidenceStore::open(
            evidence_dir.path().join("store").to_str().unwrap(),
            &Default::default(),
        )
        .unwrap();
        let state = AppState::new(db.store.clone(), config, evidence);
        let router = parindex_web::app(state.clone());
        TestApp {
            db,
            state,
            router,
            seed,
            evidence_dir,
        }
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub fn client(&self) -> TestClient {
        TestClient {
            router: self.router.clone(),
            cookies: HashMap::new(),
            ip: "127.0.0.1:50000".parse().unwrap(),
        }
    }

    /// A client already logged in as `username`.
    pub async fn login_as(&self, username: &str) -> TestClient {
        let mut client = self.client();
        let response = client.login(username, PASSWORD).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "login of {username} failed: {}",
            response.body
        );
        client
    }

    pub async fn cleanup(self) {
        let TestApp {
            db, evidence_dir, ..
        } = self;
        db.cleanup().await;
        let _ = evidence_dir.close();
    }
}

async fn seed(store: &Store) -> Seed {
    let mut tx = store
        .begin_write(AuditActor::system("test-seed"))
        .await
        .unwrap();
    let so = tx
        .create_group(&GroupCode::parse("SO").unwrap(), "Sở, ban, ngành", None, 1)
        .await
        .unwrap();
    let huyen = tx
        .create_group(
            &GroupCode::parse("HUYEN").unwrap(),
            "Huyện, thị xã, thành phố",
            None,
            2,
        )
        .await
        .unwrap();
    let mut units = HashMap::new();
    for (code, name, group) in [
        ("STP", "Sở Tư pháp", so.id),
        ("SNV", "Sở Nội vụ", so.id),
        ("H-EAKAR", "Huyện Ea Kar", huyen.id),
    ] {
        let unit = tx
            .create_unit(&UnitDraft {
                code: UnitCode::parse(code).unwrap(),
                name_vi: UnitName::parse(name).unwrap(),
                name_en: None,
                group_id: group,
                parent_id: None,
                valid_from: time::macros::date!(2021 - 01 - 01),
                valid_to: None,
                successor_id: None,
            })
            .await
            .unwrap();
        units.insert(code, unit.id);
    }
    let hash = password_hash();
    let mut users = HashMap::new();
    for (username, role, unit) in ACCOUNTS {
        let user = tx
            .create_user(&NewUser {
                username: Username::parse(username).unwrap(),
                full_name: format!("Người thử {username}"),
                email: None,
                password_hash: hash.clone(),
                must_change_password: false,
            })
            .await
            .unwrap();
        tx.grant_role(
            user.id,
            &RoleGrant {
                role: *role,
                unit_id: unit.map(|c| units[c]),
            },
        )
        .await
        .unwrap();
        users.insert(*username, user.id);
    }
    tx.commit().await.unwrap();
    Seed {
        group_so: so.id,
        group_huyen: huyen.id,
        unit_stp: units["STP"],
        unit_snv: units["SNV"],
        unit_huyen: units["H-EAKAR"],
        users,
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser-like client: keeps cookies, sends the CSRF token the pages carry.
#[derive(Clone)]
pub struct TestClient {
    router: Router,
    pub cookies: HashMap<String, String>,
    /// The peer address the server sees (per-IP throttling).
    pub ip: SocketAddr,
}

impl TestClient {
    pub async fn send(&mut self, mut request: Request<Body>) -> TestResponse {
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        request.extensions_mut().insert(ConnectInfo(self.ip));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// Posts a form as given (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// The CSRF token a page would carry for this client right now.
    pub async fn csrf(&mut self) -> String {
        // A user who must change their password can reach only that page.
        let pages: &[&str] = if self.cookies.contains_key("parindex_session") {
            &["/account", "/account/password"]
        } else {
            &["/login"]
        };
        for page in pages {
            let response = self.get(page).await;
            if let Some(token) = extract_csrf(&response.body) {
                return token;
            }
        }
        String::new()
    }

    /// Posts a form with the CSRF token, as a browser submitting our page would.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &token));
        self.post_raw(path, &all).await
    }

    pub async fn login(&mut self, username: &str, password: &str) -> TestResponse {
        self.post("/login", &[("username", username), ("password", password)])
            .await
    }

    /// Uploads a file as multipart, with the CSRF token in the query string as our form does.
    pub async fn upload(
        &mut self,
        path: &str,
        field: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> TestResponse {
        let token = self.csrf().await;
        let boundary = "----parindex-test-boundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let sep = if path.contains('?') { '&' } else { '?' };
        self.send(
            Request::post(format!("{path}{sep}csrf={token}"))
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    Some(html[start..start + 64].to_owned())
}

/// Runs a test against SQLite and PostgreSQL. The PostgreSQL one is reported ignored, with the
/// reason, where `PARINDEX_TEST_DATABASE_URL` is not set (the `parindex_pg` cfg of `build.rs`);
/// under `CI=true` it runs, and fails without a server.
#[macro_export]
macro_rules! web_test {
    ($name:ident, $body:expr) => {
        $crate::web_test!($name, parindex_web::WebConfig::default(), $body);
    };
    ($name:ident, $config:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app =
                    $crate::support::TestApp::with_config(parindex_store::Backend::Sqlite, $config)
                        .await;
                let app = ($body)(app).await;
                app.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(parindex_pg),
                ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
            )]
            async fn postgres() {
                let app = $crate::support::TestApp::with_config(
                    parindex_store::Backend::Postgres,
                    $config,
                )
                .await;
                let app = ($body)(app).await;
                app.cleanup().await;
            }
        }
    };
}

/// Fetches `path` with the client's session and returns the raw bytes (the test client reads
/// bodies as text, which would mangle a spreadsheet or a PDF).
pub async fn download(app: &TestApp, client: &TestClient, path: &str) -> (StatusCode, Vec<u8>) {
    let mut request = Request::get(path).body(axum::body::Body::empty()).unwrap();
    let cookie = client
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    request
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(client.ip));
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, bytes)
}

/// The text of a PDF as pdftotext reads it, through pipes so that parallel tests never share a
/// file. Fails the test where poppler-utils is missing or pdftotext fails: a PDF assertion that
/// cannot be checked is not a pass.
pub fn pdf_text(pdf: &[u8]) -> String {
    let mut child = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("pdftotext is needed to check the PDF (install poppler-utils): {e}")
        });
    let mut stdin = child.stdin.take().unwrap();
    // Written from a thread: a large PDF would fill the pipe while pdftotext fills its output.
    let input = pdf.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert!(
        out.status.success(),
        "pdftotext failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    written.expect("write the PDF to pdftotext");
    String::from_utf8(out.stdout).expect("pdftotext writes UTF-8")
}
