//! The notice content of an incident, one row per incident.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{from_json_text, to_json_text};
use crate::db::DbConnection;
use crate::db::schema::notice_contents;
use crate::domain::now_micros;
use crate::error::AppResult;
use crate::notices::content::NoticeContent;

/// Stored notice content with who changed it last.
#[derive(Debug, Clone)]
pub struct StoredContent {
    /// The content.
    pub content: NoticeContent,
    /// Who last changed it.
    pub updated_by: String,
    /// When.
    pub updated_at: NaiveDateTime,
}

/// Replaces the incident's notice content (the caller checked the incident is the tenant's).
pub fn put(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    content: &NoticeContent,
    by: &str,
) -> AppResult<()> {
    diesel::delete(notice_contents::table.find(incident_id)).execute(conn)?;
    diesel::insert_into(notice_contents::table)
        .values((
            notice_contents::incident_id.eq(incident_id),
            notice_contents::tenant_id.eq(tenant_id),
            notice_contents::default_locale.eq(&content.default_locale),
            notice_contents::locales.eq(to_json_text(&content.locales)?),
            notice_contents::updated_by.eq(by),
            notice_contents::updated_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The incident's notice content, if any was written.
pub fn get(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Option<StoredContent>> {
    let row: Option<(String, String, String, NaiveDateTime)> = notice_contents::table
        .filter(notice_contents::tenant_id.eq(tenant_id))
        .filter(notice_contents::incident_id.eq(incident_id))
        .select((
            notice_contents::default_locale,
            notice_contents::locales,
            notice_contents::updated_by,
            notice_contents::updated_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(default_locale, locales, updated_by, updated_at)| {
        Ok(StoredContent {
            content: NoticeContent {
                default_locale,
                locales: from_json_text(&locales)?,
            },
            updated_by,
            updated_at,
        })
    })
    .transpose()
}
