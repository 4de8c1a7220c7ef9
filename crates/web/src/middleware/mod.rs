//! The request middleware of the web layer: the session layer (cookie → session → user and
//! role in use, the CSRF check, error pages in the user's language).

pub mod session;
