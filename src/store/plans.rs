//! The stored notice plan of an incident: one entry per affected person (who is
//! addressed, in which locale, the channels to try) and the plan's summary.
//! Composing the plan is `compose::plan`'s job.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::incidents;
use crate::db::DbConnection;
use crate::db::schema::{notice_plans, plan_entries};
use crate::error::{AppError, AppResult};

/// One person's planned notice, as stored.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = plan_entries, treat_none_as_default_value = false)]
pub struct NewPlanEntry {
    /// The incident.
    pub incident_id: String,
    /// The person.
    pub external_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// `subject` or `guardian`.
    pub audience: String,
    /// The addressee's name.
    pub recipient_name: Option<String>,
    /// The person whose data was involved.
    pub subject_name: Option<String>,
    /// The locale used.
    pub locale: String,
    /// JSON list of routes (`[{channel, address}]`), in order.
    pub channels: String,
    /// Postal address for letters to the addressee.
    pub postal_address: Option<String>,
    /// No channel reaches the person.
    pub unreachable: bool,
    /// The locale the person wanted.
    pub wanted_locale: Option<String>,
}

/// Entries per multi-row insert (11 columns stay under both bind limits).
const INSERT_CHUNK: usize = 500;

/// Removes the incident's plan entries before a new plan is written.
pub fn clear_entries(conn: &mut DbConnection, incident_id: &str) -> AppResult<()> {
    diesel::delete(plan_entries::table.filter(plan_entries::incident_id.eq(incident_id)))
        .execute(conn)?;
    Ok(())
}

/// Inserts plan entries in multi-row statements (backend-specific in diesel).
pub fn insert_entries(conn: &mut DbConnection, entries: &[NewPlanEntry]) -> AppResult<()> {
    for chunk in entries.chunks(INSERT_CHUNK) {
        let query = diesel::insert_into(plan_entries::table).values(chunk);
        super::with_backend!(conn, c => query.execute(c)?);
    }
    Ok(())
}

/// Stores the plan's summary (JSON) with who made it and when, replacing the last.
pub fn save_summary(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    summary: &str,
    by: &str,
    at: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(notice_plans::table.find(incident_id)).execute(conn)?;
    diesel::insert_into(notice_plans::table)
        .values((
            notice_plans::incident_id.eq(incident_id),
            notice_plans::tenant_id.eq(tenant_id),
            notice_plans::summary.eq(summary),
            notice_plans::created_by.eq(by),
            notice_plans::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The stored summary of the incident's plan: (summary JSON, by, at).
pub fn summary(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<(String, String, NaiveDateTime)> {
    incidents::get(conn, tenant_id, incident_id)?;
    notice_plans::table
        .filter(notice_plans::tenant_id.eq(tenant_id))
        .filter(notice_plans::incident_id.eq(incident_id))
        .select((
            notice_plans::summary,
            notice_plans::created_by,
            notice_plans::created_at,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::NotFound(format!("plan of incident {incident_id}: POST …/plan first"))
        })
}

/// Whether the incident has a plan.
pub fn exists(conn: &mut DbConnection, incident_id: &str) -> AppResult<bool> {
    Ok(notice_plans::table
        .find(incident_id)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}
