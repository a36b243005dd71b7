//! The worker: a continuous pipeline of claim → compose → send with a deadline →
//! record. Each part runs on its own:
//!
//! - the **feeder** claims due outbox rows ahead of the senders (a lease each),
//!   composes their messages, and holds back rows the tenant's send window closes;
//! - **senders** (at most `concurrency` unrecorded sends at once) take messages in
//!   order, wait for their channel's rate, skip a paused relay, and send;
//! - the **recorder** writes results as they come, a group at most every 100 ms, in
//!   one transaction; a send's slot is freed only when its result is committed, so
//!   a crash re-sends at most `concurrency` messages (with the same `Message-ID`);
//! - **upkeep** renews the leases of rows still held, takes back any worker's
//!   expired leases, and fails sent messages whose delivery receipt is overdue; at
//!   most every [`REMIND_EVERY`] it also runs the reminder scheduler
//!   ([`super::reminders`]) at the worker's clock and sends the team's messages.
//!
//! Stopping is bounded: no more claims, untried rows go back to the queue at once,
//! sends in flight get the grace period, then their rows go back too.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::channels::{Adapters, Outcome, Outgoing, Sender};
use super::policy::{RetryPolicy, SendReport, dispose};
use super::rate::RateLimits;
use super::relay::{Admission, RelayChange, RelayHealth};
use super::reminders::{self, Clock, system_clock};
use super::settings::ChannelSettings;
use crate::compose::NoticeService;
use crate::compose::dispatch::DispatchMessages;
use crate::db::Db;
use crate::domain::{WindowHold, now_micros};
use crate::error::AppResult;
use crate::notices::render::Shapes;
use crate::store::delivery::{self, Disposition};
use crate::store::outbox::{self as queue, Claimed, PutBack};
use crate::store::{new_id, relays};

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Name recorded in `locked_by`.
    pub name: String,
    /// Rows claimed at a time.
    pub batch: i64,
    /// Sends not yet recorded, at most.
    pub concurrency: usize,
    /// A lease older than this is taken to belong to a dead worker.
    pub lease: Duration,
    /// How long a stopping worker waits for sends in flight.
    pub grace: Duration,
    /// Pause when there is nothing to do.
    pub idle: Duration,
    /// Longest wait before results are committed.
    pub flush_every: Duration,
}

impl WorkerOptions {
    /// Options from the settings, with a name unique to this process.
    pub fn from_settings(s: &crate::config::WorkerSettings) -> Self {
        Self {
            name: format!("worker-{}-{}", std::process::id(), &new_id()[24..]),
            batch: s.batch,
            concurrency: s.concurrency.max(1),
            lease: Duration::from_secs(s.lease_secs),
            grace: Duration::from_secs(s.grace_secs),
            idle: Duration::from_millis(500),
            flush_every: Duration::from_millis(100),
        }
    }
}

/// Rung when rows are queued in this process (an approved dispatch), so an idle
/// worker here claims them at once instead of at its next look; workers in other
/// processes find them within their idle pause. Cloning shares the bell.
#[derive(Debug, Clone, Default)]
pub struct OutboxBell(Arc<Notify>);

impl OutboxBell {
    /// Tells the worker there is work; a ring while it is busy is kept for its next
    /// idle moment.
    pub fn ring(&self) {
        self.0.notify_one();
    }

    async fn rung(&self) {
        self.0.notified().await;
    }
}

/// Sends what approved dispatches put in the outbox.
pub struct Worker {
    db: Db,
    service: Arc<NoticeService>,
    adapters: Arc<Adapters>,
    rates: RateLimits,
    relays: RelayHealth,
    channels: ChannelSettings,
    options: WorkerOptions,
    /// Rows claimed and not yet recorded (their leases are renewed).
    held: Mutex<HashSet<String>>,
    /// The instant reminders are judged at.
    clock: Clock,
    /// Wakes the feeder when this process queues rows.
    bell: OutboxBell,
    /// One permit per unrecorded send: a send takes one, its committed result
    /// gives it back.
    slots: Arc<Semaphore>,
    /// Notices prepared per dispatch, so that each batch fills them in for its
    /// people without rendering templates again.
    shapes: Arc<Mutex<HashMap<String, Shapes>>>,
}

/// How often the upkeep looks for reminders that are due.
pub const REMIND_EVERY: Duration = Duration::from_secs(30);

/// One claimed row, composed.
struct Job {
    claimed: Claimed,
    /// The message, or why it could not be composed.
    message: Result<Outgoing, String>,
    /// The tenant's slug (it picks the tenant's own relay).
    tenant: Arc<str>,
}

/// What became of one job, waiting to be recorded; `_slot` frees the sender's slot
/// when the result is committed.
struct Done {
    claimed: Claimed,
    result: SendResult,
    _slot: Option<OwnedSemaphorePermit>,
}

enum SendResult {
    /// The adapter was called.
    Sent {
        outcome: Outcome,
        provider: String,
        receipt_window: Option<Duration>,
        relay_paused_until: Option<NaiveDateTime>,
    },
    /// Not tried: put back until then (a paused relay, a message we could not compose).
    Untried(NaiveDateTime, PutBack),
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
        Self {
            rates: RateLimits::new(&channels.rates),
            relays: RelayHealth::new(channels.relay_pause_max),
            db,
            service,
            adapters,
            channels,
            held: Mutex::new(HashSet::new()),
            clock: system_clock(),
            bell: OutboxBell::default(),
            slots: Arc::new(Semaphore::new(options.concurrency)),
            shapes: Arc::default(),
            options,
        }
    }

    /// The same worker woken by `bell` (the server rings it on approvals).
    pub fn with_bell(mut self, bell: OutboxBell) -> Self {
        self.bell = bell;
        self
    }

    /// The same worker judging reminders at `clock` (tests set the time).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Works until `stop` turns true, then stops within the grace period.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let name = self.options.name.clone();
        tracing::info!(worker = %name, "dispatch worker started");
        let me = Arc::new(self);
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(me.options.batch.max(1) as usize);
        let (done_tx, done_rx) = mpsc::unbounded_channel::<Done>();
        let feeder = tokio::spawn(me.clone().feed(jobs_tx, stop.clone()));
        let recorder = tokio::spawn(me.clone().record(done_rx));
        let upkeep = tokio::spawn(me.clone().upkeep(stop.clone()));
        let mut jobs_rx = jobs_rx;
        let in_flight = me
            .clone()
            .send_all(&mut jobs_rx, done_tx.clone(), stop)
            .await;
        me.stop(in_flight, jobs_rx, feeder, &done_tx).await;
        drop(done_tx);
        let _ = recorder.await;
        let _ = upkeep.await;
        tracing::info!(worker = %name, "dispatch worker stopped");
    }

    /// Takes jobs in order and sends each in a slot of its own until `stop`.
    async fn send_all(
        self: Arc<Self>,
        jobs: &mut mpsc::Receiver<Job>,
        done: mpsc::UnboundedSender<Done>,
        mut stop: watch::Receiver<bool>,
    ) -> InFlight {
        let slots = self.slots.clone();
        let mut sends = InFlight::default();
        loop {
            // The job first, then its slot: a worker with nothing to send holds no
            // slot, so the recorder can tell when every result is in hand.
            let job = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                job = jobs.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
            };
            let slot = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => None,
                slot = slots.clone().acquire_owned() => slot.ok(),
            };
            let Some(slot) = slot else {
                let _ = done.send(Done {
                    claimed: job.claimed,
                    result: SendResult::Untried(now_micros(), PutBack::Shutdown),
                    _slot: None,
                });
                break;
            };
            let (me, done) = (self.clone(), done.clone());
            let claimed = job.claimed.clone();
            let task = sends.tasks.spawn(async move {
                let result = me.send_one(&job).await;
                let _ = done.send(Done {
                    claimed: job.claimed,
                    result,
                    _slot: Some(slot),
                });
            });
            sends.rows.insert(task.id(), claimed);
            while let Some(finished) = sends.tasks.try_join_next_with_id() {
                sends.forget(finished);
            }
        }
        sends
    }

    /// Bounded stop: untried rows back at once, sends in flight get the grace period,
    /// then their rows go back too (they may have gone out: the only duplicates).
    async fn stop(
        &self,
        mut sends: InFlight,
        mut jobs: mpsc::Receiver<Job>,
        feeder: tokio::task::JoinHandle<Vec<Claimed>>,
        done: &mpsc::UnboundedSender<Done>,
    ) {
        jobs.close();
        let now = now_micros();
        let untried = |claimed| Done {
            claimed,
            result: SendResult::Untried(now, PutBack::Shutdown),
            _slot: None,
        };
        while let Some(job) = jobs.recv().await {
            let _ = done.send(untried(job.claimed));
        }
        if let Ok(left) = feeder.await {
            for claimed in left {
                let _ = done.send(untried(claimed));
            }
        }
        let waited = tokio::time::timeout(self.options.grace, async {
            while let Some(finished) = sends.tasks.join_next_with_id().await {
                sends.forget(finished);
            }
        })
        .await;
        if waited.is_err() {
            tracing::warn!(
                in_flight = sends.tasks.len(),
                "sends still in flight after the grace period: their rows go back to the queue"
            );
            sends.tasks.abort_all();
            while let Some(finished) = sends.tasks.join_next_with_id().await {
                sends.forget(finished);
            }
            for (_, claimed) in sends.rows.drain() {
                let _ = done.send(untried(claimed));
            }
        }
    }

    /// Sends one composed message, unless its relay is paused.
    async fn send_one(&self, job: &Job) -> SendResult {
        let msg = match &job.message {
            Ok(msg) => msg,
            Err(_) => {
                // Composing failed (logged): a template problem for the operator, not
                // the person's; try again in five minutes, uncounted.
                return SendResult::Untried(
                    now_micros() + chrono::Duration::minutes(5),
                    PutBack::RelayPaused,
                );
            }
        };
        let relay = self.channels.relay_key(&job.tenant, msg.channel);
        if let Admission::Paused(until) = self.relays.admit(&relay, now_micros()) {
            return SendResult::Untried(until, PutBack::RelayPaused);
        }
        let adapters = match self.adapters.for_tenant(&job.tenant) {
            Ok(adapters) => adapters,
            Err(e) => {
                let why = format!("the tenant's relay: {e:#}");
                let until = self.relays.failed(&relay, msg.channel, &why, now_micros());
                return SendResult::Sent {
                    outcome: Outcome::RelayDown(why),
                    provider: "none".into(),
                    receipt_window: None,
                    relay_paused_until: Some(until),
                };
            }
        };
        let adapter = adapters.get(msg.channel);
        self.rates.acquire(msg.channel, adapter.provider()).await;
        let outcome = adapter.send(msg).await;
        let relay_paused_until = match &outcome {
            Outcome::RelayDown(why) => {
                Some(self.relays.failed(&relay, msg.channel, why, now_micros()))
            }
            Outcome::Sent { .. } | Outcome::HandedOff { .. } => {
                self.relays.succeeded(&relay);
                None
            }
            Outcome::Transient(_) | Outcome::Permanent(_) => None,
        };
        SendResult::Sent {
            outcome,
            provider: adapter.provider().to_owned(),
            receipt_window: adapter
                .has_receipts()
                .then(|| self.channels.receipt_timeout(msg.channel))
                .flatten(),
            relay_paused_until,
        }
    }

    /// Claims and composes rows ahead of the senders until `stop`; returns the rows
    /// it held when the senders stopped taking them.
    async fn feed(
        self: Arc<Self>,
        jobs: mpsc::Sender<Job>,
        mut stop: watch::Receiver<bool>,
    ) -> Vec<Claimed> {
        while !*stop.borrow() {
            let claimed = match self.claim().await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(error = %e, "dispatch worker could not claim rows");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.options.idle) => {}
                    _ = self.bell.rung() => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
                continue;
            }
            let mut composed = self.compose(claimed).await.into_iter();
            while let Some(job) = composed.next() {
                if let Err(refused) = jobs.send(job).await {
                    return std::iter::once(refused.0)
                        .chain(composed)
                        .map(|j| j.claimed)
                        .collect();
                }
            }
        }
        Vec::new()
    }

    async fn claim(&self) -> AppResult<Vec<Claimed>> {
        let started = std::time::Instant::now();
        let (name, batch) = (self.options.name.clone(), self.options.batch);
        let claimed = self
            .db
            .write(move |conn| queue::claim(conn, &name, now_micros(), batch))
            .await?;
        self.hold(claimed.iter().map(|c| c.id.clone()));
        tracing::debug!(
            rows = claimed.len(),
            claim_ms = started.elapsed().as_millis() as u64,
            "rows claimed"
        );
        Ok(claimed)
    }

    /// Composes claimed rows dispatch by dispatch; rows the send window holds back go
    /// back to the queue until it opens.
    async fn compose(&self, claimed: Vec<Claimed>) -> Vec<Job> {
        let started = std::time::Instant::now();
        let (service, shapes) = (self.service.clone(), self.shapes.clone());
        let composed = self
            .db
            .read(move |conn| compose_rows(conn, service, &shapes, claimed))
            .await;
        let (jobs, held_back) = match composed {
            Ok(parts) => parts,
            Err(e) => {
                tracing::error!(error = %e, "dispatch worker could not compose messages");
                return Vec::new(); // the leases expire and the rows are claimed again
            }
        };
        if !held_back.is_empty() {
            let ids: Vec<String> = held_back.iter().map(|(id, _)| id.clone()).collect();
            let name = self.options.name.clone();
            match self
                .db
                .write(move |conn| queue::put_back(conn, &name, &held_back, PutBack::Window))
                .await
            {
                Ok(_) => self.release(&ids),
                Err(e) => tracing::error!(error = %e, "could not hold rows for the send window"),
            }
        }
        let jobs = self.prepare(jobs).await;
        tracing::debug!(
            rows = jobs.len(),
            compose_ms = started.elapsed().as_millis() as u64,
            "messages composed"
        );
        jobs
    }

    /// Lets each job's adapter do its CPU work (formatting an e-mail) on a blocking
    /// thread, so that the thread talking to relays answers them without delay.
    async fn prepare(&self, mut jobs: Vec<Job>) -> Vec<Job> {
        let adapters = self.adapters.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            for job in &mut jobs {
                if let (Ok(msg), Ok(tenant)) = (&mut job.message, adapters.for_tenant(&job.tenant))
                {
                    tenant.get(msg.channel).prepare(msg);
                }
            }
            jobs
        })
        .await;
        prepared.unwrap_or_else(|e| {
            tracing::error!(error = %e, "dispatch worker could not prepare messages");
            Vec::new() // the leases expire and the rows are claimed again
        })
    }

    /// Writes results as they come, a group at a time.
    async fn record(self: Arc<Self>, mut done: mpsc::UnboundedReceiver<Done>) {
        let most = (self.options.concurrency / 2).max(1);
        let mut group: Vec<Done> = Vec::with_capacity(most);
        loop {
            if group.is_empty() {
                match done.recv().await {
                    Some(d) => group.push(d),
                    None => break,
                }
            }
            let deadline = tokio::time::Instant::now() + self.options.flush_every;
            while group.len() < most && !self.all_in_hand(group.len()) {
                tokio::select! {
                    d = done.recv() => match d {
                        Some(d) => group.push(d),
                        None => break,
                    },
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            self.flush(std::mem::take(&mut group)).await;
            if done.is_closed() && done.is_empty() {
                break;
            }
        }
        if !group.is_empty() {
            self.flush(group).await;
        }
    }

    /// Whether a group of `gathered` results holds every send not yet recorded:
    /// then no result is worth waiting for (the last sends of a dispatch, a slow
    /// channel), and the group is committed at once.
    fn all_in_hand(&self, gathered: usize) -> bool {
        self.slots.available_permits() + gathered >= self.options.concurrency
    }

    /// Commits one group of results (and any relay pauses) in one transaction,
    /// retrying a few times; only then are the rows and slots let go.
    async fn flush(&self, group: Vec<Done>) {
        let started = std::time::Instant::now();
        let now = now_micros();
        let (results, untried) = self.dispositions(&group, now);
        let changes = self.relays.take_changes();
        let ids: Vec<String> = group.iter().map(|d| d.claimed.id.clone()).collect();
        for attempt in 1..=5u32 {
            let (results, untried, changes) = (results.clone(), untried.clone(), changes.clone());
            let name = self.options.name.clone();
            let written = self
                .db
                .write(move |conn| {
                    for change in &changes {
                        match change {
                            RelayChange::Paused(p) => relays::pause(conn, p, now)?,
                            RelayChange::Resumed(relay) => relays::resume(conn, relay)?,
                        }
                    }
                    for why in [PutBack::Shutdown, PutBack::RelayPaused] {
                        let rows: Vec<(String, NaiveDateTime)> = untried
                            .iter()
                            .filter(|(_, _, w)| *w == why)
                            .map(|(id, until, _)| (id.clone(), *until))
                            .collect();
                        queue::put_back(conn, &name, &rows, why)?;
                    }
                    delivery::record(conn, &name, &results, now)
                })
                .await;
            match written {
                Ok(_) => break,
                Err(e) if attempt < 5 => {
                    tracing::warn!(error = %e, attempt, "recording results failed, retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) => tracing::error!(
                    error = %e,
                    rows = ids.len(),
                    "results could not be recorded: the rows are sent again after their lease"
                ),
            }
        }
        self.release(&ids);
        tracing::debug!(
            rows = ids.len(),
            record_ms = started.elapsed().as_millis() as u64,
            "results recorded"
        );
        drop(group); // frees the senders' slots
    }

    /// How each result is recorded, and the rows that go back untried.
    fn dispositions(&self, group: &[Done], now: NaiveDateTime) -> Dispositions {
        let mut rng = rand::rng();
        let mut results: Vec<(Claimed, Disposition)> = Vec::with_capacity(group.len());
        let mut untried: Vec<(String, NaiveDateTime, PutBack)> = Vec::new();
        for d in group {
            match &d.result {
                SendResult::Sent {
                    outcome,
                    provider,
                    receipt_window,
                    relay_paused_until,
                } => {
                    let report = SendReport {
                        outcome,
                        provider,
                        attempt: d.claimed.attempts.max(1) as u32,
                        queued_at: d.claimed.queued_at,
                        receipt_window: *receipt_window,
                        relay_paused_until: *relay_paused_until,
                    };
                    let policy = RetryPolicy::for_channel(&self.channels, d.claimed.channel);
                    results.push((d.claimed.clone(), dispose(&report, &policy, now, &mut rng)));
                }
                SendResult::Untried(until, why) => {
                    untried.push((d.claimed.id.clone(), *until, *why));
                }
            }
        }
        (results, untried)
    }

    /// One round without the pipeline, for tests, benchmarks and tools: upkeep,
    /// then one claimed batch composed, sent and recorded with the same steps as
    /// [`Worker::run`]; returns how many rows it handled (receipts expired included).
    /// Reminders are not part of it: [`Worker::remind_once`] runs them.
    pub async fn run_once(&self) -> AppResult<usize> {
        use futures_util::StreamExt;
        let expired = self.upkeep_once().await?;
        let claimed = self.claim().await?;
        let handled = claimed.len();
        let jobs = self.compose(claimed).await;
        let done: Vec<Done> = futures_util::stream::iter(jobs)
            .map(|job| async move {
                let result = self.send_one(&job).await;
                Done {
                    claimed: job.claimed,
                    result,
                    _slot: None,
                }
            })
            .buffer_unordered(self.options.concurrency)
            .collect()
            .await;
        self.flush(done).await;
        Ok(expired + handled)
    }

    /// Renews leases, takes back expired ones and expires overdue receipts, every
    /// third of a lease, until `stop`.
    async fn upkeep(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let every = (self.options.lease / 3).max(Duration::from_millis(200));
        let mut reminded: Option<std::time::Instant> = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            if let Err(e) = self.upkeep_once().await {
                tracing::error!(error = %e, "dispatch worker upkeep failed");
            }
            if reminded.is_none_or(|at| at.elapsed() >= REMIND_EVERY) {
                reminded = Some(std::time::Instant::now());
                if let Err(e) = self.remind_once().await {
                    tracing::error!(error = %e, "reminders failed");
                }
            }
        }
    }

    /// One round of reminders at the worker's clock: claims the reminders due and
    /// queues their messages, then sends the team's queued messages; returns how
    /// many reminders were claimed plus how many messages were tried.
    pub async fn remind_once(&self) -> AppResult<usize> {
        let now = (self.clock)();
        let claimed = reminders::schedule(&self.db, now, &self.service.public_url).await?;
        let sent = reminders::send_team_messages(
            &self.db,
            &self.adapters,
            &self.rates,
            &self.options.name,
            now,
            self.options.batch,
        )
        .await?;
        Ok(claimed + sent)
    }

    /// One round of upkeep; returns how many receipts it expired.
    pub async fn upkeep_once(&self) -> AppResult<usize> {
        let held: Vec<String> = self.held().into_iter().collect();
        let (name, lease, batch) = (
            self.options.name.clone(),
            self.options.lease,
            self.options.batch,
        );
        self.db
            .write(move |conn| {
                let now = now_micros();
                queue::renew(conn, &name, &held, now)?;
                queue::reclaim_expired(conn, now, lease)?;
                delivery::expire_receipts(conn, now, batch)
            })
            .await
    }

    fn hold(&self, ids: impl Iterator<Item = String>) {
        lock(&self.held).extend(ids);
    }

    fn release(&self, ids: &[String]) {
        let mut held = lock(&self.held);
        for id in ids {
            held.remove(id);
        }
    }

    fn held(&self) -> HashSet<String> {
        lock(&self.held).clone()
    }
}

/// The sends in flight, and the row each is for (to put back when aborted).
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<()>,
    rows: HashMap<tokio::task::Id, Claimed>,
}

impl InFlight {
    /// A task ended (or was aborted): its row is no longer this set's concern.
    fn forget(&mut self, finished: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match finished {
            Ok((id, ())) => id,
            Err(e) if e.is_cancelled() => return, // aborted: its row is put back by `stop`
            Err(e) => e.id(),
        };
        self.rows.remove(&id);
    }
}

/// Results to record, and rows to put back untried (until when, and why).
type Dispositions = (
    Vec<(Claimed, Disposition)>,
    Vec<(String, NaiveDateTime, PutBack)>,
);

/// Rows to send, and rows the send window holds back (with its next opening).
type Composed = (Vec<Job>, Vec<(String, NaiveDateTime)>);

/// Dispatches whose prepared notices a worker keeps at most (a worker sends few at
/// once; the oldest are simply prepared again).
const SHAPES_KEPT: usize = 32;

/// Composes claimed rows (grouped by dispatch) into messages, with the notices
/// earlier batches of the same dispatch prepared.
fn compose_rows(
    conn: &mut crate::db::DbConnection,
    service: Arc<NoticeService>,
    shapes: &Mutex<HashMap<String, Shapes>>,
    claimed: Vec<Claimed>,
) -> AppResult<Composed> {
    let mut by_dispatch: HashMap<String, Vec<Claimed>> = HashMap::new();
    for c in claimed {
        by_dispatch
            .entry(c.dispatch_id.clone())
            .or_default()
            .push(c);
    }
    let now = now_micros();
    let (mut jobs, mut held_back) = (Vec::new(), Vec::new());
    for (dispatch_id, rows) in by_dispatch {
        let messages = DispatchMessages::load(conn, service.clone(), &dispatch_id)?;
        let (people, masks) = messages.people(conn, &rows)?;
        let prepared = lock(shapes).remove(&dispatch_id).unwrap_or_default();
        let mut renderer = messages.renderer_resuming(prepared);
        let tenant: Arc<str> = messages.tenant_slug().into();
        let (from, reply_to) = messages.sender();
        let sender = Sender {
            from: from.unwrap_or_default(),
            reply_to,
            sms_from: None,
        };
        for claimed in rows {
            let window = messages
                .send_window()
                .filter(|_| claimed.window != WindowHold::Released);
            if let Some(until) = window.and_then(|w| w.held_until(claimed.channel, now)) {
                held_back.push((claimed.id.clone(), until));
                continue;
            }
            let message = people
                .get(&claimed.external_id)
                .ok_or_else(|| "the person is not in the dispatch".to_owned())
                .and_then(|person| {
                    let mask = masks.get(&claimed.external_id).copied().unwrap_or(0);
                    messages
                        .compose(&mut renderer, &claimed, person, mask)
                        .map_err(|e| e.to_string())
                })
                .map(|m| Outgoing {
                    message_id: format!("<{}@breachline>", claimed.id),
                    channel: claimed.channel,
                    to: claimed.address.clone(),
                    to_name: m.to_name,
                    subject: m.subject,
                    text: m.text,
                    html: m.html,
                    link: Some(m.link),
                    locale: m.locale,
                    sender: sender.clone(),
                    batch: Some(dispatch_id.clone()),
                    formatted: None,
                });
            if let Err(why) = &message {
                tracing::error!(outbox.id = %claimed.id, error = %why, "cannot compose notice");
            }
            jobs.push(Job {
                claimed,
                message,
                tenant: tenant.clone(),
            });
        }
        let mut kept = lock(shapes);
        if kept.len() >= SHAPES_KEPT {
            kept.clear();
        }
        kept.insert(dispatch_id, renderer.into_shapes());
    }
    Ok((jobs, held_back))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
