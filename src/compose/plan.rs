//! The notice plan of an incident: every affected person planned (audience,
//! locale, channels), stored, and summed up against the earliest deadline.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::{IncidentNotices, NoticeService, language_warning};
use crate::db::DbConnection;
use crate::domain::{Channel, SendWindow, format_instant, now_micros};
use crate::error::AppResult;
use crate::notices::locale::Fallback;
use crate::notices::plan::PlannedNotice;
use crate::store::plans::{self, NewPlanEntry};
use crate::store::{affected, from_json_text, obligations, to_json_text};

/// Messages per second each channel is planned at (the default channel rates).
pub const PLANNING_RATES: [(Channel, f64); 5] = [
    (Channel::Email, 50.0),
    (Channel::Sms, 10.0),
    (Channel::Push, 100.0),
    (Channel::Letter, 100.0),
    (Channel::Phone, 100.0),
];

const PLAN_PAGE: i64 = 5_000;

/// What a plan comes to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// People planned.
    pub total: u64,
    /// Of whom reached through a guardian.
    pub guardians: u64,
    /// Of whom no channel reaches (the public bulletin covers them).
    pub unreachable: u64,
    /// People by the first channel tried.
    pub by_channel: BTreeMap<String, u64>,
    /// People each channel can reach at all.
    pub reachable_on: BTreeMap<String, u64>,
    /// People by the locale of their notice.
    pub by_locale: BTreeMap<String, u64>,
    /// Every (wanted → used) locale pair where the language or script differs.
    #[serde(default)]
    pub locale_fallbacks: Vec<LocaleFallback>,
    /// What the team should look at before approving.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// How long sending takes at planning rates, against the earliest deadline.
    pub estimate: Estimate,
    /// Who planned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// People who get their notice in another language (or script) than theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocaleFallback {
    /// The locale they wanted.
    pub wanted: String,
    /// The locale their notice uses.
    pub used: String,
    /// How many people.
    pub count: u64,
    /// `language` or `script`.
    pub kind: Fallback,
}

/// How long sending takes at planning rates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Seconds from now until the last first-channel message is out.
    pub seconds: f64,
    /// The rates assumed, per channel.
    pub rates_per_s: BTreeMap<String, f64>,
    /// When sending would finish (send windows included).
    pub finish_at: String,
    /// The earliest open deadline (or target) to notify people.
    pub earliest_deadline: Option<EarliestDeadline>,
    /// Whether sending finishes by then.
    pub meets_deadline: bool,
}

/// The deadline a plan is measured against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarliestDeadline {
    /// The regime it comes from.
    pub regime: String,
    /// The instant.
    pub due_at: String,
}

/// Plans every affected person's notice, replacing the previous plan, and returns
/// its summary.
pub fn build(
    conn: &mut DbConnection,
    service: Arc<NoticeService>,
    tenant_id: &str,
    incident_id: &str,
    by: &str,
) -> AppResult<PlanSummary> {
    let notices = IncidentNotices::load(conn, service, tenant_id, incident_id)?;
    plans::clear_entries(conn, incident_id)?;
    let mut tally = Tally::default();
    let mut after: Option<String> = None;
    loop {
        let rows = affected::page(conn, tenant_id, incident_id, after.as_deref(), PLAN_PAGE)?;
        let Some(last) = rows.last() else { break };
        after = Some(last.external_id.clone());
        let mut batch = Vec::with_capacity(rows.len());
        for row in &rows {
            let planned = notices.plan(row)?;
            tally.add(&planned);
            let postal_address =
                super::person_for(&planned, row, None, Channel::Letter).postal_address;
            batch.push(NewPlanEntry {
                incident_id: incident_id.to_owned(),
                external_id: row.external_id.clone(),
                tenant_id: tenant_id.to_owned(),
                audience: planned.audience.as_str().to_owned(),
                recipient_name: planned.recipient_name.clone(),
                subject_name: planned.subject_name.clone(),
                locale: planned.locale.clone(),
                channels: to_json_text(&planned.routes)?,
                postal_address,
                unreachable: planned.unreachable(),
                wanted_locale: Some(planned.wanted_locale.clone()),
            });
        }
        plans::insert_entries(conn, &batch)?;
    }
    let now = now_micros();
    let mut summary = tally.summary(conn, &notices, tenant_id, incident_id, now)?;
    plans::save_summary(
        conn,
        tenant_id,
        incident_id,
        &to_json_text(&summary)?,
        by,
        now,
    )?;
    summary.created_by = Some(by.to_owned());
    summary.created_at = Some(format_instant(now));
    Ok(summary)
}

/// The incident's current plan summary.
pub fn get(conn: &mut DbConnection, tenant_id: &str, incident_id: &str) -> AppResult<PlanSummary> {
    let (text, by, at) = plans::summary(conn, tenant_id, incident_id)?;
    let mut summary: PlanSummary = from_json_text(&text)?;
    summary.created_by = Some(by);
    summary.created_at = Some(format_instant(at));
    Ok(summary)
}

#[derive(Default)]
struct Tally {
    total: u64,
    guardians: u64,
    unreachable: u64,
    by_channel: BTreeMap<Channel, u64>,
    reachable_on: BTreeMap<Channel, u64>,
    by_locale: BTreeMap<String, u64>,
    fallbacks: BTreeMap<(String, String, Fallback), u64>,
}

impl Tally {
    fn add(&mut self, p: &PlannedNotice) {
        self.total += 1;
        self.guardians += u64::from(p.audience == crate::domain::Audience::Guardian);
        *self.by_locale.entry(p.locale.clone()).or_default() += 1;
        if let Some(kind) = p.fallback() {
            *self
                .fallbacks
                .entry((p.wanted_locale.clone(), p.locale.clone(), kind))
                .or_default() += 1;
        }
        match p.routes.first() {
            Some(first) => *self.by_channel.entry(first.channel).or_default() += 1,
            None => self.unreachable += 1,
        }
        for r in &p.routes {
            *self.reachable_on.entry(r.channel).or_default() += 1;
        }
    }

    fn summary(
        &self,
        conn: &mut DbConnection,
        notices: &IncidentNotices,
        tenant_id: &str,
        incident_id: &str,
        now: NaiveDateTime,
    ) -> AppResult<PlanSummary> {
        let window = notices.settings.send_window.as_ref();
        let finish = self
            .by_channel
            .iter()
            .map(|(channel, n)| channel_finish(window, *channel, *n, now))
            .max()
            .unwrap_or(now);
        let deadline = obligations::list(conn, tenant_id, incident_id)?
            .into_iter()
            .filter(|o| o.recipient == "subjects" && o.is_open())
            .filter_map(|o| o.due_at.or(o.target_at).map(|due| (due, o.regime)))
            .min();
        let locale_fallbacks: Vec<LocaleFallback> = self
            .fallbacks
            .iter()
            .map(|((wanted, used, kind), count)| LocaleFallback {
                wanted: wanted.clone(),
                used: used.clone(),
                count: *count,
                kind: *kind,
            })
            .collect();
        let mut warnings: Vec<String> = locale_fallbacks
            .iter()
            .map(|f| language_warning(&f.wanted, &f.used, f.kind, f.count))
            .collect();
        warnings.extend(notices.missing_authoritative());
        let words = |m: &BTreeMap<Channel, u64>| {
            m.iter()
                .map(|(c, n)| (c.as_str().to_owned(), *n))
                .collect::<BTreeMap<_, _>>()
        };
        Ok(PlanSummary {
            total: self.total,
            guardians: self.guardians,
            unreachable: self.unreachable,
            by_channel: words(&self.by_channel),
            reachable_on: words(&self.reachable_on),
            by_locale: self.by_locale.clone(),
            locale_fallbacks,
            warnings,
            estimate: Estimate {
                seconds: ((finish - now).num_milliseconds() as f64 / 1000.0).ceil(),
                rates_per_s: PLANNING_RATES
                    .iter()
                    .map(|(c, r)| (c.as_str().to_owned(), *r))
                    .collect(),
                finish_at: format_instant(finish),
                earliest_deadline: deadline.as_ref().map(|(due, regime)| EarliestDeadline {
                    regime: regime.clone(),
                    due_at: format_instant(*due),
                }),
                meets_deadline: deadline.as_ref().is_none_or(|(due, _)| finish <= *due),
            },
            created_by: None,
            created_at: None,
        })
    }
}

/// When `n` first-channel messages on `channel` are out at the planning rate,
/// sending only while the tenant's send window is open for that channel.
fn channel_finish(
    window: Option<&SendWindow>,
    channel: Channel,
    n: u64,
    now: NaiveDateTime,
) -> NaiveDateTime {
    let work =
        chrono::Duration::milliseconds((n as f64 / planning_rate(channel) * 1000.0).ceil() as i64);
    match window {
        Some(w) => w.finish(channel, now, work),
        None => now + work,
    }
}

/// The rate a channel is planned at.
pub fn planning_rate(channel: Channel) -> f64 {
    PLANNING_RATES
        .iter()
        .find(|(c, _)| *c == channel)
        .map_or(1.0, |(_, r)| *r)
}
