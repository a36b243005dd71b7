//! Dispatch progress: where the people and messages of a dispatch stand, how fast
//! it goes, what holds it (send windows, paused relays), and whether it finishes
//! before the deadline it discharges.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::settings::ChannelSettings;
use crate::db::DbConnection;
use crate::domain::{
    Channel, DispatchStatus, OutboxStatus, RecipientState, SendWindow, format_instant, now_micros,
};
use crate::error::AppResult;
use crate::store::delivery::evidence_prefix;
use crate::store::dispatches::{self, DispatchRow, MessageCount};
use crate::store::relays::{self, RelayPause};
use crate::store::{obligations, tenants};

/// A dispatch and how far it got.
#[derive(Debug, Clone, Serialize)]
pub struct DispatchProgress {
    /// Identifier.
    pub id: String,
    /// Incident.
    pub incident_id: String,
    /// Where it stands.
    pub status: DispatchStatus,
    /// People in it.
    pub recipients: i64,
    /// Messages by status, plus people unreachable or covered by a bulletin.
    pub counts: BTreeMap<&'static str, i64>,
    /// People by state.
    pub people: BTreeMap<RecipientState, i64>,
    /// Messages by channel and status (`held`: queued behind the send window).
    pub by_channel: BTreeMap<Channel, BTreeMap<&'static str, i64>>,
    /// Messages the tenant's send window holds back, by channel, and when it opens.
    pub held: Held,
    /// The first relay paused, if any (`{provider, relay, channel, since, until, reason}`).
    pub relay_paused: Option<PausedRelay>,
    /// Every relay of this dispatch that is paused.
    pub relays_paused: Vec<PausedRelay>,
    /// SHA-256 over the content and templates approved.
    pub content_hash: String,
    /// What the approver should know (language downgrades).
    pub warnings: Vec<String>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// When every person was done.
    pub completed_at: Option<String>,
    /// Who cancelled it.
    pub cancelled_by: Option<String>,
    /// When.
    pub cancelled_at: Option<String>,
    /// Messages finished per second over the last minute (or the last 500 messages
    /// when they took less).
    pub rate_per_s: f64,
    /// When what is left would be done, send windows and relay pauses included.
    pub eta_at: Option<String>,
    /// The earliest deadline (or target) of the obligations to notify people it serves.
    pub deadline_at: Option<String>,
    /// Whether it finished, or will at `eta_at`, by `deadline_at`.
    pub meets_deadline: Option<bool>,
}

/// Messages held back by the send window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Held {
    /// How many in all.
    pub total: i64,
    /// By channel.
    pub by_channel: BTreeMap<Channel, i64>,
    /// When the window opens for them.
    pub until: Option<String>,
}

/// A paused relay as progress shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PausedRelay {
    /// The provider kind: `smtp`, `twilio`, `fcm`, `webhook`, `file`, …
    pub provider: String,
    /// The relay (no credentials).
    pub relay: String,
    /// The channel it carries.
    pub channel: Channel,
    /// Paused since.
    pub since: String,
    /// Tried again at.
    pub until: String,
    /// What it did.
    pub reason: String,
}

impl From<RelayPause> for PausedRelay {
    fn from(p: RelayPause) -> Self {
        let provider = p
            .relay
            .split([':', '/'])
            .next()
            .unwrap_or_default()
            .to_owned();
        Self {
            provider,
            relay: p.relay,
            channel: p.channel,
            since: format_instant(p.since),
            until: format_instant(p.until),
            reason: p.reason,
        }
    }
}

/// The progress of one dispatch, computed now.
pub fn progress(
    conn: &mut DbConnection,
    settings: &ChannelSettings,
    row: &DispatchRow,
) -> AppResult<DispatchProgress> {
    let now = now_micros();
    let messages = dispatches::message_counts(conn, &row.id)?;
    let people = dispatches::people_counts(conn, &row.id)?;
    let tenant = tenants::get(conn, &row.tenant_id)?;
    let window = tenants::notice_settings(&tenant)?.send_window;
    let pending_channels: Vec<Channel> = messages
        .iter()
        .filter(|m| m.status.is_pending())
        .map(|m| m.channel)
        .collect();
    let relay_keys: Vec<String> = pending_channels
        .iter()
        .map(|c| settings.relay_key(&tenant.slug, *c))
        .collect();
    let paused: Vec<RelayPause> = relays::paused(conn, &relay_keys)?
        .into_iter()
        .filter(|p| p.until > now || pending_channels.contains(&p.channel))
        .collect();
    let rate = dispatches::recent_rate(conn, row, now)?;
    let eta = eta(&messages, window.as_ref(), settings, &paused, rate, now);
    let deadline = deadline(conn, row)?;
    let finish = if row.status == DispatchStatus::Completed {
        row.completed_at
    } else {
        eta
    };
    let meets_deadline = match (finish, deadline) {
        (Some(finish), Some(due)) => Some(finish <= due),
        (None, Some(due)) if now > due => Some(false),
        _ => None,
    };
    let relays_paused: Vec<PausedRelay> = paused.into_iter().map(PausedRelay::from).collect();
    Ok(DispatchProgress {
        id: row.id.clone(),
        incident_id: row.incident_id.clone(),
        status: row.status,
        recipients: row.recipients,
        counts: counts(&messages, &people),
        by_channel: by_channel(&messages),
        held: held(&messages),
        relay_paused: relays_paused.first().cloned(),
        relays_paused,
        people,
        content_hash: row.content_hash.clone(),
        warnings: row.warnings.clone(),
        created_by: row.created_by.clone(),
        created_at: format_instant(row.created_at),
        approved_by: row.approved_by.clone(),
        approved_at: row.approved_at.map(format_instant),
        completed_at: row.completed_at.map(format_instant),
        cancelled_by: row.cancelled_by.clone(),
        cancelled_at: row.cancelled_at.map(format_instant),
        rate_per_s: (rate * 100.0).round() / 100.0,
        eta_at: eta.map(format_instant),
        deadline_at: deadline.map(format_instant),
        meets_deadline,
    })
}

/// Messages by status (every status, zero when none) plus people unreachable and
/// covered by a bulletin.
fn counts(
    messages: &[MessageCount],
    people: &BTreeMap<RecipientState, i64>,
) -> BTreeMap<&'static str, i64> {
    let mut totals: BTreeMap<&'static str, i64> =
        OutboxStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for m in messages {
        *totals.entry(m.status.as_str()).or_default() += m.n;
    }
    for state in [RecipientState::Unreachable, RecipientState::Covered] {
        totals.insert(state.as_str(), people.get(&state).copied().unwrap_or(0));
    }
    totals.insert(
        "held",
        messages.iter().filter(|m| m.held).map(|m| m.n).sum(),
    );
    totals
}

fn by_channel(messages: &[MessageCount]) -> BTreeMap<Channel, BTreeMap<&'static str, i64>> {
    let mut out: BTreeMap<Channel, BTreeMap<&'static str, i64>> = BTreeMap::new();
    for m in messages {
        let channel = out.entry(m.channel).or_default();
        *channel.entry(m.status.as_str()).or_default() += m.n;
        if m.held {
            *channel.entry("held").or_default() += m.n;
        }
    }
    out
}

fn held(messages: &[MessageCount]) -> Held {
    let mut held = Held::default();
    let mut until: Option<NaiveDateTime> = None;
    for m in messages.iter().filter(|m| m.held) {
        held.total += m.n;
        *held.by_channel.entry(m.channel).or_default() += m.n;
        until = until.max(m.until);
    }
    held.until = until.map(format_instant);
    held
}

/// When what is left is done: held messages go when the window opens and only
/// while it is open; the rest go after any relay pause, at the measured rate (or
/// the configured channel rates before anything was measured).
fn eta(
    messages: &[MessageCount],
    window: Option<&SendWindow>,
    settings: &ChannelSettings,
    paused: &[RelayPause],
    measured: f64,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let pending: Vec<&MessageCount> = messages.iter().filter(|m| m.status.is_pending()).collect();
    if pending.is_empty() {
        return None;
    }
    let work = |n: i64, channel: Channel| {
        let rate = if measured > 0.0 {
            measured
        } else {
            *settings.rates.get(channel)
        };
        chrono::Duration::milliseconds((n as f64 / rate * 1000.0).ceil() as i64)
    };
    pending
        .iter()
        .map(|m| {
            let start = paused
                .iter()
                .filter(|p| p.channel == m.channel)
                .map(|p| p.until)
                .max()
                .unwrap_or(now)
                .max(now)
                .max(if m.held { m.until.unwrap_or(now) } else { now });
            match window {
                Some(w) => w.finish(m.channel, start, work(m.n, m.channel)),
                None => start + work(m.n, m.channel),
            }
        })
        .max()
}

/// The earliest due time (or target, for "without undue delay") of the incident's
/// obligations to notify people that are open or were met by this dispatch.
fn deadline(conn: &mut DbConnection, row: &DispatchRow) -> AppResult<Option<NaiveDateTime>> {
    let met_by_this = evidence_prefix(&row.id);
    Ok(obligations::list(conn, &row.tenant_id, &row.incident_id)?
        .into_iter()
        .filter(|o| o.recipient == "subjects")
        .filter(|o| {
            o.is_open()
                || o.evidence
                    .as_deref()
                    .is_some_and(|e| e.starts_with(&met_by_this))
        })
        .filter_map(|o| o.due_at.or(o.target_at))
        .min())
}
