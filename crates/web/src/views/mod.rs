//! Presenters shared by several route areas (no area imports another; they meet here).

pub mod refusal;
pub mod upload;
