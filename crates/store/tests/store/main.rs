//! The store's integration tests, in one binary (one link on a small machine): the
//! repositories and the audit log, the migrations, the schema on both backends, and the
//! evidence blob store.

mod evidence;
mod migrations;
mod repositories;
mod schema;
