//! Browser harness: the real server on a loopback port, a headless Chromium driven over
//! WebDriver (Debian's `chromium` + `chromium-driver`), and helpers for journeys.
//!
//! Browser tests carry `#[cfg_attr(not(parindex_browser), ignore = …)]`: where chromedriver is
//! missing they are reported ignored (the cfg comes from `build.rs`); under `CI=true` they run,
//! and `BrowserApp::start` fails without a driver. Every wait is bounded, so a broken page fails
//! a test instead of hanging it. Call `close()` at the end of a test; if a test panics first,
//! `Drop` still ends the browser session, chromedriver and the server, and the temporary
//! database is removed with the app.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use parindex_store::{Backend, Store};
use parindex_web::WebConfig;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::TestApp;

/// How long any single wait (an element, a page, a URL) may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long chromedriver may take to start answering `/status`.
const DRIVER_START: Duration = Duration::from_secs(10);
/// The browser window; 1366×768 is the most common screen at the offices using the app.
pub const WINDOW: (u32, u32) = (1366, 768);

const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The application served on a real port, with a browser pointed at it.
pub struct BrowserApp {
    pub app: TestApp,
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    pub client: Client,
    server: Server,
    driver: Driver,
}

/// The server task and the sender that stops it; stops it when dropped.
struct Server {
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            match tokio::time::timeout(WAIT, task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("the server failed: {e}"),
                Ok(Err(e)) => panic!("the server task failed: {e}"),
                Err(_) => panic!("the server did not stop within {WAIT:?}"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl BrowserApp {
    /// Starts the app on `backend` with the default configuration; fails when chromedriver is
    /// missing (the tests are ignored at compile time where it is).
    pub async fn start(backend: Backend) -> BrowserApp {
        Self::start_with_config(backend, WebConfig::default()).await
    }

    pub async fn start_with_config(backend: Backend, config: WebConfig) -> BrowserApp {
        let chromedriver = find_chromedriver();
        let app = TestApp::with_config(backend, config).await;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the app port");
        let addr = listener.local_addr().unwrap();
        let base_url = format!("http://{addr}");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(parindex_web::serve(listener, app.state.clone(), async {
            let _ = rx.await;
        }));
        let server = Server {
            shutdown: Some(tx),
            task: Some(task),
        };

        let mut driver = tokio::task::spawn_blocking(move || Driver::spawn(&chromedriver))
            .await
            .unwrap()
            .unwrap_or_else(|message| panic!("{message}"));
        let client = connect(&driver)
            .await
            .unwrap_or_else(|message| panic!("{message}"));
        driver.session_id = client.session_id().await.ok().flatten();
        let browser = BrowserApp {
            app,
            base_url,
            client,
            server,
            driver,
        };
        browser
            .client
            .update_timeouts(TimeoutConfiguration::new(
                Some(WAIT),
                Some(WAIT * 2),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set WebDriver timeouts");
        browser
            .client
            .set_window_size(WINDOW.0, WINDOW.1)
            .await
            .expect("set the window size");
        browser
    }

    pub fn store(&self) -> &Store {
        self.app.store()
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Opens `path` and waits for the page to load.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("could not open {url}: {e}"));
    }

    /// The first element matching `css`, waiting for it up to `WAIT`.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let path = self.current_path_or_unknown().await;
                let shot = self.try_screenshot("find").await;
                panic!("no element `{css}` on {path} within {WAIT:?} ({e}); screenshot: {shot}");
            }
        }
    }

    /// Every element matching `css` right now (no waiting).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find_all `{css}`: {e}"))
    }

    /// Whether an element matching `css` is on the page right now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// Replaces the value of the input matching `css` by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Chooses, in the `<select>` matching `css`, the first option whose visible text starts with
    /// `prefix`; returns that option's text.
    pub async fn select_starting_with(&self, css: &str, prefix: &str) -> String {
        let select = self.find(css).await;
        for option in select.find_all(Locator::Css("option")).await.unwrap() {
            let text = option.text().await.unwrap();
            if text.trim_start().starts_with(prefix) {
                option
                    .click()
                    .await
                    .unwrap_or_else(|e| panic!("choose `{text}` in `{css}`: {e}"));
                return text;
            }
        }
        panic!("no option starting with {prefix:?} in `{css}`");
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of `{css}`: {e}"))
    }

    /// The rendered text of the whole page.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// Waits until an element matching `css` shows text containing `needle`; returns the text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let last = std::sync::Mutex::new(String::new());
        let found = self
            .wait_until(|| {
                let last = &last;
                async move {
                    let elements = self.client.find_all(Locator::Css(css)).await.ok()?;
                    for element in elements {
                        let text = element.text().await.ok()?;
                        if text.contains(needle) {
                            return Some(text);
                        }
                        *last.lock().unwrap() = text;
                    }
                    None
                }
            })
            .await;
        let last = last.into_inner().unwrap();
        match found {
            Some(text) => text,
            None => {
                let path = self.current_path_or_unknown().await;
                let shot = self.try_screenshot("text").await;
                panic!(
                    "no `{css}` containing {needle:?} on {path} within {WAIT:?}; last seen: {last:?}; screenshot: {shot}"
                )
            }
        }
    }

    /// The path of the current page, without query string.
    pub async fn current_path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current url")
            .path()
            .to_owned()
    }

    /// The path and query of the current page (`/login?bye=1`).
    pub async fn current_path_and_query(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the current path satisfies `accept` (after a click that navigates).
    pub async fn wait_for_path(&self, what: &str, accept: impl Fn(&str) -> bool) -> String {
        let found = self
            .wait_until(|| async {
                let path = self.client.current_url().await.ok()?.path().to_owned();
                accept(&path).then_some(path)
            })
            .await;
        match found {
            Some(path) => path,
            None => {
                let path = self.current_path_or_unknown().await;
                let shot = self.try_screenshot("path").await;
                panic!(
                    "expected to reach {what} within {WAIT:?}, still on {path}; screenshot: {shot}"
                )
            }
        }
    }

    /// Polls `check` every 100 ms until it returns `Some`, for at most `WAIT`.
    pub async fn wait_until<T, F, Fut>(&self, mut check: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(value) = check().await {
                return Some(value);
            }
            if start.elapsed() > WAIT {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Logs in through the login form and waits to leave the login page.
    pub async fn login(&self, username: &str, password: &str) {
        self.goto("/login").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.click(".login form button[type=submit]").await;
        let outcome = self
            .wait_until(|| async {
                if self.current_path().await != "/login" {
                    return Some(Ok(()));
                }
                let errors = self
                    .client
                    .find_all(Locator::Css("[data-testid=login-error]"))
                    .await
                    .ok()?;
                match errors.first() {
                    Some(e) => Some(Err(e.text().await.unwrap_or_default())),
                    None => None,
                }
            })
            .await;
        match outcome {
            Some(Ok(())) => {}
            Some(Err(message)) => panic!("login of {username} refused: {message}"),
            None => panic!("login of {username}: still on /login after {WAIT:?}"),
        }
    }

    /// Logs in as a seeded account (`support::ACCOUNTS`).
    pub async fn login_as(&self, username: &str) {
        self.login(username, super::PASSWORD).await;
    }

    /// Logs out with the header button and waits for the login page.
    pub async fn logout(&self) {
        self.click("[data-testid=logout]").await;
        self.wait_for_path("/login", |p| p == "/login").await;
    }

    /// Runs `script` in the page (`return …` gives a value).
    pub async fn execute(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Saves a PNG of the viewport to `target/browser-screenshots/<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("take a screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// A screenshot for a failure report, named after the test (`failed-<test>-<what>.png`).
    async fn try_screenshot(&self, what: &str) -> String {
        let test = std::thread::current()
            .name()
            .unwrap_or("test")
            .replace("::", "-");
        let name = format!("failed-{test}-{what}");
        let Ok(png) = self.client.screenshot().await else {
            return "(none)".into();
        };
        let dir = screenshot_dir();
        let path = dir.join(format!("{name}.png"));
        match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, png)) {
            Ok(()) => path.display().to_string(),
            Err(_) => "(none)".into(),
        }
    }

    async fn current_path_or_unknown(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.path().to_owned(),
            Err(_) => "(unknown page)".into(),
        }
    }

    /// Ends the browser session, stops the server and chromedriver, and drops the database.
    pub async fn close(self) {
        let BrowserApp {
            app,
            client,
            mut server,
            mut driver,
            ..
        } = self;
        if let Ok(Ok(())) = tokio::time::timeout(WAIT, client.close()).await {
            driver.session_id = None;
        }
        server.stop().await;
        driver.stop();
        app.cleanup().await;
    }
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/browser-screenshots"
    ))
}

/// The reason a browser test is ignored where chromedriver is missing.
pub const NEEDS_CHROMEDRIVER: &str = "needs chromedriver: install Debian's chromium and chromium-driver, or set PARINDEX_CHROMEDRIVER";

/// chromedriver's path: `PARINDEX_CHROMEDRIVER`, else Debian's; fails the test when missing.
fn find_chromedriver() -> PathBuf {
    let path = PathBuf::from(
        std::env::var("PARINDEX_CHROMEDRIVER")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_CHROMEDRIVER.into()),
    );
    assert!(
        path.is_file(),
        "{NEEDS_CHROMEDRIVER} (looked for {})",
        path.display()
    );
    path
}

/// A running chromedriver and the browser profile directory it was given.
struct Driver {
    child: Option<Child>,
    port: u16,
    profile: PathBuf,
    /// The open WebDriver session, ended on `stop` so that Chromium exits with it.
    session_id: Option<String>,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it is ready.
    fn spawn(program: &Path) -> Result<Driver, String> {
        let mut last_error = String::new();
        // Another process may take the port between our probe and chromedriver's bind: retry.
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(program)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("could not start {}: {e}", program.display()))?;
            let profile = std::env::temp_dir().join(format!(
                "parindex-chromium-{}-{port}-{}",
                std::process::id(),
                nanos()
            ));
            let mut driver = Driver {
                child: Some(child),
                port,
                profile,
                session_id: None,
            };
            match driver.wait_ready() {
                Ok(()) => return Ok(driver),
                Err(e) => {
                    last_error = e;
                    driver.stop();
                }
            }
        }
        Err(format!("chromedriver did not start: {last_error}"))
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("chromedriver exited early ({status})"));
            }
            if let Ok(response) =
                http_request(self.port, "GET", "/status", Duration::from_millis(500))
                && response.starts_with("HTTP/1.1 200")
                && response.contains("\"ready\":true")
            {
                return Ok(());
            }
            if start.elapsed() > DRIVER_START {
                return Err(format!(
                    "no answer on port {} within {DRIVER_START:?}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        if let Some(id) = self.session_id.take() {
            // Only when the test ended without `close` (a panic): end the session so Chromium quits.
            let _ = http_request(
                self.port,
                "DELETE",
                &format!("/session/{id}"),
                Duration::from_secs(5),
            );
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn connect(driver: &Driver) -> Result<Client, String> {
    let args = vec![
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--disable-dev-shm-usage".into(),
        format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        format!("--user-data-dir={}", driver.profile.display()),
    ];
    let binary = std::env::var("PARINDEX_CHROMIUM").unwrap_or_else(|_| DEFAULT_CHROMIUM.into());
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": binary, "args": args },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let webdriver = format!("http://127.0.0.1:{}", driver.port);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut builder = ClientBuilder::new(connector);
    builder.capabilities(capabilities);
    let connecting = builder.connect(&webdriver);
    match tokio::time::timeout(WAIT * 3, connecting).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(format!(
            "could not start a Chromium session via {webdriver}: {e}"
        )),
        Err(_) => Err(format!(
            "starting a Chromium session via {webdriver} took over {:?}",
            WAIT * 3
        )),
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port()
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A minimal blocking HTTP/1.1 request to chromedriver; returns the raw response. Reads up to
/// the `Content-Length` the answer declares (chromedriver keeps the connection open).
fn http_request(port: u16, method: &str, path: &str, timeout: Duration) -> std::io::Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&response);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end].lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|length| response.len() >= end + 4 + length) {
                break;
            }
        }
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}
