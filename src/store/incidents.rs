//! Incidents, always read and written for one tenant.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::{from_json_text, new_id, to_json_text};
use crate::db::DbConnection;
use crate::db::schema::incidents;
use crate::domain::{IncidentFacts, IncidentStatus, format_instant, now_micros};
use crate::error::{AppError, AppResult};

/// One incident as stored.
#[derive(Debug, Clone, Queryable)]
pub struct IncidentRow {
    /// Identifier (UUIDv7, so ordering by id is ordering by creation).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// See [`IncidentFacts`].
    pub title: String,
    /// See [`IncidentFacts`].
    pub description: Option<String>,
    /// See [`IncidentFacts`].
    pub occurred_at: Option<NaiveDateTime>,
    /// See [`IncidentFacts`].
    pub discovered_at: NaiveDateTime,
    /// See [`IncidentFacts`].
    pub aware_at: NaiveDateTime,
    /// See [`IncidentFacts`].
    pub assessed_at: Option<NaiveDateTime>,
    /// See [`IncidentFacts`].
    pub contained_at: Option<NaiveDateTime>,
    /// Cause word.
    pub cause: Option<String>,
    /// JSON list of breach type words.
    pub breach_types: String,
    /// JSON list of data category words.
    pub data_categories: String,
    /// JSON list of system names.
    pub systems: String,
    /// See [`IncidentFacts`].
    pub encrypted: bool,
    /// Risk word.
    pub risk: Option<String>,
    /// See [`IncidentFacts`].
    pub estimated_affected: Option<i64>,
    /// See [`IncidentFacts`].
    pub severity: Option<String>,
    /// See [`IncidentFacts`].
    pub owner: Option<String>,
    /// Status word.
    pub status: String,
    /// Actor who filed it.
    pub created_by: String,
    /// When it was filed.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

impl IncidentRow {
    /// The validated facts.
    pub fn facts(&self) -> AppResult<IncidentFacts> {
        Ok(IncidentFacts {
            title: self.title.clone(),
            description: self.description.clone(),
            occurred_at: self.occurred_at,
            discovered_at: self.discovered_at,
            aware_at: self.aware_at,
            assessed_at: self.assessed_at,
            contained_at: self.contained_at,
            cause: parse_stored(self.cause.as_deref())?,
            breach_types: from_json_text(&self.breach_types)?,
            data_categories: from_json_text(&self.data_categories)?,
            systems: from_json_text(&self.systems)?,
            encrypted: self.encrypted,
            risk: parse_stored(self.risk.as_deref())?,
            estimated_affected: self.estimated_affected,
            severity: self.severity.clone(),
            owner: self.owner.clone(),
        })
    }

    /// The current status.
    pub fn status(&self) -> AppResult<IncidentStatus> {
        self.status
            .parse()
            .map_err(|e: String| AppError::Unexpected(anyhow::anyhow!("stored status: {e}")))
    }

    /// The API representation.
    pub fn to_json(&self) -> AppResult<serde_json::Value> {
        let f = self.facts()?;
        Ok(json!({
            "id": self.id,
            "title": f.title,
            "description": f.description,
            "occurred_at": f.occurred_at.map(format_instant),
            "discovered_at": format_instant(f.discovered_at),
            "aware_at": format_instant(f.aware_at),
            "assessed_at": f.assessed_at.map(format_instant),
            "contained_at": f.contained_at.map(format_instant),
            "cause": f.cause,
            "breach_types": f.breach_types,
            "data_categories": f.data_categories,
            "systems": f.systems,
            "encrypted": f.encrypted,
            "risk": f.risk,
            "estimated_affected": f.estimated_affected,
            "severity": f.severity,
            "owner": f.owner,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": format_instant(self.created_at),
            "updated_at": format_instant(self.updated_at),
        }))
    }
}

fn parse_stored<T: std::str::FromStr<Err = String>>(word: Option<&str>) -> AppResult<Option<T>> {
    word.map(str::parse)
        .transpose()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("stored value: {e}")))
}

/// The fact columns, written on insert and on every change.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = incidents, treat_none_as_null = true)]
struct IncidentChanges<'a> {
    title: &'a str,
    description: Option<&'a str>,
    occurred_at: Option<NaiveDateTime>,
    discovered_at: NaiveDateTime,
    aware_at: NaiveDateTime,
    assessed_at: Option<NaiveDateTime>,
    contained_at: Option<NaiveDateTime>,
    cause: Option<&'static str>,
    breach_types: String,
    data_categories: String,
    systems: String,
    encrypted: bool,
    risk: Option<&'static str>,
    estimated_affected: Option<i64>,
    severity: Option<&'a str>,
    owner: Option<&'a str>,
    updated_at: NaiveDateTime,
}

impl<'a> IncidentChanges<'a> {
    fn from_facts(f: &'a IncidentFacts, now: NaiveDateTime) -> AppResult<Self> {
        Ok(Self {
            title: &f.title,
            description: f.description.as_deref(),
            occurred_at: f.occurred_at,
            discovered_at: f.discovered_at,
            aware_at: f.aware_at,
            assessed_at: f.assessed_at,
            contained_at: f.contained_at,
            cause: f.cause.map(|c| c.as_str()),
            breach_types: to_json_text(&f.breach_types)?,
            data_categories: to_json_text(&f.data_categories)?,
            systems: to_json_text(&f.systems)?,
            encrypted: f.encrypted,
            risk: f.risk.map(|r| r.as_str()),
            estimated_affected: f.estimated_affected,
            severity: f.severity.as_deref(),
            owner: f.owner.as_deref(),
            updated_at: now,
        })
    }
}

/// Stores a new open incident.
pub fn insert(
    conn: &mut DbConnection,
    tenant_id: &str,
    facts: &IncidentFacts,
    created_by: &str,
) -> AppResult<IncidentRow> {
    let id = new_id();
    let now = now_micros();
    diesel::insert_into(incidents::table)
        .values((
            IncidentChanges::from_facts(facts, now)?,
            incidents::id.eq(&id),
            incidents::tenant_id.eq(tenant_id),
            incidents::status.eq(IncidentStatus::Open.as_str()),
            incidents::created_by.eq(created_by),
            incidents::created_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, tenant_id, &id)
}

/// Replaces an incident's facts (and status, when given).
pub fn update(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    facts: &IncidentFacts,
    status: Option<IncidentStatus>,
) -> AppResult<IncidentRow> {
    let target = incidents::table
        .filter(incidents::tenant_id.eq(tenant_id))
        .filter(incidents::id.eq(id));
    diesel::update(target)
        .set(IncidentChanges::from_facts(facts, now_micros())?)
        .execute(conn)?;
    if let Some(status) = status {
        diesel::update(target)
            .set(incidents::status.eq(status.as_str()))
            .execute(conn)?;
    }
    get(conn, tenant_id, id)
}

/// Loads one of the tenant's incidents; any other id is "not found".
pub fn get(conn: &mut DbConnection, tenant_id: &str, id: &str) -> AppResult<IncidentRow> {
    incidents::table
        .filter(incidents::tenant_id.eq(tenant_id))
        .filter(incidents::id.eq(id))
        .first::<IncidentRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("incident {id}")))
}

/// Ids of the tenant's incidents that are not closed.
pub fn open_ids(conn: &mut DbConnection, tenant_id: &str) -> AppResult<Vec<String>> {
    Ok(incidents::table
        .filter(incidents::tenant_id.eq(tenant_id))
        .filter(incidents::status.ne(IncidentStatus::Closed.as_str()))
        .select(incidents::id)
        .load::<String>(conn)?)
}

/// Newest first, `limit` at a time, starting after the `before` id (keyset paging).
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    status: Option<IncidentStatus>,
    before: Option<&str>,
    limit: i64,
) -> AppResult<Vec<IncidentRow>> {
    let mut query = incidents::table
        .filter(incidents::tenant_id.eq(tenant_id))
        .order(incidents::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(incidents::status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(incidents::id.lt(before.to_owned()));
    }
    Ok(query.load::<IncidentRow>(conn)?)
}
