//! An incident's obligations: computed by the regime engine from the incident's
//! facts, its affected people and the tenant's profile, stored with a status
//! (`open`, `met` with evidence, `waived` with a reason) that survives recomputes.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use super::incidents::IncidentRow;
use super::tenants::TenantRow;
use super::{affected, from_json_text, incidents, new_id, tasks, tenants, to_json_text};
use crate::db::DbConnection;
use crate::db::schema::{incident_evaluations, obligations};
use crate::domain::{
    FieldError, IncidentStatus, Jurisdiction, ObligationStatus, format_instant, lateness,
    now_micros,
};
use crate::error::{AppError, AppResult};
use crate::regimes::{self, Obligation};
use crate::runbooks::{Library, ObligationClock, Situation};

/// One stored obligation.
#[derive(Debug, Clone, Queryable)]
pub struct ObligationRow {
    /// Identifier.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Incident it belongs to.
    pub incident_id: String,
    /// Regime id (`appi`, `commitment:jc-task`, …).
    pub regime: String,
    /// Who must be told.
    pub recipient: String,
    /// Which phase.
    pub phase: String,
    /// `fixed` or `asap`.
    pub kind: String,
    /// Deadline instant (UTC).
    pub due_at: Option<NaiveDateTime>,
    /// Local due date (`YYYY-MM-DD`).
    pub due_date: Option<String>,
    /// IANA zone the deadline is counted in.
    pub time_zone: String,
    /// Target for asap duties.
    pub target_at: Option<NaiveDateTime>,
    /// Outer limit for asap duties.
    pub limit_at: Option<NaiveDateTime>,
    /// Legal citation.
    pub basis: String,
    /// Why it applies.
    pub trigger_reason: String,
    /// Why the deadline could not be computed.
    pub error: Option<String>,
    /// `open`, `met` or `waived`.
    pub status: String,
    /// When it was met.
    pub met_at: Option<NaiveDateTime>,
    /// What was sent or filed.
    pub evidence: Option<String>,
    /// Why it was waived.
    pub waived_reason: Option<String>,
    /// Who marked it met or waived.
    pub resolved_by: Option<String>,
    /// When it was first computed.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Why an obligation to notify people is still open after its dispatch.
    pub status_note: Option<String>,
}

impl ObligationRow {
    /// Whether the duty is still open (neither met nor waived).
    pub fn is_open(&self) -> bool {
        self.status == ObligationStatus::Open.as_str()
    }

    /// The stored status.
    pub fn status(&self) -> AppResult<ObligationStatus> {
        self.status.parse().map_err(|e: String| {
            AppError::Unexpected(anyhow::anyhow!("stored obligation status: {e}"))
        })
    }

    /// `regime recipient phase (id …)`, the way people name an obligation.
    pub fn label(&self) -> String {
        format!(
            "{} {} {} (id {})",
            self.regime, self.recipient, self.phase, self.id
        )
    }

    /// The API representation; an open obligation past its `due_at` shows as `missed`.
    /// A met one is `met_late` when met after its `due_at` (or, for an `asap` duty
    /// with no `due_at`, after its `target_at`), `late_by_seconds` saying by how much.
    pub fn to_json(&self, now: NaiveDateTime) -> Value {
        let overdue = self.due_at.is_some_and(|due| due < now);
        let status = if self.is_open() && overdue {
            "missed"
        } else {
            self.status.as_str()
        };
        let late = self
            .met_at
            .and_then(|met| lateness(met, self.due_at, self.target_at));
        json!({
            "id": self.id,
            "regime": self.regime,
            "recipient": self.recipient,
            "phase": self.phase,
            "kind": self.kind,
            "due_at": self.due_at.map(format_instant),
            "due_date": self.due_date,
            "time_zone": self.time_zone,
            "target_at": self.target_at.map(format_instant),
            "limit_at": self.limit_at.map(format_instant),
            "basis": self.basis,
            "trigger": self.trigger_reason,
            "error": self.error,
            "status": status,
            "met_at": self.met_at.map(format_instant),
            "met_late": late.is_some(),
            "late_by_seconds": late.map(|by| by.num_seconds()),
            "evidence": self.evidence,
            "waived_reason": self.waived_reason,
            "resolved_by": self.resolved_by,
            "status_note": self.status_note,
        })
    }
}

/// The computed fields of an obligation, written on every refresh.
#[derive(AsChangeset, Insertable)]
#[diesel(table_name = obligations, treat_none_as_null = true)]
struct ComputedFields {
    kind: String,
    due_at: Option<NaiveDateTime>,
    due_date: Option<String>,
    time_zone: String,
    target_at: Option<NaiveDateTime>,
    limit_at: Option<NaiveDateTime>,
    basis: String,
    trigger_reason: String,
    error: Option<String>,
    updated_at: NaiveDateTime,
}

impl ComputedFields {
    fn from(o: &Obligation, now: NaiveDateTime) -> AppResult<Self> {
        let kind = serde_json::to_value(o.kind).map_err(|e| AppError::Unexpected(e.into()))?;
        Ok(Self {
            kind: kind.as_str().unwrap_or("fixed").to_owned(),
            due_at: o.due_at.map(|t| t.naive_utc()),
            due_date: o.due_date.map(|d| d.to_string()),
            time_zone: o.time_zone.clone(),
            target_at: o.target_at.map(|t| t.naive_utc()),
            limit_at: o.limit_at.map(|t| t.naive_utc()),
            basis: o.basis.clone(),
            trigger_reason: o.trigger.clone(),
            error: o.error.clone(),
            updated_at: now,
        })
    }
}

/// The regime engine's input for an incident, in the JSON form `breachline
/// obligations` reads, so a stored evaluation can be replayed on the command line.
pub fn evaluation_input(
    incident: &IncidentRow,
    tenant: &TenantRow,
    affected: Value,
) -> AppResult<Value> {
    let facts = incident.facts()?;
    let mut profile: Value = from_json_text(&tenant.profile)?;
    if let Some(map) = profile.as_object_mut() {
        // Settings of the notices and of the team's reminders are not the law's input.
        for key in ["notices", "team", "reminders"] {
            map.remove(key);
        }
        map.insert(
            "establishments".into(),
            from_json_text(&tenant.establishments)?,
        );
    }
    Ok(json!({
        "aware_at": format_instant(facts.aware_at),
        "assessed_at": facts.assessed_at.map(format_instant),
        "cause": facts.cause,
        "data_categories": facts.data_categories,
        "encrypted": facts.encrypted,
        "risk": facts.risk,
        "affected": affected,
        "tenant": profile,
    }))
}

/// Affected people per jurisdiction, from the computed affected set; people with no
/// jurisdiction on record are attributed to the tenant's first establishment. Until a
/// set is computed, the incident's `estimated_affected` is attributed the same way.
fn affected_groups(
    conn: &mut DbConnection,
    incident: &IncidentRow,
    tenant: &TenantRow,
) -> AppResult<Value> {
    let establishments: Vec<String> = from_json_text(&tenant.establishments)?;
    let home = establishments.first();
    let state = affected::get_scope(conn, &tenant.id, &incident.id)?;
    let (mut groups, unplaced) = if state.computed_at.is_some() {
        let counts = state.jurisdiction_counts();
        let placed: i64 = counts.iter().map(|c| c.count).sum();
        let groups: Vec<Value> = counts
            .iter()
            .map(
                |c| json!({ "jurisdiction": c.jurisdiction, "count": c.count, "minors": c.minors }),
            )
            .collect();
        (groups, state.summary.total - placed)
    } else {
        (Vec::new(), incident.estimated_affected.unwrap_or(0))
    };
    if let (Some(place), true) = (home, unplaced > 0) {
        match groups
            .iter_mut()
            .find(|g| g["jurisdiction"] == place.as_str())
        {
            Some(group) => group["count"] = json!(group["count"].as_i64().unwrap_or(0) + unplaced),
            None => groups.push(json!({ "jurisdiction": place, "count": unplaced, "minors": 0 })),
        }
    }
    Ok(Value::Array(groups))
}

/// Recomputes an incident's obligations, keeping the status of those that still apply
/// and dropping open ones that no longer do (met or waived ones stay as history);
/// then attaches the tenant's runbooks whose conditions hold and moves task due times
/// with the clocks and obligations they count from (`tasks::attach`).
pub fn refresh(
    conn: &mut DbConnection,
    runbooks: &Library,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<()> {
    let incident = incidents::get(conn, tenant_id, incident_id)?;
    let tenant = tenants::get(conn, tenant_id)?;
    let groups = affected_groups(conn, &incident, &tenant)?;
    let input = evaluation_input(&incident, &tenant, groups)?;
    let parsed = regimes::parse(&input.to_string()).map_err(|errors| {
        AppError::Unexpected(anyhow::anyhow!(
            "stored facts do not form a valid evaluation: {errors:?}"
        ))
    })?;
    let evaluation = regimes::evaluate(&parsed).map_err(|e| AppError::Unexpected(e.into()))?;
    let now = now_micros();
    let mut existing: HashMap<(String, String, String), ObligationRow> =
        list(conn, tenant_id, incident_id)?
            .into_iter()
            .map(|row| {
                (
                    (row.regime.clone(), row.recipient.clone(), row.phase.clone()),
                    row,
                )
            })
            .collect();
    for o in &evaluation.obligations {
        let key = (o.regime.clone(), o.recipient.clone(), o.phase.clone());
        let fields = ComputedFields::from(o, now)?;
        match existing.remove(&key) {
            Some(row) => {
                diesel::update(obligations::table.find(&row.id))
                    .set(&fields)
                    .execute(conn)?;
            }
            None => insert(conn, tenant_id, incident_id, o, fields, now)?,
        }
    }
    let mut stale = Vec::new();
    for row in existing.into_values() {
        if !row.status()?.is_resolved() {
            stale.push(row.id);
        }
    }
    diesel::delete(obligations::table.filter(obligations::id.eq_any(stale))).execute(conn)?;
    save_evaluation(
        conn,
        tenant_id,
        incident_id,
        &input,
        &evaluation.not_triggered,
        now,
    )?;
    if incident.status()? == IncidentStatus::Closed {
        require_resolved(conn, tenant_id, incident_id)?;
    }
    attach_runbooks(conn, runbooks, &incident, &tenant, &input["affected"])
}

/// Matches the incident, with its obligations as just computed, against the
/// tenant's runbooks.
fn attach_runbooks(
    conn: &mut DbConnection,
    runbooks: &Library,
    incident: &IncidentRow,
    tenant: &TenantRow,
    groups: &Value,
) -> AppResult<()> {
    let facts = incident.facts()?;
    let (jurisdictions, minors) = affected_places(groups)?;
    let clocks: Vec<ObligationClock> = list(conn, &tenant.id, &incident.id)?
        .into_iter()
        .map(|o| ObligationClock {
            regime: o.regime,
            recipient: o.recipient,
            phase: o.phase,
            due_at: o.due_at,
            target_at: o.target_at,
            error: o.error,
        })
        .collect();
    let situation = Situation {
        tenant: &tenant.slug,
        facts: &facts,
        jurisdictions: &jurisdictions,
        minors,
        obligations: &clocks,
    };
    tasks::attach(
        conn,
        runbooks.for_tenant(&tenant.slug),
        &situation,
        &tenant.id,
        &incident.id,
    )
}

/// Fails with a conflict naming every obligation of the incident that is neither met
/// nor waived: a closed incident may have none, so closing one, or changing a closed
/// one's facts or scope so that a duty appears, is refused (and rolled back).
pub fn require_resolved(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<()> {
    let mut open = Vec::new();
    for row in list(conn, tenant_id, incident_id)? {
        if !row.status()?.is_resolved() {
            open.push(row.label());
        }
    }
    if open.is_empty() {
        return Ok(());
    }
    Err(AppError::Blocked {
        detail: format!(
            "incident {incident_id} cannot be closed, nor stay closed, while {} {} open: {}; \
             mark each met or waive it, or reopen the incident (status open) to work on them",
            if open.len() == 1 {
                "1 obligation".to_owned()
            } else {
                format!("{} obligations", open.len())
            },
            if open.len() == 1 { "is" } else { "are" },
            open.join(", ")
        ),
        errors: open
            .into_iter()
            .map(|label| FieldError::new("status", format!("obligation {label} is open")))
            .collect(),
    })
}

/// The jurisdictions with affected people, and whether any of them are minors,
/// from [`affected_groups`].
fn affected_places(groups: &Value) -> AppResult<(Vec<Jurisdiction>, bool)> {
    let mut places = Vec::new();
    let mut minors = false;
    for group in groups.as_array().into_iter().flatten() {
        if group["count"].as_i64().unwrap_or(0) <= 0 {
            continue;
        }
        let code = group["jurisdiction"].as_str().unwrap_or_default();
        places
            .push(Jurisdiction::parse(code).map_err(|e| {
                AppError::Unexpected(anyhow::anyhow!("affected jurisdiction: {e}"))
            })?);
        minors |= group["minors"].as_i64().unwrap_or(0) > 0;
    }
    Ok((places, minors))
}

fn insert(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    o: &Obligation,
    fields: ComputedFields,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(obligations::table)
        .values((
            fields,
            obligations::id.eq(new_id()),
            obligations::tenant_id.eq(tenant_id),
            obligations::incident_id.eq(incident_id),
            obligations::regime.eq(&o.regime),
            obligations::recipient.eq(&o.recipient),
            obligations::phase.eq(&o.phase),
            obligations::status.eq(ObligationStatus::Open.as_str()),
            obligations::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

fn save_evaluation(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    input: &Value,
    not_triggered: &[regimes::NotTriggered],
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(incident_evaluations::table.find(incident_id)).execute(conn)?;
    diesel::insert_into(incident_evaluations::table)
        .values((
            incident_evaluations::incident_id.eq(incident_id),
            incident_evaluations::tenant_id.eq(tenant_id),
            incident_evaluations::evaluated_at.eq(now),
            incident_evaluations::input.eq(input.to_string()),
            incident_evaluations::not_triggered.eq(to_json_text(&not_triggered)?),
        ))
        .execute(conn)?;
    Ok(())
}

/// The incident's obligations, earliest deadline (or target) first.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<ObligationRow>> {
    let mut rows = obligations::table
        .filter(obligations::tenant_id.eq(tenant_id))
        .filter(obligations::incident_id.eq(incident_id))
        .load::<ObligationRow>(conn)?;
    rows.sort_by_key(|r| {
        (
            r.due_at.or(r.target_at).is_none(),
            r.due_at.or(r.target_at),
            r.regime.clone(),
        )
    });
    Ok(rows)
}

/// The last evaluation's input and the regimes that did not apply.
pub fn evaluation(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<(Value, Value, String)> {
    let (input, not_triggered, at): (String, String, NaiveDateTime) = incident_evaluations::table
        .filter(incident_evaluations::tenant_id.eq(tenant_id))
        .filter(incident_evaluations::incident_id.eq(incident_id))
        .select((
            incident_evaluations::input,
            incident_evaluations::not_triggered,
            incident_evaluations::evaluated_at,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("evaluation of incident {incident_id}")))?;
    Ok((
        from_json_text(&input)?,
        from_json_text(&not_triggered)?,
        format_instant(at),
    ))
}

/// Loads one obligation of one of the tenant's incidents.
pub fn get(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    id: &str,
) -> AppResult<ObligationRow> {
    obligations::table
        .filter(obligations::tenant_id.eq(tenant_id))
        .filter(obligations::incident_id.eq(incident_id))
        .filter(obligations::id.eq(id))
        .first::<ObligationRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("obligation {id}")))
}

/// A user's decision about an obligation.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Done: what was sent or filed, and when.
    Met {
        /// What was sent or filed.
        evidence: String,
        /// When.
        at: NaiveDateTime,
    },
    /// Not needed, and why.
    Waived {
        /// Why.
        reason: String,
    },
    /// Back to open (a mistaken decision).
    Reopened,
}

/// Records a resolution on one obligation. Reopening one of a closed incident is
/// refused: the incident is reopened first.
pub fn resolve(
    conn: &mut DbConnection,
    row: &ObligationRow,
    resolution: &Resolution,
    by: &str,
) -> AppResult<()> {
    let (status, met_at, evidence, reason, resolved_by) = match resolution {
        Resolution::Met { evidence, at } => (
            ObligationStatus::Met,
            Some(*at),
            Some(evidence.as_str()),
            None,
            Some(by),
        ),
        Resolution::Waived { reason } => (
            ObligationStatus::Waived,
            None,
            None,
            Some(reason.as_str()),
            Some(by),
        ),
        Resolution::Reopened => (ObligationStatus::Open, None, None, None, None),
    };
    if status == ObligationStatus::Open
        && incidents::get(conn, &row.tenant_id, &row.incident_id)?.status()?
            == IncidentStatus::Closed
    {
        return Err(AppError::Conflict(format!(
            "incident {} is closed; reopen the incident (status open) before reopening its obligation {}",
            row.incident_id,
            row.label()
        )));
    }
    diesel::update(obligations::table.find(&row.id))
        .set((
            obligations::status.eq(status.as_str()),
            obligations::met_at.eq(met_at),
            obligations::evidence.eq(evidence),
            obligations::waived_reason.eq(reason),
            obligations::resolved_by.eq(resolved_by),
            obligations::updated_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}
