//! Presenters shared by several route areas.

pub mod survey_score;
