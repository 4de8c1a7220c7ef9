//! The formats crate's one integration-test binary (linking is slow on 2 cores): index-set
//! files, the unit-registry import and the self-assessment report.

mod index_set;
mod report;
mod unit_import;
