//! The worker: claims due outbox rows with a lease, renders and sends each with no
//! transaction open, then records every outcome in one transaction — retries with
//! backoff, moves people to their next channel, marks the unreachable for the
//! bulletin, and completes dispatches. A killed worker's leases expire and its
//! rows are sent again with the same `Message-ID`, so nothing is lost.
//!
//! Rows for a channel the tenant's send window holds back go back to the queue until
//! the window opens, uncounted. Each round also fails sent messages whose delivery
//! receipt is overdue (the channel's receipt timeout) and moves their people on.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use futures_util::StreamExt;
use serde_json::json;

use super::channels::{Adapters, Outcome, Outgoing};
use super::policy::{Decision, RetryPolicy, decide};
use super::rate::RateLimits;
use super::settings::ChannelSettings;
use crate::audit::{self, AuditEvent};
use crate::db::schema::{
    affected_subjects, delivery_attempts, dispatch_recipients, obligations, outbox,
};
use crate::db::{Db, DbConnection};
use crate::domain::{Channel, SendWindow, categories_of_mask, now_micros};
use crate::error::{AppError, AppResult};
use crate::notices::Audience;
use crate::notices::plan::Route;
use crate::notices::render::Person;
use crate::store::dispatches::{self, DispatchRow, NewOutboxRow};
use crate::store::outbox::{self as queue, Claimed};
use crate::store::plans::{IncidentNotices, NoticeService};
use crate::store::{from_json_text, new_id};

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Name recorded in `locked_by`.
    pub name: String,
    /// Rows claimed at a time.
    pub batch: i64,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// A lease older than this is taken to belong to a dead worker.
    pub lease: Duration,
    /// Pause when there is nothing to do.
    pub idle: Duration,
}

impl WorkerOptions {
    /// Options from the settings, with a name unique to this process.
    pub fn from_settings(s: &crate::config::WorkerSettings) -> Self {
        Self {
            name: format!("worker-{}-{}", std::process::id(), &new_id()[24..]),
            batch: s.batch,
            concurrency: s.concurrency,
            lease: Duration::from_secs(s.lease_secs),
            idle: Duration::from_millis(500),
        }
    }
}

/// Sends what approved dispatches put in the outbox.
pub struct Worker {
    db: Db,
    service: Arc<NoticeService>,
    adapters: Arc<Adapters>,
    rates: Arc<RateLimits>,
    channels: ChannelSettings,
    options: WorkerOptions,
}

/// One claimed row ready to send (`None` when it could not be rendered).
struct Job {
    claimed: Claimed,
    message: Option<Outgoing>,
    /// The tenant's slug, which picks its own SMTP relay if it has one.
    tenant: Arc<str>,
}

/// A claimed batch: rows to send, and rows held back until the tenant's send window
/// opens.
#[derive(Default)]
struct Prepared {
    jobs: Vec<Job>,
    deferred: Vec<(Claimed, NaiveDateTime)>,
}

/// What one send came to, for recording.
struct Attempt {
    claimed: Claimed,
    outcome: Outcome,
    provider: String,
    /// How long to wait for a delivery receipt, when the provider sends them.
    receipt_window: Option<Duration>,
}

/// A line of the ledger (`delivery_attempts`).
#[derive(Insertable)]
#[diesel(table_name = delivery_attempts, treat_none_as_default_value = false)]
struct NewAttempt<'a> {
    id: String,
    outbox_id: &'a str,
    at: NaiveDateTime,
    result: &'a str,
    provider: Option<&'a str>,
    provider_id: Option<&'a str>,
    detail: Option<&'a str>,
}

impl<'a> NewAttempt<'a> {
    fn new(outbox_id: &'a str, at: NaiveDateTime, result: &'a str) -> Self {
        Self {
            id: new_id(),
            outbox_id,
            at,
            result,
            provider: None,
            provider_id: None,
            detail: None,
        }
    }

    fn insert(self, conn: &mut DbConnection) -> AppResult<()> {
        diesel::insert_into(delivery_attempts::table)
            .values(&self)
            .execute(conn)?;
        Ok(())
    }
}

impl Worker {
    /// A worker over the given adapters.
    pub fn new(
        db: Db,
        service: Arc<NoticeService>,
        adapters: Arc<Adapters>,
        channels: ChannelSettings,
        options: WorkerOptions,
    ) -> Self {
        let rates = Arc::new(RateLimits::new(&channels.rates));
        Self {
            db,
            service,
            adapters,
            rates,
            channels,
            options,
        }
    }

    /// Works until `stop` turns true; the batch in flight is sent and recorded first,
    /// so a graceful stop leaves no row claimed (a killed worker's leases expire).
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(worker = %self.options.name, "dispatch worker started");
        while !*stop.borrow() {
            match self.run_once().await {
                Ok(0) => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.options.idle) => {}
                        _ = stop.changed() => {}
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(error = %err, "dispatch worker batch failed");
                    tokio::time::sleep(self.options.idle).await;
                }
            }
        }
        tracing::info!(worker = %self.options.name, "dispatch worker stopped");
    }

    /// Claims, sends and records one batch, after failing the messages whose receipt
    /// is overdue (same transaction as the claim); returns how many rows it handled.
    pub async fn run_once(&self) -> AppResult<usize> {
        let name = self.options.name.clone();
        let (batch, lease) = (self.options.batch, self.options.lease);
        let (expired, claimed) = self
            .db
            .write(move |conn| {
                let now = now_micros();
                queue::reclaim_expired(conn, now, lease)?;
                let expired = expire_receipts(conn, now, batch)?;
                Ok((expired, queue::claim(conn, &name, now, batch)?))
            })
            .await?;
        Ok(expired + self.send_batch(claimed).await?)
    }

    /// Renders, sends and records claimed rows (or holds them back for the send window).
    async fn send_batch(&self, claimed: Vec<Claimed>) -> AppResult<usize> {
        if claimed.is_empty() {
            return Ok(0);
        }
        let count = claimed.len();
        let started = std::time::Instant::now();
        let service = self.service.clone();
        let Prepared { jobs, deferred } = self
            .db
            .read(move |conn| prepare(conn, service, claimed))
            .await?;
        let prepared = started.elapsed();
        let results = self.send_all(jobs).await;
        let sent = started.elapsed();
        let (channels, name) = (self.channels.clone(), self.options.name.clone());
        self.db
            .write(move |conn| {
                record(conn, &channels, &name, results)?;
                defer(conn, &name, deferred)
            })
            .await?;
        tracing::debug!(
            rows = count,
            prepare_ms = prepared.as_millis() as u64,
            send_ms = (sent - prepared).as_millis() as u64,
            record_ms = (started.elapsed() - sent).as_millis() as u64,
            "dispatch batch"
        );
        Ok(count)
    }

    async fn send_all(&self, jobs: Vec<Job>) -> Vec<Attempt> {
        futures_util::stream::iter(jobs)
            .map(|job| async move {
                let Job {
                    claimed,
                    message,
                    tenant,
                } = job;
                let unsent = |claimed, why: String| Attempt {
                    claimed,
                    outcome: Outcome::Transient(why),
                    provider: "none".into(),
                    receipt_window: None,
                };
                let Some(msg) = message else {
                    return unsent(claimed, "could not render the notice".into());
                };
                let adapters = match self.adapters.for_tenant(&tenant) {
                    Ok(adapters) => adapters,
                    Err(e) => return unsent(claimed, format!("the tenant's relay: {e:#}")),
                };
                let adapter = adapters.get(msg.channel);
                self.rates.acquire(msg.channel, adapter.provider()).await;
                let outcome = adapter.send(&msg).await;
                Attempt {
                    claimed,
                    outcome,
                    provider: adapter.provider().to_owned(),
                    receipt_window: adapter
                        .has_receipts()
                        .then(|| self.channels.receipt_timeout(msg.channel))
                        .flatten(),
                }
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await
    }
}

/// Renders every claimed row (grouped by dispatch) into a message, or holds it back
/// while the tenant's send window is closed for its channel.
fn prepare(
    conn: &mut DbConnection,
    service: Arc<NoticeService>,
    claimed: Vec<Claimed>,
) -> AppResult<Prepared> {
    let mut by_dispatch: HashMap<String, Vec<Claimed>> = HashMap::new();
    for c in claimed {
        by_dispatch
            .entry(c.dispatch_id.clone())
            .or_default()
            .push(c);
    }
    let mut prepared = Prepared::default();
    for (dispatch_id, rows) in by_dispatch {
        let dispatch = dispatches::by_id(conn, &dispatch_id)?;
        let notices = IncidentNotices::load(
            conn,
            service.clone(),
            &dispatch.tenant_id,
            &dispatch.incident_id,
        )?
        .with_content(dispatch.content()?);
        let ids: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
        let people: HashMap<String, RecipientRow> = dispatch_recipients::table
            .filter(dispatch_recipients::dispatch_id.eq(&dispatch_id))
            .filter(dispatch_recipients::external_id.eq_any(&ids))
            .select((
                dispatch_recipients::external_id,
                dispatch_recipients::audience,
                dispatch_recipients::recipient_name,
                dispatch_recipients::subject_name,
                dispatch_recipients::locale,
                dispatch_recipients::postal_address,
            ))
            .load::<RecipientRow>(conn)?
            .into_iter()
            .map(|r| (r.0.clone(), r))
            .collect();
        let set_id = crate::store::affected::current_set(conn, &dispatch.incident_id)?;
        let masks: HashMap<String, i64> = affected_subjects::table
            .filter(affected_subjects::set_id.nullable().eq(set_id))
            .filter(affected_subjects::external_id.eq_any(&ids))
            .select((
                affected_subjects::external_id,
                affected_subjects::exposed_categories,
            ))
            .load::<(String, i64)>(conn)?
            .into_iter()
            .collect();
        let mut renderer = notices.renderer();
        let sender = notices.sender();
        let tenant: Arc<str> = notices.tenant_slug().into();
        let now = now_micros();
        for claimed in rows {
            if let Some(until) = held_until(notices.settings.send_window.as_ref(), &claimed, now) {
                prepared.deferred.push((claimed, until));
                continue;
            }
            let message = people.get(&claimed.external_id).and_then(|p| {
                let mask = masks.get(&claimed.external_id).copied().unwrap_or(0);
                message_for(&mut renderer, &notices, &dispatch, &claimed, p, mask, sender.clone())
                    .map_err(|e| tracing::error!(outbox.id = %claimed.id, error = %e, "cannot render notice"))
                    .ok()
            });
            prepared.jobs.push(Job {
                claimed,
                message,
                tenant: tenant.clone(),
            });
        }
    }
    Ok(prepared)
}

/// When the tenant's send window holds this row's channel back now: its next opening.
fn held_until(
    window: Option<&SendWindow>,
    claimed: &Claimed,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let channel: Channel = claimed.channel.parse().ok()?;
    window?.held_until(channel, now)
}

/// Puts rows held back by a send window back in the queue until it opens.
fn defer(
    conn: &mut DbConnection,
    worker: &str,
    deferred: Vec<(Claimed, NaiveDateTime)>,
) -> AppResult<()> {
    for (claimed, until) in deferred {
        if queue::defer(conn, worker, &claimed.id, until)? {
            tracing::debug!(outbox.id = %claimed.id, %until, "held back until the send window opens");
        }
    }
    Ok(())
}

type RecipientRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

fn message_for(
    renderer: &mut crate::notices::render::Renderer<'_>,
    notices: &IncidentNotices,
    dispatch: &DispatchRow,
    claimed: &Claimed,
    person: &RecipientRow,
    mask: i64,
    sender: super::channels::Sender,
) -> AppResult<Outgoing> {
    let channel: Channel = claimed
        .channel
        .parse()
        .map_err(|e: String| AppError::Unexpected(anyhow::anyhow!(e)))?;
    let (_, audience, recipient_name, subject_name, locale, postal_address) = person;
    let audience = if audience == "guardian" {
        Audience::Guardian
    } else {
        Audience::Subject
    };
    let link = notices.notice_url(&dispatches::link_token(dispatch, &claimed.external_id)?);
    let person = Person {
        recipient_name: recipient_name.clone(),
        subject_name: subject_name.clone(),
        notice_url: Some(link.clone()),
        postal_address: (channel == Channel::Letter)
            .then(|| postal_address.clone())
            .flatten(),
        categories: categories_of_mask(mask),
    };
    let rendered = renderer
        .render(locale, channel, audience, &person)
        .map_err(AppError::Unexpected)?;
    Ok(Outgoing {
        message_id: format!("<{}@breachline>", claimed.id),
        channel,
        to: claimed.address.clone(),
        to_name: recipient_name.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        link: Some(link),
        locale: locale.clone(),
        sender,
        batch: Some(dispatch.id.clone()),
    })
}

/// Records every outcome of a batch in the caller's transaction: each row's own
/// update, then the ledger lines and the people's new states a statement at a
/// time (on PostgreSQL the batch is bound by round trips).
fn record(
    conn: &mut DbConnection,
    channels: &ChannelSettings,
    worker: &str,
    results: Vec<Attempt>,
) -> AppResult<()> {
    let now = now_micros();
    let mut rng = rand::rng();
    let mut touched = HashSet::new();
    let mut recorded: Vec<(Attempt, LedgerEntry)> = Vec::with_capacity(results.len());
    for attempt in results {
        let claimed = &attempt.claimed;
        touched.insert(claimed.dispatch_id.clone());
        let channel: Channel = claimed.channel.parse().unwrap_or(Channel::Email);
        let policy = RetryPolicy::for_channel(channels, channel);
        let outcome = &attempt.outcome;
        let decision = decide(outcome, claimed.attempts.max(1) as u32, &policy, &mut rng);
        let entry = LedgerEntry::of(outcome, &decision);
        let run_at = match decision {
            Decision::RetryAfter(d) => now + chrono::Duration::from_std(d).unwrap_or_default(),
            _ => now,
        };
        let receipt_due_at = attempt
            .receipt_window
            .filter(|_| entry.status == "sent")
            .map(|w| now + chrono::Duration::from_std(w).unwrap_or(chrono::Duration::MAX));
        let owned = outbox::table
            .filter(outbox::id.eq(&claimed.id))
            .filter(outbox::locked_by.eq(worker))
            .filter(outbox::status.eq("sending"));
        let updated = diesel::update(owned)
            .set((
                outbox::status.eq(entry.status),
                outbox::run_at.eq(run_at),
                outbox::locked_at.eq(None::<NaiveDateTime>),
                outbox::locked_by.eq(None::<String>),
                outbox::provider.eq(&attempt.provider),
                outbox::provider_id.eq(&entry.provider_id),
                outbox::last_error.eq(&entry.detail),
                outbox::receipt_due_at.eq(receipt_due_at),
                outbox::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            continue; // the lease expired and another worker took the row over
        }
        if entry.status == "failed" {
            let person = (claimed.dispatch_id.as_str(), claimed.external_id.as_str());
            next_channel(conn, person, now)?;
        }
        recorded.push((attempt, entry));
    }
    insert_ledger_lines(conn, &recorded, now)?;
    set_states(conn, &recorded, now)?;
    for dispatch_id in touched {
        complete_if_done(conn, &dispatch_id)?;
    }
    Ok(())
}

/// Writes the ledger lines of recorded attempts, many rows per statement.
fn insert_ledger_lines(
    conn: &mut DbConnection,
    recorded: &[(Attempt, LedgerEntry)],
    now: NaiveDateTime,
) -> AppResult<()> {
    let lines: Vec<NewAttempt<'_>> = recorded
        .iter()
        .map(|(attempt, entry)| NewAttempt {
            provider: Some(&attempt.provider),
            provider_id: entry.provider_id.as_deref(),
            detail: entry.detail.as_deref(),
            ..NewAttempt::new(&attempt.claimed.id, now, entry.result)
        })
        .collect();
    // 7 columns: 1,000 rows stay under both backends' bind-parameter limits.
    for chunk in lines.chunks(1_000) {
        crate::store::with_backend!(conn, c => diesel::insert_into(delivery_attempts::table)
            .values(chunk)
            .execute(c)?);
    }
    Ok(())
}

/// Sets `sent` / `handed_off` on the people of recorded attempts, one statement
/// per dispatch and state.
fn set_states(
    conn: &mut DbConnection,
    recorded: &[(Attempt, LedgerEntry)],
    now: NaiveDateTime,
) -> AppResult<()> {
    let mut groups: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for (attempt, entry) in recorded {
        if matches!(entry.status, "sent" | "handed_off") {
            let claimed = &attempt.claimed;
            groups
                .entry((claimed.dispatch_id.as_str(), entry.status))
                .or_default()
                .push(claimed.external_id.as_str());
        }
    }
    for ((dispatch_id, state), people) in groups {
        for chunk in people.chunks(1_000) {
            diesel::update(
                dispatch_recipients::table
                    .filter(dispatch_recipients::dispatch_id.eq(dispatch_id))
                    .filter(dispatch_recipients::external_id.eq_any(chunk)),
            )
            .set((
                dispatch_recipients::state.eq(state),
                dispatch_recipients::updated_at.eq(now),
            ))
            .execute(conn)?;
        }
    }
    Ok(())
}

/// How one outcome is written down: the row's new status and the ledger's line.
struct LedgerEntry {
    status: &'static str,
    result: &'static str,
    provider_id: Option<String>,
    detail: Option<String>,
}

impl LedgerEntry {
    fn of(outcome: &Outcome, decision: &Decision) -> Self {
        let (status, result, provider_id, detail) = match (outcome, decision) {
            (Outcome::Sent { provider_id }, _) => ("sent", "sent", provider_id.clone(), None),
            (Outcome::HandedOff { location }, _) => {
                ("handed_off", "handed_off", None, Some(location.clone()))
            }
            (_, Decision::RetryAfter(_)) => ("queued", "retry", None, outcome_detail(outcome)),
            _ => ("failed", "failed", None, outcome_detail(outcome)),
        };
        Self {
            status,
            result,
            provider_id,
            detail,
        }
    }
}

fn outcome_detail(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Transient(why) => Some(format!("transient: {why}")),
        Outcome::Permanent(why) => Some(format!("permanent: {why}")),
        _ => None,
    }
}

/// A person of a dispatch: (dispatch id, external id).
type PersonKey<'a> = (&'a str, &'a str);

fn set_state(conn: &mut DbConnection, person: PersonKey<'_>, state: &str) -> AppResult<()> {
    diesel::update(dispatch_recipients::table.find(person))
        .set((
            dispatch_recipients::state.eq(state),
            dispatch_recipients::updated_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves a person to their next planned channel, or marks them unreachable.
fn next_channel(
    conn: &mut DbConnection,
    person: PersonKey<'_>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let (dispatch_id, external_id) = person;
    let (channels, current): (String, i32) = dispatch_recipients::table
        .find(person)
        .select((
            dispatch_recipients::channels,
            dispatch_recipients::next_channel,
        ))
        .first(conn)?;
    let routes: Vec<Route> = from_json_text(&channels)?;
    let next = current + 1;
    match routes.get(next as usize) {
        Some(route) => {
            let dispatch = dispatches::by_id(conn, dispatch_id)?;
            dispatches::insert_outbox(
                conn,
                &[NewOutboxRow::queued(&dispatch, external_id, route, now)],
            )?;
            diesel::update(dispatch_recipients::table.find(person))
                .set((
                    dispatch_recipients::next_channel.eq(next),
                    dispatch_recipients::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        None => set_state(conn, person, "unreachable")?,
    }
    Ok(())
}

/// Completes a dispatch once nothing is queued or in flight, and marks the incident's
/// open obligations to notify people met, with the dispatch as evidence.
fn complete_if_done(conn: &mut DbConnection, dispatch_id: &str) -> AppResult<()> {
    // One row is enough to know; the claim index (status, run_at) finds it at once.
    let pending = outbox::table
        .filter(outbox::status.eq_any(["queued", "sending"]))
        .filter(outbox::dispatch_id.eq(dispatch_id))
        .select(outbox::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    let row = dispatches::by_id(conn, dispatch_id)?;
    if pending {
        // A completed dispatch reopens when a late bounce or an overdue receipt sends
        // someone to their next channel; it completes again (and is audited) after.
        if row.status == "approved" || row.status == "completed" {
            dispatches::set_status(conn, dispatch_id, "sending")?;
        }
        return Ok(());
    }
    if row.status == "completed" {
        return Ok(());
    }
    let now = now_micros();
    dispatches::set_status(conn, dispatch_id, "completed")?;
    let progress = dispatches::progress(conn, &row)?;
    let evidence = format!(
        "{} {} sent, {} delivered, {} handed off, {} unreachable (covered by the public bulletin)",
        dispatches::evidence_prefix(dispatch_id),
        progress["counts"]["sent"],
        progress["counts"]["delivered"],
        progress["counts"]["handed_off"],
        progress["counts"]["unreachable"]
    );
    diesel::update(
        obligations::table
            .filter(obligations::incident_id.eq(&row.incident_id))
            .filter(obligations::recipient.eq("subjects"))
            .filter(obligations::status.eq("open")),
    )
    .set((
        obligations::status.eq("met"),
        obligations::met_at.eq(now),
        obligations::evidence.eq(&evidence),
        obligations::resolved_by.eq("dispatch"),
        obligations::updated_at.eq(now),
    ))
    .execute(conn)?;
    audit::append(
        conn,
        &row.tenant_id,
        AuditEvent {
            actor: "worker".into(),
            action: "dispatch.complete",
            target: format!("dispatch:{dispatch_id}"),
            details: json!({ "incident": row.incident_id, "counts": progress["counts"], "evidence": evidence }),
        },
    )
}

/// Fails up to `limit` sent messages whose delivery receipt is overdue, like a
/// bounce: a `failed` line "no delivery receipt within N s" on the ledger and the
/// person moves to their next channel. One transaction; a row a receipt or another
/// worker finished first is skipped, so nothing is enqueued twice. Returns how many.
pub fn expire_receipts(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<usize> {
    let (mut expired, mut touched) = (0, HashSet::new());
    for row in queue::overdue_receipts(conn, now, limit)? {
        let detail = format!(
            "no delivery receipt within {} s",
            (row.due_at - row.sent_at).num_seconds()
        );
        let failed = diesel::update(
            outbox::table
                .filter(outbox::id.eq(&row.id))
                .filter(outbox::status.eq("sent")),
        )
        .set((
            outbox::status.eq("failed"),
            outbox::last_error.eq(&detail),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
        if failed == 0 {
            continue;
        }
        NewAttempt {
            provider: row.provider.as_deref(),
            provider_id: row.provider_id.as_deref(),
            detail: Some(&detail),
            ..NewAttempt::new(&row.id, now, "failed")
        }
        .insert(conn)?;
        next_channel(conn, (&row.dispatch_id, &row.external_id), now)?;
        touched.insert(row.dispatch_id);
        expired += 1;
    }
    for dispatch_id in touched {
        complete_if_done(conn, &dispatch_id)?;
    }
    Ok(expired)
}

/// The outbox row a receipt is about.
#[derive(Queryable)]
struct ReceiptTarget {
    id: String,
    dispatch_id: String,
    external_id: String,
    status: String,
    receipt_due_at: Option<NaiveDateTime>,
}

impl ReceiptTarget {
    fn find(conn: &mut DbConnection, message: &super::receipts::MessageRef) -> AppResult<Self> {
        use super::receipts::MessageRef;
        let query = outbox::table
            .select((
                outbox::id,
                outbox::dispatch_id,
                outbox::external_id,
                outbox::status,
                outbox::receipt_due_at,
            ))
            .into_boxed();
        let query = match message {
            MessageRef::ProviderId(id) => query.filter(outbox::provider_id.eq(id.clone())),
            MessageRef::MessageId(id) => query.filter(
                outbox::id.eq(id
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim_end_matches("@breachline")
                    .to_owned()),
            ),
        };
        query
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound("message".into()))
    }

    /// Failed because no receipt came in time (the due time stays until a late one comes).
    fn timed_out(&self) -> bool {
        self.status == "failed" && self.receipt_due_at.is_some()
    }
}

/// Records a delivery receipt on its outbox row: `delivered` ends the person's
/// notice; a bounce or failure moves them to their next channel. A receipt for a
/// row that already has a final status changes nothing (providers resend them),
/// except the first receipt after a receipt timeout, which is written to the ledger
/// as `receipt: <status> (late)`: the person has already moved on.
pub fn record_receipt(
    conn: &mut DbConnection,
    receipt: &super::receipts::Receipt,
) -> AppResult<()> {
    use super::receipts::ReceiptStatus;
    let target = ReceiptTarget::find(conn, &receipt.message_ref)?;
    let new_status = match receipt.status {
        ReceiptStatus::Delivered => "delivered",
        ReceiptStatus::Bounced => "bounced",
        ReceiptStatus::Failed => "failed",
    };
    if target.timed_out() {
        return record_late_receipt(conn, &target, new_status, receipt.detail.as_deref());
    }
    if ["delivered", "bounced", "failed"].contains(&target.status.as_str()) {
        return Ok(());
    }
    let now = now_micros();
    let updated = diesel::update(
        outbox::table
            .filter(outbox::id.eq(&target.id))
            .filter(outbox::status.eq(&target.status)),
    )
    .set((
        outbox::status.eq(new_status),
        outbox::last_error.eq(&receipt.detail),
        outbox::receipt_due_at.eq(None::<NaiveDateTime>),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(()); // a concurrent receipt or the receipt timeout came first
    }
    let result = format!("receipt: {new_status}");
    NewAttempt {
        detail: receipt.detail.as_deref(),
        ..NewAttempt::new(&target.id, now, &result)
    }
    .insert(conn)?;
    let person = (target.dispatch_id.as_str(), target.external_id.as_str());
    match receipt.status {
        ReceiptStatus::Delivered => set_state(conn, person, "delivered")?,
        ReceiptStatus::Bounced | ReceiptStatus::Failed => next_channel(conn, person, now)?,
    }
    complete_if_done(conn, &target.dispatch_id)
}

/// Writes the first receipt after a timeout to the ledger, once, and changes nothing else.
fn record_late_receipt(
    conn: &mut DbConnection,
    target: &ReceiptTarget,
    status: &str,
    detail: Option<&str>,
) -> AppResult<()> {
    let first = diesel::update(
        outbox::table
            .filter(outbox::id.eq(&target.id))
            .filter(outbox::receipt_due_at.is_not_null()),
    )
    .set(outbox::receipt_due_at.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    if first == 1 {
        let result = format!("receipt: {status} (late)");
        NewAttempt {
            detail,
            ..NewAttempt::new(&target.id, now_micros(), &result)
        }
        .insert(conn)?;
    }
    Ok(())
}
