//! Diesel queries, one file per aggregate: the only place that writes SQL.
//! Every function takes the tenant it acts for, so no query can cross tenants.

/// Runs `$body` with `$c` bound to the concrete connection, for the SQL that
/// `MultiBackend` cannot express (upserts, multi-row inserts).
macro_rules! with_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use with_backend;

pub mod affected;
pub mod bulletins;
pub mod coverage;
pub mod delivery;
pub mod dispatches;
pub mod incidents;
pub mod inquiries;
pub mod notice_contents;
pub mod obligations;
pub mod outbox;
pub mod overview;
pub mod plans;
pub mod relays;
pub mod reminders;
pub mod reports;
pub mod sql;
pub mod subjects;
pub mod tasks;
pub mod tenants;
pub mod timeline;
pub mod tokens;
pub mod users;

use crate::error::{AppError, AppResult};

/// Encodes a list as JSON text for a `Text` column.
pub(crate) fn to_json_text<T: serde::Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::Unexpected(e.into()))
}

/// Parses a stored vocabulary word; a word that does not parse is an error naming
/// the column, never a silent default.
pub(crate) fn word<T: std::str::FromStr<Err = String>>(what: &str, stored: &str) -> AppResult<T> {
    stored
        .parse()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("stored {what}: {e}")))
}

/// Decodes a JSON `Text` column.
pub(crate) fn from_json_text<T: serde::de::DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_str(text).map_err(|e| AppError::Unexpected(e.into()))
}

/// Page cache (KiB) of a SQLite connection while it writes millions of rows.
const BULK_CACHE_KIB: i64 = 256 * 1024;

/// SQLite's default page cache (KiB), restored after a bulk operation.
const DEFAULT_CACHE_KIB: i64 = 2_000;

/// Runs `f` with a large SQLite page cache, so B-tree pages of a bulk write
/// stay in memory instead of spilling to the WAL mid-transaction; restores
/// the default afterwards. PostgreSQL manages its own buffers.
pub fn with_bulk_cache<T>(
    conn: &mut crate::db::DbConnection,
    f: impl FnOnce(&mut crate::db::DbConnection) -> AppResult<T>,
) -> AppResult<T> {
    use diesel::connection::SimpleConnection;
    let sqlite = matches!(conn, crate::db::DbConnection::Sqlite(_));
    if sqlite {
        conn.batch_execute(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}"))?;
    }
    let result = f(conn);
    if sqlite {
        conn.batch_execute(&format!("PRAGMA cache_size = -{DEFAULT_CACHE_KIB}"))?;
    }
    result
}

/// A new time-ordered identifier (UUIDv7).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
