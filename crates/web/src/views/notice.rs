//! The `?ok=…` notice a redirect after a change carries to the next page.

use serde::Deserialize;

/// The query of a page reached after a change: which notice to show.
#[derive(Debug, Deserialize)]
pub struct OkQuery {
    pub ok: Option<String>,
}
