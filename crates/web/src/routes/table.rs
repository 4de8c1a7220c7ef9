//! A router that remembers its routes. Each area builds one with [`Routes`]; the list of every
//! method and path it holds is what the route × role access test walks, so a new route is
//! covered by that test as soon as it exists.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{get, post};

use crate::AppState;

/// Which middleware stack a route sits behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// Pages and forms: session, CSRF, the ordinary body limit and request timeout.
    Page,
    /// Evidence and import uploads: session and CSRF, a body as large as the upload limit and
    /// a long timeout.
    Upload,
    /// No session: health probes, static files, the open API.
    Open,
}

/// One route as the router holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub stack: Stack,
}

/// Routes of one area (or of all), split by middleware stack, with their list.
pub struct Routes {
    pages: Router<AppState>,
    uploads: Router<AppState>,
    open: Router<AppState>,
    list: Vec<RouteInfo>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            pages: Router::new(),
            uploads: Router::new(),
            open: Router::new(),
            list: Vec::new(),
        }
    }

    /// A page (GET) behind the session layer.
    pub fn get<H, T>(mut self, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.pages = self.pages.route(path, get(handler));
        self.remember(Method::GET, path, Stack::Page)
    }

    /// A form (POST) behind the session layer and its CSRF check.
    pub fn post<H, T>(mut self, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.pages = self.pages.route(path, post(handler));
        self.remember(Method::POST, path, Stack::Page)
    }

    /// An upload (POST) with the upload body limit and timeout.
    pub fn upload<H, T>(mut self, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.uploads = self.uploads.route(path, post(handler));
        self.remember(Method::POST, path, Stack::Upload)
    }

    /// A GET without a session (probes, static files, the open API).
    pub fn open_get<H, T>(mut self, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.open = self.open.route(path, get(handler));
        self.remember(Method::GET, path, Stack::Open)
    }

    /// Adds another area's routes.
    pub fn merge(mut self, other: Routes) -> Routes {
        self.pages = self.pages.merge(other.pages);
        self.uploads = self.uploads.merge(other.uploads);
        self.open = self.open.merge(other.open);
        self.list.extend(other.list);
        self
    }

    /// Every route held, in the order added.
    pub fn list(&self) -> &[RouteInfo] {
        &self.list
    }

    /// The three routers (pages, uploads, open), for the middleware to be layered on.
    pub fn into_routers(self) -> (Router<AppState>, Router<AppState>, Router<AppState>) {
        (self.pages, self.uploads, self.open)
    }

    fn remember(mut self, method: Method, path: &'static str, stack: Stack) -> Routes {
        self.list.push(RouteInfo {
            method,
            path,
            stack,
        });
        self
    }
}
