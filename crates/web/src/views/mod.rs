//! Presenters shared by several route areas: view helpers no single area owns (no area imports
//! another; they meet here).

pub mod acting;
pub mod notice;
pub mod open_data;
pub mod points;
pub mod refusal;
pub mod results;
pub mod stage;
pub mod survey_score;
pub mod upload;
