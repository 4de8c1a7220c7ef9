//! Middleware of the router, apart from the route areas: the session layer (cookie → session →
//! user and role in use, the CSRF check, error pages in the user's language), the headers and
//! log redaction of the public survey form, and the layers of the whole router (compression,
//! catching panics).

pub mod layers;
pub mod session;
pub mod survey_public;
