//! Breachline: breach-notification incident response.
//!
//! See `docs/ARCHITECTURE.md` for how the modules fit together.

pub mod accounts;
pub mod audit;
pub mod bulletin;
pub mod calendar;
pub mod cli;
pub mod compose;
pub mod config;
pub mod db;
pub mod demo;
pub mod dispatch;
#[macro_use]
pub mod domain;
pub mod error;
pub mod import;
pub mod notices;
pub mod regimes;
pub mod reports;
pub mod runbooks;
pub mod store;
pub mod telemetry;
pub mod web;
