//! Raw statements whose binds are collected as they are written, for the SQL that
//! diesel's query builder cannot express portably (multi-row `UPDATE … FROM
//! (VALUES …)`, `INSERT … SELECT` with computed columns).
//!
//! `$n` placeholders work on both backends: SQLite numbers them in order of first
//! appearance, so a statement must mention each placeholder first in the order it
//! was created (append text and binds together, left to right).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Integer, Nullable, Text, Timestamp};

use crate::db::{DbConnection, MultiBackend};
use crate::error::AppResult;

/// One bound value.
#[derive(Debug, Clone)]
pub enum Bind {
    /// Text.
    Text(String),
    /// Nullable text.
    OptText(Option<String>),
    /// 64-bit integer.
    BigInt(i64),
    /// 32-bit integer.
    Integer(i32),
    /// Boolean.
    Bool(bool),
    /// Date.
    Date(NaiveDate),
    /// Naive-UTC instant.
    Timestamp(NaiveDateTime),
    /// Nullable naive-UTC instant.
    OptTimestamp(Option<NaiveDateTime>),
}

/// A statement under construction.
#[derive(Debug, Default)]
pub struct Statement {
    /// The SQL text so far.
    pub sql: String,
    binds: Vec<Bind>,
}

impl Statement {
    /// An empty statement.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value and returns its placeholder, to be written next.
    pub fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    fn boxed(
        self,
    ) -> diesel::query_builder::BoxedSqlQuery<'static, MultiBackend, diesel::query_builder::SqlQuery>
    {
        let mut query = diesel::sql_query(self.sql).into_boxed::<MultiBackend>();
        for bind in self.binds {
            query = match bind {
                Bind::Text(v) => query.bind::<Text, _>(v),
                Bind::OptText(v) => query.bind::<Nullable<Text>, _>(v),
                Bind::BigInt(v) => query.bind::<BigInt, _>(v),
                Bind::Integer(v) => query.bind::<Integer, _>(v),
                Bind::Bool(v) => query.bind::<Bool, _>(v),
                Bind::Date(v) => query.bind::<Date, _>(v),
                Bind::Timestamp(v) => query.bind::<Timestamp, _>(v),
                Bind::OptTimestamp(v) => query.bind::<Nullable<Timestamp>, _>(v),
            };
        }
        query
    }

    /// Runs the statement; returns the rows it changed.
    pub fn execute(self, conn: &mut DbConnection) -> AppResult<usize> {
        Ok(self.boxed().execute(conn)?)
    }

    /// Runs a statement that returns rows (`… RETURNING …`, `SELECT …`).
    pub fn load<T>(self, conn: &mut DbConnection) -> AppResult<Vec<T>>
    where
        T: diesel::deserialize::QueryableByName<MultiBackend> + 'static,
    {
        Ok(self.boxed().load(conn)?)
    }
}
