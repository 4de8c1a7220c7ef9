//! The web crate's one integration-test binary (linking is slow on 2 cores): in-process HTTP
//! tests on SQLite and PostgreSQL, and browser journeys in a real Chromium over WebDriver.

mod support;

mod browser;
mod http_access;
mod http_access_matrix;
mod http_api_contract;
mod http_appraisal;
mod http_auth;
mod http_external;
mod http_index_sets;
mod http_layers;
mod http_notifications;
mod http_results;
mod http_self_assessment;
mod http_survey_collect;
mod http_survey_import;
mod http_survey_review;
mod http_survey_setup;
mod http_trust_auth;
mod http_trust_ops;
mod http_trust_results;
mod http_trust_verify;
mod http_trust_workflow;
mod http_units;
mod http_workflow;
