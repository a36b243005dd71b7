//! The worker: claims due outbox rows with a lease, renders and sends each with no
//! transaction open, then records every outcome in one transaction — retries with
//! backoff, moves people to their next channel, marks the unreachable for the
//! bulletin, and completes dispatches. A killed worker's leases expire and its
//! rows are sent again with the same `Message-ID`, so nothing is lost.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

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
use crate::domain::{Channel, categories_of_mask, now_micros};
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

/// One claimed row ready to send.
struct Job {
    claimed: Claimed,
    message: Option<Outgoing>,
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

    /// Works until `stop` turns true; claimed rows of an interrupted batch are released.
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

    /// Claims, sends and records one batch; returns how many rows it handled.
    pub async fn run_once(&self) -> AppResult<usize> {
        let name = self.options.name.clone();
        let (batch, lease) = (self.options.batch, self.options.lease);
        let claimed = self
            .db
            .write(move |conn| {
                let now = now_micros();
                queue::reclaim_expired(conn, now, lease)?;
                queue::claim(conn, &name, now, batch)
            })
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let count = claimed.len();
        let started = std::time::Instant::now();
        let service = self.service.clone();
        let jobs = self
            .db
            .read(move |conn| prepare(conn, service, claimed))
            .await?;
        let prepared = started.elapsed();
        let results = self.send_all(jobs).await;
        let sent = started.elapsed();
        let (channels, name) = (self.channels.clone(), self.options.name.clone());
        self.db
            .write(move |conn| record(conn, &channels, &name, results))
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

    async fn send_all(&self, jobs: Vec<Job>) -> Vec<(Claimed, Outcome, String)> {
        futures_util::stream::iter(jobs)
            .map(|job| async move {
                let Some(msg) = job.message else {
                    return (
                        job.claimed,
                        Outcome::Transient("could not render the notice".into()),
                        "none".into(),
                    );
                };
                let adapter = self.adapters.get(msg.channel);
                self.rates.acquire(msg.channel, adapter.provider()).await;
                let outcome = adapter.send(&msg).await;
                (job.claimed, outcome, adapter.provider().to_owned())
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await
    }
}

/// Renders every claimed row (grouped by dispatch) into a message.
fn prepare(
    conn: &mut DbConnection,
    service: Arc<NoticeService>,
    claimed: Vec<Claimed>,
) -> AppResult<Vec<Job>> {
    let mut by_dispatch: HashMap<String, Vec<Claimed>> = HashMap::new();
    for c in claimed {
        by_dispatch
            .entry(c.dispatch_id.clone())
            .or_default()
            .push(c);
    }
    let mut jobs = Vec::new();
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
        for claimed in rows {
            let message = people.get(&claimed.external_id).and_then(|p| {
                let mask = masks.get(&claimed.external_id).copied().unwrap_or(0);
                message_for(&mut renderer, &notices, &dispatch, &claimed, p, mask, sender.clone())
                    .map_err(|e| tracing::error!(outbox.id = %claimed.id, error = %e, "cannot render notice"))
                    .ok()
            });
            jobs.push(Job { claimed, message });
        }
    }
    Ok(jobs)
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

/// Records every outcome of a batch in the caller's transaction.
fn record(
    conn: &mut DbConnection,
    channels: &ChannelSettings,
    worker: &str,
    results: Vec<(Claimed, Outcome, String)>,
) -> AppResult<()> {
    let now = now_micros();
    let mut rng = rand::rng();
    let mut touched = HashSet::new();
    for (claimed, outcome, provider) in results {
        touched.insert(claimed.dispatch_id.clone());
        let channel: Channel = claimed.channel.parse().unwrap_or(Channel::Email);
        let policy = RetryPolicy::for_channel(channels, channel);
        let decision = decide(&outcome, claimed.attempts.max(1) as u32, &policy, &mut rng);
        let (status, provider_id, detail, result) = match (&outcome, &decision) {
            (Outcome::Sent { provider_id }, _) => {
                ("sent", provider_id.clone(), None, "sent".to_owned())
            }
            (Outcome::HandedOff { location }, _) => (
                "handed_off",
                None,
                Some(location.clone()),
                "handed_off".to_owned(),
            ),
            (_, Decision::RetryAfter(_)) => {
                ("queued", None, outcome_detail(&outcome), "retry".to_owned())
            }
            _ => (
                "failed",
                None,
                outcome_detail(&outcome),
                "failed".to_owned(),
            ),
        };
        let run_at = match decision {
            Decision::RetryAfter(d) => now + chrono::Duration::from_std(d).unwrap_or_default(),
            _ => now,
        };
        let owned = outbox::table
            .filter(outbox::id.eq(&claimed.id))
            .filter(outbox::locked_by.eq(worker))
            .filter(outbox::status.eq("sending"));
        let updated = diesel::update(owned)
            .set((
                outbox::status.eq(status),
                outbox::run_at.eq(run_at),
                outbox::locked_at.eq(None::<chrono::NaiveDateTime>),
                outbox::locked_by.eq(None::<String>),
                outbox::provider.eq(&provider),
                outbox::provider_id.eq(&provider_id),
                outbox::last_error.eq(&detail),
                outbox::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            continue; // the lease expired and another worker took the row over
        }
        diesel::insert_into(delivery_attempts::table)
            .values((
                delivery_attempts::id.eq(new_id()),
                delivery_attempts::outbox_id.eq(&claimed.id),
                delivery_attempts::at.eq(now),
                delivery_attempts::result.eq(&result),
                delivery_attempts::provider.eq(&provider),
                delivery_attempts::provider_id.eq(&provider_id),
                delivery_attempts::detail.eq(&detail),
            ))
            .execute(conn)?;
        match status {
            "sent" | "handed_off" => set_state(conn, &claimed, status)?,
            "failed" => next_channel(conn, &claimed, now)?,
            _ => {}
        }
    }
    for dispatch_id in touched {
        complete_if_done(conn, &dispatch_id)?;
    }
    Ok(())
}

fn outcome_detail(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Transient(why) => Some(format!("transient: {why}")),
        Outcome::Permanent(why) => Some(format!("permanent: {why}")),
        _ => None,
    }
}

fn set_state(conn: &mut DbConnection, claimed: &Claimed, state: &str) -> AppResult<()> {
    diesel::update(dispatch_recipients::table.find((&claimed.dispatch_id, &claimed.external_id)))
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
    claimed: &Claimed,
    now: chrono::NaiveDateTime,
) -> AppResult<()> {
    let key = (&claimed.dispatch_id, &claimed.external_id);
    let (channels, current): (String, i32) = dispatch_recipients::table
        .find(key)
        .select((
            dispatch_recipients::channels,
            dispatch_recipients::next_channel,
        ))
        .first(conn)?;
    let routes: Vec<Route> = from_json_text(&channels)?;
    let next = current + 1;
    match routes.get(next as usize) {
        Some(route) => {
            let dispatch = dispatches::by_id(conn, &claimed.dispatch_id)?;
            dispatches::insert_outbox(
                conn,
                &[NewOutboxRow::queued(
                    &dispatch,
                    &claimed.external_id,
                    route,
                    now,
                )],
            )?;
            diesel::update(dispatch_recipients::table.find(key))
                .set((
                    dispatch_recipients::next_channel.eq(next),
                    dispatch_recipients::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        None => set_state(conn, claimed, "unreachable")?,
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
        if row.status == "approved" {
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
        "dispatch {dispatch_id}: {} sent, {} delivered, {} handed off, {} unreachable (covered by the public bulletin)",
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

/// Records a delivery receipt on its outbox row: `delivered` ends the person's
/// notice; a bounce or failure moves them to their next channel. A receipt for a
/// row that already has a final status changes nothing (providers resend them).
pub fn record_receipt(
    conn: &mut DbConnection,
    receipt: &super::receipts::Receipt,
) -> AppResult<()> {
    use super::receipts::{MessageRef, ReceiptStatus};
    let query = outbox::table
        .select((
            outbox::id,
            outbox::dispatch_id,
            outbox::external_id,
            outbox::channel,
            outbox::address,
            outbox::attempts,
            outbox::status,
            outbox::tenant_id,
        ))
        .into_boxed();
    let query = match &receipt.message_ref {
        MessageRef::ProviderId(id) => query.filter(outbox::provider_id.eq(id.clone())),
        MessageRef::MessageId(id) => query.filter(
            outbox::id.eq(id
                .trim_start_matches('<')
                .trim_end_matches('>')
                .trim_end_matches("@breachline")
                .to_owned()),
        ),
    };
    let row: (String, String, String, String, String, i32, String, String) = query
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("message".into()))?;
    let (id, dispatch_id, external_id, channel, address, attempts, status, tenant_id) = row;
    if ["delivered", "bounced", "failed"].contains(&status.as_str()) {
        return Ok(());
    }
    let now = now_micros();
    let new_status = match receipt.status {
        ReceiptStatus::Delivered => "delivered",
        ReceiptStatus::Bounced => "bounced",
        ReceiptStatus::Failed => "failed",
    };
    diesel::update(outbox::table.find(&id))
        .set((
            outbox::status.eq(new_status),
            outbox::last_error.eq(&receipt.detail),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(delivery_attempts::table)
        .values((
            delivery_attempts::id.eq(new_id()),
            delivery_attempts::outbox_id.eq(&id),
            delivery_attempts::at.eq(now),
            delivery_attempts::result.eq(format!("receipt: {new_status}")),
            delivery_attempts::detail.eq(&receipt.detail),
        ))
        .execute(conn)?;
    let claimed = Claimed {
        id,
        tenant_id,
        dispatch_id,
        external_id,
        channel,
        address,
        attempts,
    };
    match receipt.status {
        ReceiptStatus::Delivered => set_state(conn, &claimed, "delivered")?,
        ReceiptStatus::Bounced | ReceiptStatus::Failed => next_channel(conn, &claimed, now)?,
    }
    complete_if_done(conn, &claimed.dispatch_id)
}
