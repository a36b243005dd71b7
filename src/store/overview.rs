//! What the incidents list of the web UI shows per incident, read from summaries
//! (the stored affected summary and the obligations), never from affected rows.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{incident_scopes, obligations};
use crate::domain::{AffectedSummary, IncidentStatus, ObligationStatus};
use crate::error::AppResult;
use crate::store::incidents::{self, IncidentRow};

/// One line of the incidents list.
#[derive(Debug, Clone)]
pub struct IncidentOverview {
    /// The incident.
    pub incident: IncidentRow,
    /// Affected people of the last recompute (`None`: no scope computed yet).
    pub affected: Option<i64>,
    /// The earliest `due_at` (or, for an `asap` duty, `target_at`) of the incident's
    /// open obligations.
    pub earliest_due: Option<NaiveDateTime>,
    /// How many obligations are still open.
    pub open_obligations: i64,
}

/// The tenant's newest `limit` incidents (of one status, or all) with their
/// affected count and earliest open deadline: three queries, never affected rows.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    status: Option<IncidentStatus>,
    limit: i64,
) -> AppResult<Vec<IncidentOverview>> {
    let rows = incidents::list(conn, tenant_id, status, None, limit)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    // An `asap` duty has no statutory instant but a target: the list counts down
    // to whichever comes first, as the plan's estimate does.
    let mut dues: HashMap<String, (Option<NaiveDateTime>, i64)> = HashMap::new();
    for (id, due_at, target_at) in obligations::table
        .filter(obligations::tenant_id.eq(tenant_id))
        .filter(obligations::incident_id.eq_any(&ids))
        .filter(obligations::status.eq(ObligationStatus::Open.as_str()))
        .select((
            obligations::incident_id,
            obligations::due_at,
            obligations::target_at,
        ))
        .load::<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)>(conn)?
    {
        let entry = dues.entry(id).or_insert((None, 0));
        if let Some(at) = due_at.or(target_at) {
            entry.0 = Some(entry.0.map_or(at, |e| e.min(at)));
        }
        entry.1 += 1;
    }
    let totals: HashMap<String, Option<String>> = incident_scopes::table
        .filter(incident_scopes::tenant_id.eq(tenant_id))
        .filter(incident_scopes::incident_id.eq_any(&ids))
        .select((incident_scopes::incident_id, incident_scopes::summary))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .collect();
    rows.into_iter()
        .map(|incident| {
            let affected = totals
                .get(&incident.id)
                .and_then(|s| s.as_deref())
                .map(super::from_json_text::<AffectedSummary>)
                .transpose()?
                .map(|s| s.total);
            let (earliest_due, open_obligations) =
                dues.get(&incident.id).copied().unwrap_or((None, 0));
            Ok(IncidentOverview {
                incident,
                affected,
                earliest_due,
                open_obligations,
            })
        })
        .collect()
}
