//! Presenters shared by several route areas: they turn what a use case returns into what a
//! template shows. No route area imports another; what two need lives here.

pub mod acting;
pub mod app_error;
pub mod external_value;
pub mod leaf;
pub mod notice;
pub mod open_data;
pub mod points;
pub mod refusal;
pub mod results;
pub mod stage;
pub mod survey_score;
pub mod upload;
