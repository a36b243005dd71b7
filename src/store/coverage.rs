//! Coverage: what a published bulletin does to the dispatch ledger and to the
//! obligations to notify people. People who cannot be told one by one (no usable
//! contact in the plan, or every channel failed) in the jurisdictions where a law
//! (or the tenant's promise) lets the bulletin stand in for individual notice are
//! marked `covered` (`covered_by: bulletin <id> v<n>`); the `subjects` obligation
//! of such a regime is met, with the bulletin as evidence, once every other person
//! it counts was sent a notice. A regime whose conditions do not hold stays open,
//! with the reason.
//!
//! Runs when a bulletin version is approved, and again when a dispatch completes
//! while a bulletin is live (its unreachable people are covered then).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use serde::Serialize;

use super::bulletins::{self, BulletinRow};
use super::{affected, from_json_text, obligations, tenants};
use crate::db::DbConnection;
use crate::db::schema::{
    affected_subjects, bulletins as bulletins_table, dispatch_recipients, dispatches,
    obligations as obligations_table,
};
use crate::domain::{BulletinStatus, ObligationStatus, RecipientState, format_instant, now_micros};
use crate::error::{AppError, AppResult};

/// What one coverage pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// The bulletin and version that covers (`bulletin <id> v<n>`).
    pub covered_by: String,
    /// People newly marked covered in the dispatch ledger.
    pub newly_covered: usize,
    /// People marked covered by this bulletin in the ledger, in all.
    pub covered_in_ledger: i64,
    /// Obligations met by the bulletin now (ids).
    pub obligations_met: Vec<String>,
    /// Obligations to notify people that stay open, with why.
    pub obligations_open: Vec<OpenObligation>,
}

/// An obligation to notify people the bulletin does not (yet) meet.
#[derive(Debug, Clone, Serialize)]
pub struct OpenObligation {
    /// Obligation id.
    pub id: String,
    /// Its regime.
    pub regime: String,
    /// Why it stays open.
    pub reason: String,
}

/// The incident's live bulletin (published, not withdrawn), the most recently
/// published first.
fn live_bulletin(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Option<BulletinRow>> {
    Ok(bulletins_table::table
        .filter(bulletins_table::tenant_id.eq(tenant_id))
        .filter(bulletins_table::incident_id.eq(incident_id))
        .filter(bulletins_table::status.eq(BulletinStatus::Published.as_str()))
        .order(bulletins_table::updated_at.desc())
        .first::<BulletinRow>(conn)
        .optional()?)
}

/// Applies the incident's live bulletin, if it has one: covers the people it
/// stands in for and meets the obligations it satisfies; the evidence names the
/// version, its hash, when it was published and its public page (`/b/{slug}/{id}`).
pub fn apply(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Option<Coverage>> {
    let Some(row) = live_bulletin(conn, tenant_id, incident_id)? else {
        return Ok(None);
    };
    apply_bulletin(conn, &row).map(Some)
}

/// Where a person counts: their jurisdiction, or the tenant's first establishment.
struct Places {
    home: String,
}

impl Places {
    fn of(code: &str, home: &str) -> String {
        if code.is_empty() {
            home.to_owned()
        } else {
            code.to_owned()
        }
    }
}

/// The jurisdictions a regime counts people of (`None`: everyone).
type Territory = Option<BTreeSet<String>>;

/// Applies one published bulletin (see [`apply`]).
pub fn apply_bulletin(conn: &mut DbConnection, row: &BulletinRow) -> AppResult<Coverage> {
    let number = row.published_version.ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!("bulletin {} is not published", row.id))
    })?;
    let version = bulletins::versions(conn, row)?
        .into_iter()
        .find(|v| v.version == number)
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("bulletin {} v{number}", row.id)))?;
    let covered_by = format!("bulletin {} v{number}", row.id);
    let tenant = tenants::get(conn, &row.tenant_id)?;
    let establishments: Vec<crate::domain::Jurisdiction> =
        from_json_text::<Vec<String>>(&tenant.establishments)?
            .iter()
            .filter_map(|c| crate::domain::Jurisdiction::parse(c).ok())
            .collect();
    let places = Places {
        home: establishments
            .first()
            .map(|j| j.as_str().to_owned())
            .unwrap_or_default(),
    };
    let notice = bulletins::substitute_notice(conn, &row.tenant_id, &row.incident_id)?;
    let territory = |regime: &str| -> AppResult<Territory> {
        Ok(crate::regimes::people_of(regime, &establishments)
            .map_err(|e| AppError::Unexpected(e.into()))?
            .map(|codes| codes.iter().map(|j| j.as_str().to_owned()).collect()))
    };

    // Who the bulletin stands in for: the union of the allowing regimes' territories.
    let mut covers: Option<Territory> = None;
    for decision in notice.regimes.iter().filter(|d| d.allowed) {
        covers = Some(match (covers, territory(&decision.regime)?) {
            (Some(None), _) | (_, None) => None,
            (Some(Some(mut a)), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            (None, Some(b)) => Some(b),
        });
    }
    let set_id = affected::current_set(conn, &row.incident_id)?;
    let now = now_micros();
    let newly_covered = match (&covers, set_id) {
        (Some(scope), Some(set_id)) => cover_people(
            conn,
            (&row.tenant_id, &row.incident_id),
            &covered_by,
            scope.as_ref().map(|codes| CoverScope {
                set_id,
                codes,
                unplaced: codes.contains(&places.home),
            }),
            now,
        )?,
        _ => 0,
    };
    let covered_in_ledger = covered_count(conn, row, &covered_by)?;

    let left = match set_id {
        Some(set_id) => not_told(conn, row, set_id)?,
        None => BTreeMap::new(),
    };
    let published_at = version.published_at.map(format_instant).unwrap_or_default();
    let page = format!("/b/{}/{}", tenant.slug, row.id);
    let mut outcome = Coverage {
        covered_by: covered_by.clone(),
        newly_covered,
        covered_in_ledger,
        ..Coverage::default()
    };
    for o in obligations::list(conn, &row.tenant_id, &row.incident_id)? {
        if o.recipient != "subjects" || !o.is_open() {
            continue;
        }
        let Some(decision) = notice.regimes.iter().find(|d| d.regime == o.regime) else {
            continue;
        };
        let reason = if decision.allowed {
            let scope = territory(&o.regime)?;
            let missing: u64 = left
                .iter()
                .filter(|(code, _)| {
                    let place = Places::of(code, &places.home);
                    scope.as_ref().is_none_or(|s| s.contains(&place))
                })
                .map(|(_, n)| *n)
                .sum();
            let everyone = decision.people > 0 && decision.people_covered >= decision.people;
            if everyone || missing == 0 {
                let evidence = format!(
                    "{covered_by} (sha256 {}) published {published_at} at {page}: substitute notice under {} for {} people ({} marked covered in the dispatch ledger)",
                    version.sha256, decision.basis, decision.people_covered, covered_in_ledger
                );
                meet(conn, &o.id, &evidence, now)?;
                outcome.obligations_met.push(o.id.clone());
                continue;
            }
            format!(
                "{missing} {} neither sent a notice nor covered by {covered_by}",
                if missing == 1 {
                    "person was"
                } else {
                    "people were"
                }
            )
        } else {
            format!(
                "substitute notice is not allowed under {}: {}",
                decision.basis,
                decision.reasons.join("; ")
            )
        };
        diesel::update(obligations_table::table.find(&o.id))
            .set((
                obligations_table::status_note.eq(&reason),
                obligations_table::updated_at.eq(now),
            ))
            .execute(conn)?;
        outcome.obligations_open.push(OpenObligation {
            id: o.id,
            regime: o.regime,
            reason,
        });
    }
    Ok(outcome)
}

/// Which unreachable people a bulletin covers: those of the affected set `set_id`
/// with a jurisdiction in `codes`, and those with none when `unplaced` (they count
/// under the tenant's home).
pub struct CoverScope<'a> {
    /// The incident's current affected set.
    pub set_id: i64,
    /// Jurisdiction codes.
    pub codes: &'a BTreeSet<String>,
    /// Whether people without a jurisdiction are covered too.
    pub unplaced: bool,
}

/// Marks the incident's unreachable people (in `scope`; `None`: everyone) covered
/// by `covered_by` (`bulletin <id> v<n>`); returns how many.
pub fn cover_people(
    conn: &mut DbConnection,
    (tenant_id, incident_id): (&str, &str),
    covered_by: &str,
    scope: Option<CoverScope<'_>>,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let of_incident = dispatches::table
        .filter(dispatches::tenant_id.eq(tenant_id))
        .filter(dispatches::incident_id.eq(incident_id))
        .select(dispatches::id);
    let base = dispatch_recipients::table
        .filter(dispatch_recipients::tenant_id.eq(tenant_id))
        .filter(dispatch_recipients::dispatch_id.eq_any(of_incident))
        .filter(dispatch_recipients::state.eq(RecipientState::Unreachable.as_str()));
    let changes = (
        dispatch_recipients::state.eq(RecipientState::Covered.as_str()),
        dispatch_recipients::covered_by.eq(covered_by),
        dispatch_recipients::updated_at.eq(now),
    );
    let Some(scope) = scope else {
        return Ok(diesel::update(base).set(changes).execute(conn)?);
    };
    let codes: Vec<&String> = scope.codes.iter().collect();
    let placed = affected_subjects::table
        .filter(affected_subjects::set_id.eq(scope.set_id))
        .filter(
            affected_subjects::jurisdiction
                .eq_any(codes)
                .or(affected_subjects::jurisdiction
                    .is_null()
                    .and(scope.unplaced.into_sql::<Bool>())),
        )
        .select(affected_subjects::external_id);
    Ok(
        diesel::update(base.filter(dispatch_recipients::external_id.eq_any(placed)))
            .set(changes)
            .execute(conn)?,
    )
}

/// People the ledger shows covered by `covered_by`.
fn covered_count(conn: &mut DbConnection, row: &BulletinRow, covered_by: &str) -> AppResult<i64> {
    Ok(dispatch_recipients::table
        .filter(dispatch_recipients::tenant_id.eq(&row.tenant_id))
        .filter(dispatch_recipients::covered_by.eq(covered_by))
        .filter(dispatch_recipients::state.eq(RecipientState::Covered.as_str()))
        .count()
        .get_result(conn)?)
}

#[derive(QueryableByName)]
struct Left {
    #[diesel(sql_type = Text)]
    jurisdiction: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Affected people neither sent (or handed) a notice by an approved dispatch nor
/// covered by a bulletin, per jurisdiction (`""` for none).
fn not_told(
    conn: &mut DbConnection,
    row: &BulletinRow,
    set_id: i64,
) -> AppResult<BTreeMap<String, u64>> {
    let rows: Vec<Left> = diesel::sql_query(
        "SELECT COALESCE(a.jurisdiction, '') AS jurisdiction, COUNT(*) AS n \
         FROM affected_subjects a WHERE a.set_id = $1 AND NOT EXISTS ( \
           SELECT 1 FROM dispatch_recipients r JOIN dispatches d ON d.id = r.dispatch_id \
           WHERE d.tenant_id = $2 AND d.incident_id = $3 AND d.approved_at IS NOT NULL \
           AND d.cancelled_at IS NULL AND r.external_id = a.external_id \
           AND r.state IN ($4, $5, $6, $7)) \
         GROUP BY COALESCE(a.jurisdiction, '')",
    )
    .bind::<BigInt, _>(set_id)
    .bind::<Text, _>(&row.tenant_id)
    .bind::<Text, _>(&row.incident_id)
    .bind::<Text, _>(RecipientState::Sent.as_str())
    .bind::<Text, _>(RecipientState::Delivered.as_str())
    .bind::<Text, _>(RecipientState::HandedOff.as_str())
    .bind::<Text, _>(RecipientState::Covered.as_str())
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.jurisdiction, u64::try_from(r.n).unwrap_or(0)))
        .collect())
}

/// Marks an obligation to notify people met by the bulletin.
fn meet(
    conn: &mut DbConnection,
    obligation_id: &str,
    evidence: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(obligations_table::table.find(obligation_id))
        .filter(obligations_table::status.eq(ObligationStatus::Open.as_str()))
        .set((
            obligations_table::status.eq(ObligationStatus::Met.as_str()),
            obligations_table::met_at.eq(now),
            obligations_table::evidence.eq(evidence),
            obligations_table::resolved_by.eq("bulletin"),
            obligations_table::status_note.eq(None::<String>),
            obligations_table::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
