//! Middleware of the router, apart from the route areas: the session layer (cookie → session →
//! user and role in use, the CSRF check, error pages in the user's language) and the headers
//! and log redaction of the public survey form.

pub mod session;
pub mod survey_public;
