//! One integration test binary: the app on a random port with a real database
//! (a fresh SQLite file per test, or a fresh PostgreSQL database per test when
//! `BREACHLINE_TEST_POSTGRES_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod affected;
mod audit;
mod browser;
mod bulletins;
pub mod channels;
mod cli;
mod crash;
mod customers;
mod defects;
mod delivery;
pub mod delivery_props;
mod dispatch;
mod dispatch_timing;
mod health;
mod helpers;
mod hostile;
mod incidents;
mod migrations;
mod notices;
mod obligations;
mod plans;
mod reports;
pub mod subjects;
mod tasks;
mod tokens;
mod ui;
