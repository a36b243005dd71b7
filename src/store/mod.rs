//! Diesel queries, one file per aggregate: the only place that writes SQL.
//! Every function takes the tenant it acts for, so no query can cross tenants.

pub mod incidents;
pub mod notice_contents;
pub mod obligations;
pub mod outbox;
pub mod tenants;
pub mod timeline;
pub mod tokens;

use crate::error::{AppError, AppResult};

/// Encodes a list as JSON text for a `Text` column.
pub(crate) fn to_json_text<T: serde::Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::Unexpected(e.into()))
}

/// Decodes a JSON `Text` column.
pub(crate) fn from_json_text<T: serde::de::DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_str(text).map_err(|e| AppError::Unexpected(e.into()))
}

/// A new time-ordered identifier (UUIDv7).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
