//! Presenters shared by several route areas: view helpers no single area owns.

pub mod acting;
pub mod notice;
pub mod points;
pub mod stage;
