//! Bulletins: versions (immutable, hashed, authored), four-eyes publication,
//! withdrawal after the posting period, the operator's checklist, and what the
//! public pages and the feed read. Also the counts the substitute-notice decision
//! is made from (affected set, plan, dispatch ledger).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use serde::Serialize;

use super::{affected, from_json_text, incidents, new_id, obligations, tenants, to_json_text};
use crate::bulletin::content::BulletinContent;
use crate::bulletin::decision::{self, Decision, Money, PeopleCounts, Progress, RegimeFacts};
use crate::bulletin::lint::{Candidates, Identifiers};
use crate::db::DbConnection;
use crate::db::schema::{
    affected_subjects, bulletin_checklist, bulletin_versions, bulletins, dispatches,
};
use crate::domain::{
    BulletinStatus, Channel, FieldError, Jurisdiction, RecipientState, RequirementKind,
    VersionKind, channel_bits, format_instant, now_micros,
};
use crate::error::{AppError, AppResult};
use crate::notices::settings::UnitCosts;
use crate::regimes::{self, SubstitutePolicy};

/// One bulletin as stored.
#[derive(Debug, Clone, Queryable)]
pub struct BulletinRow {
    /// Identifier.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Incident it announces.
    pub incident_id: String,
    /// `awaiting_approval`, `published` or `withdrawn`.
    pub status: String,
    /// The version the public sees.
    pub published_version: Option<i32>,
    /// When it was first published.
    pub first_published_at: Option<NaiveDateTime>,
    /// When the public version last changed.
    pub updated_at: Option<NaiveDateTime>,
    /// Before this instant it may not be withdrawn.
    pub posting_until: Option<NaiveDateTime>,
    /// Which law set `posting_until`, e.g. `br-lgpd: 90 days`.
    pub posting_basis: Option<String>,
    /// When it was withdrawn.
    pub withdrawn_at: Option<NaiveDateTime>,
    /// Inquiries received at its inquiry desk (counted, never stored).
    pub inquiries: i64,
    /// Of them, those that matched an affected person.
    pub inquiries_matched: i64,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// Key of the inquiry desk's hashes (set at the first inquiry; never shown).
    pub inquiry_key: Option<String>,
}

impl BulletinRow {
    /// The status as a word of the vocabulary (a stored value that does not parse is an error).
    pub fn status(&self) -> AppResult<BulletinStatus> {
        self.status
            .parse()
            .map_err(|e: String| AppError::Unexpected(anyhow::anyhow!("bulletin {}: {e}", self.id)))
    }
}

/// One immutable version.
#[derive(Debug, Clone, Queryable)]
pub struct VersionRow {
    /// Bulletin.
    pub bulletin_id: String,
    /// Number, from 1.
    pub version: i32,
    /// Tenant.
    pub tenant_id: String,
    /// `content` or `withdrawal`.
    pub kind: String,
    /// Atom entry id (`urn:uuid:…`), stable for ever.
    pub entry_id: String,
    /// JSON: the bulletin content, or `{reason}` for a withdrawal.
    pub content: String,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Who wrote it.
    pub author: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// Who approved it (content versions).
    pub approved_by: Option<String>,
    /// When it became public.
    pub published_at: Option<NaiveDateTime>,
}

impl VersionRow {
    /// The kind as a word of the vocabulary.
    pub fn kind(&self) -> AppResult<VersionKind> {
        self.kind.parse().map_err(|e: String| {
            AppError::Unexpected(anyhow::anyhow!(
                "bulletin {} v{}: {e}",
                self.bulletin_id,
                self.version
            ))
        })
    }

    /// The bulletin content of a content version.
    pub fn bulletin_content(&self) -> AppResult<Option<BulletinContent>> {
        match self.kind()? {
            VersionKind::Content => Ok(Some(from_json_text(&self.content)?)),
            VersionKind::Withdrawal => Ok(None),
        }
    }

    /// The reason of a withdrawal version.
    pub fn withdrawal_reason(&self) -> AppResult<Option<String>> {
        match self.kind()? {
            VersionKind::Withdrawal => {
                let v: serde_json::Value = from_json_text(&self.content)?;
                Ok(v["reason"].as_str().map(str::to_owned))
            }
            VersionKind::Content => Ok(None),
        }
    }
}

/// A requirement an operator marked done.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct ChecklistRow {
    /// Bulletin.
    #[serde(skip)]
    pub bulletin_id: String,
    /// Requirement kind (`media_notice`, `home_page_link`, `publicise`).
    pub kind: String,
    /// Tenant.
    #[serde(skip)]
    pub tenant_id: String,
    /// What shows it was done (e.g. the press release and where it was sent).
    pub evidence: String,
    /// Who marked it.
    pub done_by: String,
    /// When.
    #[serde(serialize_with = "instant")]
    pub done_at: NaiveDateTime,
}

fn instant<S: serde::Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_instant(*at))
}

/// Creates a bulletin awaiting approval with `content` as version 1.
pub fn create(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    content: &BulletinContent,
    by: &str,
) -> AppResult<(BulletinRow, VersionRow)> {
    incidents::get(conn, tenant_id, incident_id)?;
    let id = new_id();
    let now = now_micros();
    diesel::insert_into(bulletins::table)
        .values((
            bulletins::id.eq(&id),
            bulletins::tenant_id.eq(tenant_id),
            bulletins::incident_id.eq(incident_id),
            bulletins::status.eq(BulletinStatus::AwaitingApproval.as_str()),
            bulletins::inquiries.eq(0),
            bulletins::inquiries_matched.eq(0),
            bulletins::created_by.eq(by),
            bulletins::created_at.eq(now),
        ))
        .execute(conn)?;
    let row = get(conn, tenant_id, incident_id, &id)?;
    let version = add_version(
        conn,
        &row,
        VersionKind::Content,
        &to_json_text(content)?,
        &content.sha256(),
        by,
    )?;
    Ok((row, version))
}

fn add_version(
    conn: &mut DbConnection,
    row: &BulletinRow,
    kind: VersionKind,
    content: &str,
    sha256: &str,
    by: &str,
) -> AppResult<VersionRow> {
    super::tenants::take_turn(conn, &row.tenant_id)?;
    let next = latest_version(conn, &row.id)?.map_or(1, |v| v.version + 1);
    diesel::insert_into(bulletin_versions::table)
        .values((
            bulletin_versions::bulletin_id.eq(&row.id),
            bulletin_versions::version.eq(next),
            bulletin_versions::tenant_id.eq(&row.tenant_id),
            bulletin_versions::kind.eq(kind.as_str()),
            bulletin_versions::entry_id.eq(format!("urn:uuid:{}", new_id())),
            bulletin_versions::content.eq(content),
            bulletin_versions::sha256.eq(sha256),
            bulletin_versions::author.eq(by),
            bulletin_versions::created_at.eq(now_micros()),
        ))
        .execute(conn)?;
    version(conn, &row.id, next)
}

fn version(conn: &mut DbConnection, bulletin_id: &str, number: i32) -> AppResult<VersionRow> {
    Ok(bulletin_versions::table
        .find((bulletin_id, number))
        .first::<VersionRow>(conn)?)
}

fn latest_version(conn: &mut DbConnection, bulletin_id: &str) -> AppResult<Option<VersionRow>> {
    Ok(bulletin_versions::table
        .filter(bulletin_versions::bulletin_id.eq(bulletin_id))
        .order(bulletin_versions::version.desc())
        .first::<VersionRow>(conn)
        .optional()?)
}

/// Loads one of the incident's bulletins (404 for another tenant's).
pub fn get(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    id: &str,
) -> AppResult<BulletinRow> {
    bulletins::table
        .filter(bulletins::tenant_id.eq(tenant_id))
        .filter(bulletins::incident_id.eq(incident_id))
        .filter(bulletins::id.eq(id))
        .first::<BulletinRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("bulletin {id}")))
}

/// The incident's bulletins, oldest first.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<BulletinRow>> {
    incidents::get(conn, tenant_id, incident_id)?;
    Ok(bulletins::table
        .filter(bulletins::tenant_id.eq(tenant_id))
        .filter(bulletins::incident_id.eq(incident_id))
        .order(bulletins::created_at.asc())
        .load::<BulletinRow>(conn)?)
}

/// Every version of a bulletin, oldest first.
pub fn versions(conn: &mut DbConnection, row: &BulletinRow) -> AppResult<Vec<VersionRow>> {
    Ok(bulletin_versions::table
        .filter(bulletin_versions::tenant_id.eq(&row.tenant_id))
        .filter(bulletin_versions::bulletin_id.eq(&row.id))
        .order(bulletin_versions::version.asc())
        .load::<VersionRow>(conn)?)
}

/// The newest content version not yet approved, if any.
pub fn pending_version(
    conn: &mut DbConnection,
    row: &BulletinRow,
) -> AppResult<Option<VersionRow>> {
    let latest = latest_version(conn, &row.id)?;
    Ok(latest.filter(|v| v.kind == VersionKind::Content.as_str() && v.published_at.is_none()))
}

/// Adds new content as a version awaiting approval; the published version stays
/// public until it is approved.
pub fn update(
    conn: &mut DbConnection,
    row: &BulletinRow,
    content: &BulletinContent,
    by: &str,
) -> AppResult<VersionRow> {
    if row.status()? == BulletinStatus::Withdrawn {
        return Err(AppError::Conflict(
            "the bulletin was withdrawn; create a new one".into(),
        ));
    }
    add_version(
        conn,
        row,
        VersionKind::Content,
        &to_json_text(content)?,
        &content.sha256(),
        by,
    )
}

/// What an approval needs besides the approver: the lint's findings and, at the
/// first publication, the posting period the laws require.
pub struct Publication {
    /// Every required item left blank and every field naming an affected person.
    pub problems: Vec<FieldError>,
    /// The longest required posting period and the regime that asks for it.
    pub posting: Option<(u32, String)>,
}

/// Approves the pending version: someone other than its author, with nothing
/// blank and no personal data in it. It becomes the public version; the first
/// publication fixes the posting period.
pub fn approve(
    conn: &mut DbConnection,
    row: &BulletinRow,
    approver: &str,
    publication: Publication,
) -> AppResult<VersionRow> {
    let pending = pending_version(conn, row)?.ok_or_else(|| {
        AppError::Conflict(format!(
            "bulletin is {}, with no version awaiting approval",
            row.status
        ))
    })?;
    if row.status()? == BulletinStatus::Withdrawn {
        return Err(AppError::Conflict("the bulletin was withdrawn".into()));
    }
    if pending.author == approver {
        return Err(AppError::Conflict(format!(
            "four eyes: {approver} wrote version {}, so someone else must approve it",
            pending.version
        )));
    }
    if !publication.problems.is_empty() {
        return Err(AppError::Validation(publication.problems));
    }
    let now = now_micros();
    diesel::update(bulletin_versions::table.find((&row.id, pending.version)))
        .filter(bulletin_versions::published_at.is_null())
        .set((
            bulletin_versions::approved_by.eq(approver),
            bulletin_versions::published_at.eq(now),
        ))
        .execute(conn)?;
    let first = row.first_published_at.is_none();
    let posting_until = match (&publication.posting, first) {
        (Some((days, _)), true) => Some(now + chrono::Duration::days(i64::from(*days))),
        _ => row.posting_until,
    };
    let posting_basis = match (publication.posting, first) {
        (Some((days, regime)), true) => Some(format!("{regime}: {days} days")),
        _ => row.posting_basis.clone(),
    };
    diesel::update(bulletins::table.find(&row.id))
        .set((
            bulletins::status.eq(BulletinStatus::Published.as_str()),
            bulletins::published_version.eq(pending.version),
            bulletins::first_published_at.eq(row.first_published_at.unwrap_or(now)),
            bulletins::updated_at.eq(now),
            bulletins::posting_until.eq(posting_until),
            bulletins::posting_basis.eq(posting_basis),
        ))
        .execute(conn)?;
    // The desk is ready before the first visitor asks.
    if let Some(set_id) = super::affected::current_set(conn, &row.incident_id)? {
        super::inquiries::open_desk(conn, set_id)?;
    }
    version(conn, &row.id, pending.version)
}

/// Withdraws a bulletin with a reason, as a version of its own. A published
/// bulletin stays up until its posting period has passed.
pub fn withdraw(
    conn: &mut DbConnection,
    row: &BulletinRow,
    reason: &str,
    by: &str,
) -> AppResult<VersionRow> {
    if row.status()? == BulletinStatus::Withdrawn {
        return Err(AppError::Conflict(
            "the bulletin is already withdrawn".into(),
        ));
    }
    let now = now_micros();
    if let Some(until) = row.posting_until.filter(|until| now < *until) {
        return Err(AppError::Conflict(format!(
            "the law requires the bulletin to stay posted until {} ({}); it cannot be withdrawn before then",
            format_instant(until),
            row.posting_basis.as_deref().unwrap_or("posting period")
        )));
    }
    let content = serde_json::json!({ "reason": reason });
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        content.to_string().as_bytes(),
    ));
    let v = add_version(
        conn,
        row,
        VersionKind::Withdrawal,
        &content.to_string(),
        &sha,
        by,
    )?;
    let published = row.published_version.is_some();
    diesel::update(bulletin_versions::table.find((&row.id, v.version)))
        .set(bulletin_versions::published_at.eq(published.then_some(now)))
        .execute(conn)?;
    diesel::update(bulletins::table.find(&row.id))
        .set((
            bulletins::status.eq(BulletinStatus::Withdrawn.as_str()),
            bulletins::withdrawn_at.eq(now),
        ))
        .execute(conn)?;
    version(conn, &row.id, v.version)
}

/// Marks a requirement only an operator can see done, with evidence (again
/// replaces the evidence).
pub fn mark_done(
    conn: &mut DbConnection,
    row: &BulletinRow,
    kind: RequirementKind,
    evidence: &str,
    by: &str,
) -> AppResult<ChecklistRow> {
    if !kind.confirmed_by_operator() {
        return Err(AppError::field(
            "kind",
            format!(
                "{kind} is seen in Breachline's own records; mark media_notice, home_page_link or publicise"
            ),
        ));
    }
    if row.status()? != BulletinStatus::Published {
        return Err(AppError::Conflict(format!(
            "the bulletin is {}, not published",
            row.status
        )));
    }
    diesel::delete(bulletin_checklist::table.find((&row.id, kind.as_str()))).execute(conn)?;
    diesel::insert_into(bulletin_checklist::table)
        .values((
            bulletin_checklist::bulletin_id.eq(&row.id),
            bulletin_checklist::kind.eq(kind.as_str()),
            bulletin_checklist::tenant_id.eq(&row.tenant_id),
            bulletin_checklist::evidence.eq(evidence),
            bulletin_checklist::done_by.eq(by),
            bulletin_checklist::done_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(bulletin_checklist::table
        .find((&row.id, kind.as_str()))
        .first::<ChecklistRow>(conn)?)
}

/// The requirements marked done on a bulletin.
pub fn checklist(conn: &mut DbConnection, row: &BulletinRow) -> AppResult<Vec<ChecklistRow>> {
    Ok(bulletin_checklist::table
        .filter(bulletin_checklist::tenant_id.eq(&row.tenant_id))
        .filter(bulletin_checklist::bulletin_id.eq(&row.id))
        .order(bulletin_checklist::kind.asc())
        .load::<ChecklistRow>(conn)?)
}

/// The tenant's bulletins the public may see (ever published), newest first.
pub fn public_list(conn: &mut DbConnection, tenant_id: &str) -> AppResult<Vec<BulletinRow>> {
    Ok(bulletins::table
        .filter(bulletins::tenant_id.eq(tenant_id))
        .filter(bulletins::published_version.is_not_null())
        .order(bulletins::first_published_at.desc())
        .load::<BulletinRow>(conn)?)
}

/// One bulletin the public may see; a draft, or another tenant's, is not found.
pub fn public_get(conn: &mut DbConnection, tenant_id: &str, id: &str) -> AppResult<BulletinRow> {
    bulletins::table
        .filter(bulletins::tenant_id.eq(tenant_id))
        .filter(bulletins::id.eq(id))
        .filter(bulletins::published_version.is_not_null())
        .first::<BulletinRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("bulletin {id}")))
}

/// The versions the public has seen (approved content and withdrawals), oldest first.
pub fn public_versions(conn: &mut DbConnection, row: &BulletinRow) -> AppResult<Vec<VersionRow>> {
    Ok(versions(conn, row)?
        .into_iter()
        .filter(|v| v.published_at.is_some())
        .collect())
}

/// Most entries a feed carries.
const FEED_ENTRIES: i64 = 200;

/// The tenant's public versions across bulletins, newest first, for the feed.
pub fn feed_versions(conn: &mut DbConnection, tenant_id: &str) -> AppResult<Vec<VersionRow>> {
    Ok(bulletin_versions::table
        .filter(bulletin_versions::tenant_id.eq(tenant_id))
        .filter(bulletin_versions::published_at.is_not_null())
        .order(bulletin_versions::published_at.desc())
        .limit(FEED_ENTRIES)
        .load::<VersionRow>(conn)?)
}

/// Rows of the affected set read per query while linting.
const LINT_PAGE: i64 = 5_000;

/// Fields of `content` that name a person of the incident's affected set (or
/// their guardian): one streamed pass over the set, each person looked up in the
/// bulletin's keys.
pub fn personal_data(
    conn: &mut DbConnection,
    incident_id: &str,
    content: &BulletinContent,
) -> AppResult<Vec<FieldError>> {
    let mut candidates = Candidates::of(content);
    let Some(set_id) = affected::current_set(conn, incident_id)? else {
        return Ok(Vec::new());
    };
    type Person = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let mut after = String::new();
    loop {
        let page: Vec<Person> = affected_subjects::table
            .filter(affected_subjects::set_id.eq(set_id))
            .filter(affected_subjects::external_id.gt(&after))
            .order(affected_subjects::external_id.asc())
            .limit(LINT_PAGE)
            .select((
                affected_subjects::external_id,
                affected_subjects::name,
                affected_subjects::email,
                affected_subjects::phone,
                affected_subjects::guardian_name,
                affected_subjects::guardian_email,
                affected_subjects::guardian_phone,
            ))
            .load(conn)?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        for (id, name, email, phone, g_name, g_email, g_phone) in &page {
            candidates.check(&Identifiers {
                external_id: id,
                names: present([name, g_name]),
                emails: present([email, g_email]),
                phones: present([phone, g_phone]),
            });
        }
    }
    Ok(candidates.errors())
}

fn present(values: [&Option<String>; 2]) -> Vec<&str> {
    values.into_iter().filter_map(|v| v.as_deref()).collect()
}

/// The substitute-notice decision for an incident, per regime that applies.
#[derive(Debug, Clone, Serialize)]
pub struct SubstituteNotice {
    /// Incident.
    pub incident_id: String,
    /// When this was computed.
    pub computed_at: String,
    /// Everyone in the affected set (people without a jurisdiction count under the
    /// tenant's first establishment).
    pub people: u64,
    /// People with no usable contact (the plan's unreachable).
    pub no_contact: u64,
    /// People whose every channel failed (the dispatch ledger).
    pub channels_failed: u64,
    /// People the dispatch ledger shows covered by a published bulletin (no usable
    /// contact, or every channel failed); they still count in `no_contact` and
    /// `channels_failed`, and so in each regime's `people_covered`.
    pub covered: u64,
    /// The estimated cost of individual notice to everyone reachable.
    pub estimated_cost: Money,
    /// The unit costs it was priced with (`notices.unit_costs`).
    pub unit_costs: UnitCosts,
    /// Whether the counts come from a notice plan (else from the affected set's contacts).
    pub planned: bool,
    /// One decision per regime with obligations on the incident, then the tenant's promise.
    pub regimes: Vec<Decision>,
    /// Published bulletins of the incident.
    pub bulletins: Vec<String>,
}

/// Computes [`SubstituteNotice`] from the affected set, the plan and the ledger.
pub fn substitute_notice(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<SubstituteNotice> {
    incidents::get(conn, tenant_id, incident_id)?;
    let tenant = tenants::get(conn, tenant_id)?;
    let settings = tenants::notice_settings(&tenant)?;
    let establishments: Vec<Jurisdiction> = from_json_text::<Vec<String>>(&tenant.establishments)?
        .iter()
        .filter_map(|code| Jurisdiction::parse(code).ok())
        .collect();
    let promise = public_announcement(&tenant)?;
    let (counts, planned) = people_counts(
        conn,
        tenant_id,
        incident_id,
        &settings.channels,
        &establishments,
    )?;
    let progress = progress(conn, tenant_id, incident_id)?;
    let policies = regimes::substitute_policies().map_err(|e| AppError::Unexpected(e.into()))?;
    let applying = applying_regimes(conn, tenant_id, incident_id)?;
    let promised = promise.as_ref().map(|p| (p.regime(), p.substitute()));
    let mut selected: Vec<SubstitutePolicy<'_>> = policies
        .into_iter()
        .filter(|p| applying.iter().any(|r| r == p.regime))
        .collect();
    if let Some((regime, rule)) = &promised {
        selected.push(SubstitutePolicy {
            regime,
            territory: None,
            territory_name: "all",
            substitute: rule,
        });
    }
    let decisions = selected
        .iter()
        .map(|policy| {
            let facts = RegimeFacts::count(policy, &counts, &establishments, &settings.unit_costs);
            decision::decide(policy, &facts, &progress)
        })
        .collect();
    let mut all = PeopleCounts::default();
    for group in counts.values() {
        all.people += group.people;
        all.no_contact += group.no_contact;
        all.channels_failed += group.channels_failed;
        for (channel, n) in &group.by_first_channel {
            *all.by_first_channel.entry(*channel).or_default() += n;
        }
    }
    Ok(SubstituteNotice {
        incident_id: incident_id.to_owned(),
        computed_at: format_instant(now_micros()),
        people: all.people,
        no_contact: all.no_contact,
        channels_failed: all.channels_failed,
        covered: covered_in_ledger(conn, tenant_id, incident_id)?,
        estimated_cost: decision::cost_of(&all, &settings.unit_costs),
        unit_costs: settings.unit_costs,
        planned,
        regimes: decisions,
        bulletins: live_bulletins(conn, tenant_id, incident_id)?
            .into_iter()
            .map(|b| b.id)
            .collect(),
    })
}

/// People of the incident's dispatches marked covered by a bulletin.
fn covered_in_ledger(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<u64> {
    use crate::db::schema::dispatch_recipients;
    let of_incident = dispatches::table
        .filter(dispatches::tenant_id.eq(tenant_id))
        .filter(dispatches::incident_id.eq(incident_id))
        .select(dispatches::id);
    let n: i64 = dispatch_recipients::table
        .filter(dispatch_recipients::tenant_id.eq(tenant_id))
        .filter(dispatch_recipients::dispatch_id.eq_any(of_incident))
        .filter(dispatch_recipients::state.eq(RecipientState::Covered.as_str()))
        .select(diesel::dsl::sql::<BigInt>(
            "COUNT(DISTINCT dispatch_recipients.external_id)",
        ))
        .first(conn)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The longest posting period (days, regime) among the regimes that allow
/// substitute notice for the incident now.
pub fn posting_period(notice: &SubstituteNotice) -> Option<(u32, String)> {
    notice
        .regimes
        .iter()
        .filter(|d| d.allowed)
        .flat_map(|d| {
            d.requirements
                .iter()
                .filter(|r| {
                    matches!(
                        r.kind,
                        RequirementKind::WebsitePosting | RequirementKind::InquiryDesk
                    )
                })
                .filter_map(|r| r.days.map(|days| (days, d.regime.clone())))
        })
        .max_by_key(|(days, _)| *days)
}

/// The tenant's promise of a public announcement, if its profile has one.
fn public_announcement(
    tenant: &tenants::TenantRow,
) -> AppResult<Option<regimes::PublicAnnouncement>> {
    let profile: serde_json::Value = from_json_text(&tenant.profile)?;
    match profile.get("public_announcement") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => regimes::PublicAnnouncement::parse(value)
            .map(Some)
            .map_err(|errors| {
                AppError::Unexpected(anyhow::anyhow!(
                    "the stored public_announcement of tenant '{}' cannot be read: {}",
                    tenant.slug,
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            }),
    }
}

/// Statutory regimes with an obligation on the incident (not tenant commitments).
fn applying_regimes(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = obligations::list(conn, tenant_id, incident_id)?
        .into_iter()
        .map(|o| o.regime)
        .filter(|r| !r.starts_with("commitment:"))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The incident's bulletins that are published and not withdrawn.
fn live_bulletins(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<BulletinRow>> {
    Ok(bulletins::table
        .filter(bulletins::tenant_id.eq(tenant_id))
        .filter(bulletins::incident_id.eq(incident_id))
        .filter(bulletins::status.eq(BulletinStatus::Published.as_str()))
        .load::<BulletinRow>(conn)?)
}

fn progress(conn: &mut DbConnection, tenant_id: &str, incident_id: &str) -> AppResult<Progress> {
    let mut p = Progress {
        individual_notices_sent: individual_notices_sent(conn, tenant_id, incident_id)?,
        ..Progress::default()
    };
    for row in live_bulletins(conn, tenant_id, incident_id)? {
        p.bulletin_live = true;
        if let Some(number) = row.published_version {
            let content = version(conn, &row.id, number)?.bulletin_content()?;
            p.inquiry_desk_live |=
                content.is_some_and(|c| c.locales.values().any(|t| t.inquiry_desk.is_given()));
        }
        for done in checklist(conn, &row)? {
            let kind: RequirementKind = done
                .kind
                .parse()
                .map_err(|e: String| AppError::Unexpected(anyhow::anyhow!(e)))?;
            p.confirmed.push(kind);
        }
    }
    Ok(p)
}

/// Whether individual notices of the incident were approved for sending.
/// Reads the dispatches table (approved and not cancelled).
fn individual_notices_sent(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<bool> {
    Ok(dispatches::table
        .filter(dispatches::tenant_id.eq(tenant_id))
        .filter(dispatches::incident_id.eq(incident_id))
        .filter(dispatches::approved_at.is_not_null())
        .filter(dispatches::cancelled_at.is_null())
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

#[derive(QueryableByName)]
struct PlanGroup {
    #[diesel(sql_type = Text)]
    jurisdiction: String,
    #[diesel(sql_type = Text)]
    first: String,
    #[diesel(sql_type = Integer)]
    channels: i32,
}

/// Affected people per jurisdiction with how they are reached. With a plan, its
/// unreachable people and each person's first planned channel; before a plan, the
/// same read from the affected set's contacts with the tenant's channel order.
/// People with no jurisdiction count under the tenant's first establishment.
fn people_counts(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    tenant_channels: &[Channel],
    establishments: &[Jurisdiction],
) -> AppResult<(BTreeMap<String, PeopleCounts>, bool)> {
    let mut out: BTreeMap<String, PeopleCounts> = BTreeMap::new();
    let Some(set_id) = affected::current_set(conn, incident_id)? else {
        return Ok((out, false));
    };
    let home = establishments
        .first()
        .map(|j| j.as_str().to_owned())
        .unwrap_or_default();
    let place = |code: String| if code.is_empty() { home.clone() } else { code };
    let first_channel = Channel::ALL
        .iter()
        .map(|c| format!("WHEN p.channels LIKE '[{{\"channel\":\"{c}\"%' THEN '{c}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let sql = format!(
        "SELECT COALESCE(a.jurisdiction, '') AS jurisdiction, \
         CASE WHEN p.external_id IS NULL THEN '-' WHEN p.unreachable THEN '' {first_channel} ELSE '' END AS first, \
         a.channels AS channels \
         FROM affected_subjects a LEFT JOIN plan_entries p ON p.incident_id = $1 AND p.tenant_id = $2 AND p.external_id = a.external_id \
         WHERE a.set_id = $3"
    );
    let query = diesel::sql_query(sql)
        .bind::<Text, _>(incident_id)
        .bind::<Text, _>(tenant_id)
        .bind::<BigInt, _>(set_id);
    let mut groups: HashMap<(String, String, i32), u64> = HashMap::new();
    with_backend!(conn, c => {
        for row in query.load_iter::<PlanGroup, DefaultLoadingMode>(c)? {
            let row = row?;
            *groups.entry((row.jurisdiction, row.first, row.channels)).or_default() += 1;
        }
    });
    let mut planned = false;
    for ((jurisdiction, first, bits), n) in groups {
        let group = out.entry(place(jurisdiction)).or_default();
        group.people += n;
        let channel = match first.as_str() {
            "-" => first_by_bits(bits, tenant_channels),
            "" => {
                planned = true;
                None
            }
            word => {
                planned = true;
                word.parse::<Channel>().ok()
            }
        };
        match channel {
            Some(c) => *group.by_first_channel.entry(c).or_default() += n,
            None => group.no_contact += n,
        }
    }
    for (jurisdiction, failed) in ledger_unreachable(conn, tenant_id, incident_id, set_id)? {
        out.entry(place(jurisdiction)).or_default().channels_failed += failed;
    }
    Ok((out, planned))
}

/// The first channel a person with these [`channel_bits`] would be planned on:
/// the tenant's order, then e-mail, SMS, push, letter, phone (as the plan does).
fn first_by_bits(bits: i32, tenant_channels: &[Channel]) -> Option<Channel> {
    let has = |c: &Channel| match c {
        Channel::Email => bits & channel_bits::EMAIL != 0,
        Channel::Sms | Channel::Phone => bits & channel_bits::SMS != 0,
        Channel::Push => bits & channel_bits::PUSH != 0,
        Channel::Letter => bits & channel_bits::LETTER != 0,
    };
    tenant_channels
        .iter()
        .chain(Channel::ALL)
        .find(|c| has(c))
        .copied()
}

#[derive(QueryableByName)]
struct FailedGroup {
    #[diesel(sql_type = Text)]
    jurisdiction: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// People whose every channel failed, per jurisdiction: in the dispatch ledger, a
/// person with planned channels whose state is `unreachable`, or `covered` once a
/// bulletin covers them (they still could not be told one by one).
///
/// This is the one place that reads delivery states for the decision; if
/// `store::delivery` gains a per-incident count of these people, call it here.
fn ledger_unreachable(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    set_id: i64,
) -> AppResult<Vec<(String, u64)>> {
    let rows: Vec<FailedGroup> = diesel::sql_query(
        "SELECT COALESCE(a.jurisdiction, '') AS jurisdiction, COUNT(DISTINCT r.external_id) AS n \
         FROM dispatch_recipients r JOIN dispatches d ON d.id = r.dispatch_id \
         JOIN affected_subjects a ON a.set_id = $1 AND a.external_id = r.external_id \
         WHERE d.tenant_id = $2 AND d.incident_id = $3 AND r.state IN ($4, $5) AND r.channels <> '[]' \
         GROUP BY COALESCE(a.jurisdiction, '')",
    )
    .bind::<BigInt, _>(set_id)
    .bind::<Text, _>(tenant_id)
    .bind::<Text, _>(incident_id)
    .bind::<Text, _>(RecipientState::Unreachable.as_str())
    .bind::<Text, _>(RecipientState::Covered.as_str())
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.jurisdiction, u64::try_from(r.n).unwrap_or(0)))
        .collect())
}
