//! Timeline entries of an incident.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::new_id;
use crate::db::DbConnection;
use crate::db::schema::timeline_entries;
use crate::domain::{format_instant, now_micros};
use crate::error::AppResult;

/// One entry as stored.
#[derive(Debug, Clone, Queryable)]
pub struct TimelineEntry {
    /// Identifier.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Incident it belongs to.
    pub incident_id: String,
    /// When the event happened.
    pub at: NaiveDateTime,
    /// What kind of event (`note`, `detection`, `status`, …).
    pub kind: String,
    /// What happened.
    pub text: String,
    /// Who recorded it.
    pub author: String,
    /// When it was recorded.
    pub created_at: NaiveDateTime,
}

impl TimelineEntry {
    /// The API representation.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "at": format_instant(self.at),
            "kind": self.kind,
            "text": self.text,
            "author": self.author,
            "created_at": format_instant(self.created_at),
        })
    }
}

/// Appends an entry to one of the tenant's incidents (the caller checked it exists).
pub fn insert(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    at: NaiveDateTime,
    kind: &str,
    text: &str,
    author: &str,
) -> AppResult<TimelineEntry> {
    let entry = TimelineEntry {
        id: new_id(),
        tenant_id: tenant_id.to_owned(),
        incident_id: incident_id.to_owned(),
        at,
        kind: kind.to_owned(),
        text: text.to_owned(),
        author: author.to_owned(),
        created_at: now_micros(),
    };
    diesel::insert_into(timeline_entries::table)
        .values((
            timeline_entries::id.eq(&entry.id),
            timeline_entries::tenant_id.eq(&entry.tenant_id),
            timeline_entries::incident_id.eq(&entry.incident_id),
            timeline_entries::at.eq(entry.at),
            timeline_entries::kind.eq(&entry.kind),
            timeline_entries::text.eq(&entry.text),
            timeline_entries::author.eq(&entry.author),
            timeline_entries::created_at.eq(entry.created_at),
        ))
        .execute(conn)?;
    Ok(entry)
}

/// All entries of one of the tenant's incidents, in time order.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<TimelineEntry>> {
    Ok(timeline_entries::table
        .filter(timeline_entries::tenant_id.eq(tenant_id))
        .filter(timeline_entries::incident_id.eq(incident_id))
        .order((timeline_entries::at.asc(), timeline_entries::id.asc()))
        .load::<TimelineEntry>(conn)?)
}
