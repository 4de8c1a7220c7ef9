//! Presenters shared by several route areas: view helpers no single area owns.

pub mod acting;
pub mod notice;
pub mod open_data;
pub mod points;
pub mod results;
pub mod stage;
pub mod survey_score;
