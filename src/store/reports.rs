//! Regulator reports as stored: immutable versions (the built document as JSON with
//! its hash, author and time, numbered per incident, regime and phase), the record of
//! a version's submission, the team's answers per regime, and the read-only links a
//! regulator is given. Also the few figures of the proof of notification that no
//! other store function counts (people per exposed category, when the first and last
//! notice left).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use sha2::{Digest, Sha256};

use super::{from_json_text, incidents, new_id, to_json_text, word};
use crate::db::DbConnection;
use crate::db::schema::{
    delivery_attempts, dispatches, outbox, report_answers, report_shares, report_versions,
};
use crate::domain::{AttemptResult, DataCategory, SubmissionChannel, now_micros};
use crate::error::{AppError, AppResult};
use crate::reports::{Answer, ReportPhase};

/// One report version as stored.
#[derive(Debug, Clone, Queryable)]
pub struct VersionRow {
    /// Identifier.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Incident.
    pub incident_id: String,
    /// Regime id.
    pub regime: String,
    /// Report phase (`preliminary`, `final`, …).
    pub phase: String,
    /// Number per (incident, regime, phase), from 1.
    pub version: i32,
    /// The built report (`ReportDocument`) as JSON.
    pub document: String,
    /// SHA-256 of that JSON.
    pub sha256: String,
    /// JSON list of the required items left empty.
    pub missing: String,
    /// Who generated it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// When it was filed with the regulator.
    pub submitted_at: Option<NaiveDateTime>,
    /// How (`portal`, `email`, `post`).
    pub submitted_channel: Option<String>,
    /// The regulator's reference (receipt number).
    pub submitted_reference: Option<String>,
    /// Who recorded the submission.
    pub submitted_by: Option<String>,
    /// When the submission was recorded.
    pub submission_recorded_at: Option<NaiveDateTime>,
}

impl VersionRow {
    /// The phase as a word of the vocabulary.
    pub fn phase(&self) -> AppResult<ReportPhase> {
        word("report phase", &self.phase)
    }

    /// The keys of the required items left empty.
    pub fn missing(&self) -> AppResult<Vec<String>> {
        from_json_text(&self.missing)
    }

    /// The submission, if the version was filed.
    pub fn submission(&self) -> AppResult<Option<Submission>> {
        let (Some(at), Some(channel), Some(reference)) = (
            self.submitted_at,
            self.submitted_channel.as_deref(),
            self.submitted_reference.as_deref(),
        ) else {
            return Ok(None);
        };
        Ok(Some(Submission {
            submitted_at: at,
            channel: word("submission channel", channel)?,
            reference: reference.to_owned(),
        }))
    }
}

/// A new version to store.
pub struct NewVersion<'a> {
    /// Tenant.
    pub tenant_id: &'a str,
    /// Incident.
    pub incident_id: &'a str,
    /// Regime id.
    pub regime: &'a str,
    /// Report phase.
    pub phase: ReportPhase,
    /// The built report as JSON.
    pub document: &'a str,
    /// Its SHA-256.
    pub sha256: &'a str,
    /// Required items left empty.
    pub missing: &'a [String],
    /// Who generated it.
    pub created_by: &'a str,
    /// When (the report's `prepared_at`).
    pub created_at: NaiveDateTime,
}

/// Stores a new version, numbered after the last one of the same report.
pub fn insert_version(conn: &mut DbConnection, new: &NewVersion<'_>) -> AppResult<VersionRow> {
    super::tenants::take_turn(conn, new.tenant_id)?;
    let last: Option<i32> = report_versions::table
        .filter(report_versions::tenant_id.eq(new.tenant_id))
        .filter(report_versions::incident_id.eq(new.incident_id))
        .filter(report_versions::regime.eq(new.regime))
        .filter(report_versions::phase.eq(new.phase.as_str()))
        .select(diesel::dsl::max(report_versions::version))
        .first(conn)?;
    let id = new_id();
    diesel::insert_into(report_versions::table)
        .values((
            report_versions::id.eq(&id),
            report_versions::tenant_id.eq(new.tenant_id),
            report_versions::incident_id.eq(new.incident_id),
            report_versions::regime.eq(new.regime),
            report_versions::phase.eq(new.phase.as_str()),
            report_versions::version.eq(last.unwrap_or(0) + 1),
            report_versions::document.eq(new.document),
            report_versions::sha256.eq(new.sha256),
            report_versions::missing.eq(to_json_text(&new.missing)?),
            report_versions::created_by.eq(new.created_by),
            report_versions::created_at.eq(new.created_at),
        ))
        .execute(conn)?;
    get(conn, new.tenant_id, new.incident_id, &id)
}

/// One version of one of the tenant's incidents (404 for another tenant's).
pub fn get(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    id: &str,
) -> AppResult<VersionRow> {
    report_versions::table
        .filter(report_versions::tenant_id.eq(tenant_id))
        .filter(report_versions::incident_id.eq(incident_id))
        .filter(report_versions::id.eq(id))
        .first::<VersionRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("report {id}")))
}

/// Every version of the incident's reports, by regime, phase and version.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<VersionRow>> {
    incidents::get(conn, tenant_id, incident_id)?;
    Ok(report_versions::table
        .filter(report_versions::tenant_id.eq(tenant_id))
        .filter(report_versions::incident_id.eq(incident_id))
        .order((
            report_versions::regime.asc(),
            report_versions::phase.asc(),
            report_versions::version.asc(),
        ))
        .load::<VersionRow>(conn)?)
}

/// How a version was filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// When it was filed.
    pub submitted_at: NaiveDateTime,
    /// How.
    pub channel: SubmissionChannel,
    /// The regulator's reference number or receipt.
    pub reference: String,
}

/// Records that `row` was filed; a version is submitted once (409 after that).
pub fn record_submission(
    conn: &mut DbConnection,
    row: &VersionRow,
    submission: &Submission,
    by: &str,
) -> AppResult<VersionRow> {
    let changed = diesel::update(report_versions::table.find(&row.id))
        .filter(report_versions::submitted_at.is_null())
        .set((
            report_versions::submitted_at.eq(submission.submitted_at),
            report_versions::submitted_channel.eq(submission.channel.as_str()),
            report_versions::submitted_reference.eq(&submission.reference),
            report_versions::submitted_by.eq(by),
            report_versions::submission_recorded_at.eq(now_micros()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(AppError::Conflict(format!(
            "version {} of the {} {} report was already recorded as submitted",
            row.version, row.regime, row.phase
        )));
    }
    get(conn, &row.tenant_id, &row.incident_id, &row.id)
}

/// One stored answer with who gave it.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    /// The answer.
    pub answer: Answer,
    /// Who gave it.
    pub updated_by: String,
    /// When.
    pub updated_at: NaiveDateTime,
}

/// The team's answers to a regime's report items, by item key.
pub fn answers(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    regime: &str,
) -> AppResult<BTreeMap<String, StoredAnswer>> {
    let rows: Vec<(String, String, String, NaiveDateTime)> = report_answers::table
        .filter(report_answers::tenant_id.eq(tenant_id))
        .filter(report_answers::incident_id.eq(incident_id))
        .filter(report_answers::regime.eq(regime))
        .select((
            report_answers::item,
            report_answers::answer,
            report_answers::updated_by,
            report_answers::updated_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(item, answer, updated_by, updated_at)| {
            Ok((
                item,
                StoredAnswer {
                    answer: from_json_text(&answer)?,
                    updated_by,
                    updated_at,
                },
            ))
        })
        .collect()
}

/// Sets (or, for `None`, clears) the team's answers to the given items.
pub fn put_answers(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    regime: &str,
    changes: &[(String, Option<Answer>)],
    by: &str,
) -> AppResult<()> {
    incidents::get(conn, tenant_id, incident_id)?;
    let now = now_micros();
    for (item, answer) in changes {
        diesel::delete(report_answers::table.find((incident_id, regime, item))).execute(conn)?;
        if let Some(answer) = answer {
            diesel::insert_into(report_answers::table)
                .values((
                    report_answers::incident_id.eq(incident_id),
                    report_answers::regime.eq(regime),
                    report_answers::item.eq(item),
                    report_answers::tenant_id.eq(tenant_id),
                    report_answers::answer.eq(to_json_text(answer)?),
                    report_answers::updated_by.eq(by),
                    report_answers::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Affected people per exposed data category of the affected set `set_id`: one
/// aggregate pass in the database (the categories are a bit mask per person, one
/// conditional sum per category), with no sort and no row reaching Rust.
pub fn people_by_category(
    conn: &mut DbConnection,
    set_id: i64,
) -> AppResult<BTreeMap<DataCategory, i64>> {
    #[derive(QueryableByName)]
    struct Sums {
        #[diesel(sql_type = Text)]
        sums: String,
    }
    let columns = DataCategory::ALL
        .iter()
        .enumerate()
        .map(|(bit, _)| {
            format!(
                "CAST(COALESCE(SUM(CASE WHEN (exposed_categories & {}) <> 0 THEN 1 ELSE 0 END), 0) AS TEXT)",
                1_i64 << bit
            )
        })
        .collect::<Vec<_>>()
        .join(" || ',' || ");
    let row: Sums = diesel::sql_query(format!(
        "SELECT {columns} AS sums FROM affected_subjects WHERE set_id = $1"
    ))
    .bind::<BigInt, _>(set_id)
    .get_result(conn)?;
    let mut out = BTreeMap::new();
    for (category, n) in DataCategory::ALL.iter().zip(row.sums.split(',')) {
        let n: i64 = n
            .trim()
            .parse()
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("category count '{n}': {e}")))?;
        if n > 0 {
            out.insert(*category, n);
        }
    }
    Ok(out)
}

/// When the first and the last notice of the incident's dispatches left: the
/// ledger's earliest and latest `sent` or `handed_off` attempt.
pub fn sending_span(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<(Option<NaiveDateTime>, Option<NaiveDateTime>)> {
    let left = [
        AttemptResult::Sent.as_str(),
        AttemptResult::HandedOff.as_str(),
    ];
    let span: (Option<NaiveDateTime>, Option<NaiveDateTime>) = delivery_attempts::table
        .inner_join(outbox::table.on(outbox::id.eq(delivery_attempts::outbox_id)))
        .inner_join(dispatches::table.on(dispatches::id.eq(outbox::dispatch_id)))
        .filter(dispatches::tenant_id.eq(tenant_id))
        .filter(dispatches::incident_id.eq(incident_id))
        .filter(delivery_attempts::result.eq_any(left))
        .select((
            diesel::dsl::min(delivery_attempts::at),
            diesel::dsl::max(delivery_attempts::at),
        ))
        .first(conn)?;
    Ok(span)
}

/// A read-only link for a regulator.
#[derive(Debug, Clone, Queryable)]
pub struct ShareRow {
    /// Identifier.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Incident whose reports it shows.
    pub incident_id: String,
    /// The one report's regime, or `None` for every report of the incident.
    pub regime: Option<String>,
    /// The one report's phase.
    pub phase: Option<String>,
    /// Who it is for (`PPC`, `ICO`, …).
    pub regulator: String,
    /// SHA-256 of the link's token.
    pub token_hash: String,
    /// When the link stops working.
    pub expires_at: NaiveDateTime,
    /// Who shared.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// When it was revoked.
    pub revoked_at: Option<NaiveDateTime>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// Pages and files served through it.
    pub views: i64,
    /// The last of them.
    pub last_viewed_at: Option<NaiveDateTime>,
}

impl ShareRow {
    /// Whether the link covers `row` (same incident; its report, or every report).
    pub fn covers(&self, row: &VersionRow) -> bool {
        row.tenant_id == self.tenant_id
            && row.incident_id == self.incident_id
            && self.regime.as_ref().is_none_or(|r| *r == row.regime)
            && self.phase.as_ref().is_none_or(|p| *p == row.phase)
    }

    /// Whether the link still works at `now`.
    pub fn is_live(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// What a new link shares.
pub struct NewShare<'a> {
    /// Tenant.
    pub tenant_id: &'a str,
    /// Incident.
    pub incident_id: &'a str,
    /// One report (regime, phase), or every report of the incident.
    pub report: Option<(&'a str, &'a str)>,
    /// Who it is for.
    pub regulator: &'a str,
    /// When it stops working.
    pub expires_at: NaiveDateTime,
    /// Who shares.
    pub created_by: &'a str,
}

/// SHA-256 (hex) of a link token, as stored.
pub fn share_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Stores a link; returns it with its token (shown once, never stored).
pub fn create_share(conn: &mut DbConnection, new: &NewShare<'_>) -> AppResult<(ShareRow, String)> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let id = new_id();
    diesel::insert_into(report_shares::table)
        .values((
            report_shares::id.eq(&id),
            report_shares::tenant_id.eq(new.tenant_id),
            report_shares::incident_id.eq(new.incident_id),
            report_shares::regime.eq(new.report.map(|(r, _)| r)),
            report_shares::phase.eq(new.report.map(|(_, p)| p)),
            report_shares::regulator.eq(new.regulator),
            report_shares::token_hash.eq(share_token_hash(&token)),
            report_shares::expires_at.eq(new.expires_at),
            report_shares::created_by.eq(new.created_by),
            report_shares::created_at.eq(now_micros()),
            report_shares::views.eq(0),
        ))
        .execute(conn)?;
    Ok((get_share(conn, new.tenant_id, new.incident_id, &id)?, token))
}

/// One link of the incident (404 for another tenant's).
pub fn get_share(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    id: &str,
) -> AppResult<ShareRow> {
    report_shares::table
        .filter(report_shares::tenant_id.eq(tenant_id))
        .filter(report_shares::incident_id.eq(incident_id))
        .filter(report_shares::id.eq(id))
        .first::<ShareRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("share {id}")))
}

/// The incident's links, oldest first.
pub fn list_shares(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<ShareRow>> {
    incidents::get(conn, tenant_id, incident_id)?;
    Ok(report_shares::table
        .filter(report_shares::tenant_id.eq(tenant_id))
        .filter(report_shares::incident_id.eq(incident_id))
        .order(report_shares::created_at.asc())
        .load::<ShareRow>(conn)?)
}

/// Revokes a link (again: 409).
pub fn revoke_share(conn: &mut DbConnection, row: &ShareRow, by: &str) -> AppResult<ShareRow> {
    let changed = diesel::update(report_shares::table.find(&row.id))
        .filter(report_shares::revoked_at.is_null())
        .set((
            report_shares::revoked_at.eq(now_micros()),
            report_shares::revoked_by.eq(by),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(AppError::Conflict(format!(
            "share {} is already revoked",
            row.id
        )));
    }
    get_share(conn, &row.tenant_id, &row.incident_id, &row.id)
}

/// The link a token opens, live or not (the caller tells expired from revoked).
pub fn share_by_token(conn: &mut DbConnection, token: &str) -> AppResult<Option<ShareRow>> {
    Ok(report_shares::table
        .filter(report_shares::token_hash.eq(share_token_hash(token)))
        .first::<ShareRow>(conn)
        .optional()?)
}

/// Counts one view through a link.
pub fn record_view(conn: &mut DbConnection, row: &ShareRow) -> AppResult<()> {
    diesel::update(report_shares::table.find(&row.id))
        .set((
            report_shares::views.eq(report_shares::views + 1),
            report_shares::last_viewed_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The incident's links that work now (what a regulator-role token may read).
pub fn live_shares(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<ShareRow>> {
    let now = now_micros();
    Ok(report_shares::table
        .filter(report_shares::tenant_id.eq(tenant_id))
        .filter(report_shares::incident_id.eq(incident_id))
        .filter(report_shares::revoked_at.is_null())
        .filter(report_shares::expires_at.gt(now))
        .load::<ShareRow>(conn)?)
}
