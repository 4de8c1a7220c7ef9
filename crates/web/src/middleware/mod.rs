//! Middleware of the whole router.

pub mod layers;
