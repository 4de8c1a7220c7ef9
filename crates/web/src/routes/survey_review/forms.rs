//! The forms and queries of the survey review.

use serde::Deserialize;

/// Why a response is excluded or counted again.
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

/// `?ok=…` after a saved change.
#[derive(Debug, Deserialize, Default)]
pub struct OkQuery {
    pub ok: Option<String>,
}
