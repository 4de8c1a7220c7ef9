//! Middleware of the router, apart from the route areas.

pub mod survey_public;
