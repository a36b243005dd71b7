//! The delivery life cycle of an approved dispatch: every write that moves a person
//! or a message on, as one function per transition (docs/ARCHITECTURE.md has the
//! state diagram).
//!
//! - [`enqueue_first_channels`]: approval queues each reachable person's first channel.
//! - [`record`]: what sends came to (sent, handed off, retry, relay deferral, failure),
//!   a group of results in one transaction with one statement per kind of write.
//! - [`record_receipt`] and [`expire_receipts`]: a provider's (or call centre's, or
//!   the post's) final word, or its absence in time.
//! - [`next_channel`]: a failure about the person moves them to their next channel,
//!   or marks them unreachable.
//! - [`cover`]: a published bulletin covers the unreachable (`store::coverage` decides
//!   whom, when a bulletin is approved and when a dispatch completes while one is live).
//! - [`complete_if_done`]: a dispatch with nothing left to send completes, and meets
//!   the obligations to notify people whose every person was told.
//!
//! The queue's leases (claim, renew, put back) are `store::outbox`.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::dispatches::{self, DispatchRow};
use super::outbox::{self as queue, Claimed};
use super::{from_json_text, new_id, obligations, tenants, word};
use crate::audit::{self, AuditEvent};
use crate::db::DbConnection;
use crate::db::schema::{
    affected_subjects, delivery_attempts, dispatch_recipients, obligations as obligations_table,
    outbox,
};
use crate::domain::{
    AttemptResult, Channel, DispatchStatus, Jurisdiction, MessageRef, ObligationStatus,
    OutboxStatus, Receipt, RecipientState, now_micros,
};
use crate::error::{AppError, AppResult};
use crate::notices::plan::Route;

/// What the worker decided one claimed row's send came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// The provider accepted it; a receipt is due by `receipt_due_at` if it sends them.
    Sent {
        /// Provider name.
        provider: String,
        /// The provider's id for the message.
        provider_id: Option<String>,
        /// When a missing receipt counts as a failure.
        receipt_due_at: Option<NaiveDateTime>,
    },
    /// Written for someone else to deliver (file outbox, print batch, call list).
    HandedOff {
        /// Provider name.
        provider: String,
        /// Where it was written.
        location: String,
    },
    /// A failure about this person that may pass (a full mailbox): try again at
    /// `run_at`; the attempt counts.
    Retry {
        /// Provider name.
        provider: String,
        /// When to try again.
        run_at: NaiveDateTime,
        /// What the provider said.
        detail: String,
    },
    /// The relay failed as a whole (down, silent, throttling): try again at `run_at`;
    /// the attempt does not count against the person.
    RelayDeferred {
        /// Provider name.
        provider: String,
        /// When the relay is tried again.
        run_at: NaiveDateTime,
        /// What the relay did.
        detail: String,
    },
    /// This channel cannot reach the person (refused for good, or the retry window
    /// passed): move them to their next channel.
    Failed {
        /// Provider name.
        provider: String,
        /// Why.
        detail: String,
    },
}

impl Disposition {
    /// The message's status after this result.
    fn status(&self) -> OutboxStatus {
        match self {
            Disposition::Sent { .. } => OutboxStatus::Sent,
            Disposition::HandedOff { .. } => OutboxStatus::HandedOff,
            Disposition::Retry { .. } | Disposition::RelayDeferred { .. } => OutboxStatus::Queued,
            Disposition::Failed { .. } => OutboxStatus::Failed,
        }
    }

    /// The ledger line it writes.
    fn ledger(&self) -> AttemptResult {
        match self {
            Disposition::Sent { .. } => AttemptResult::Sent,
            Disposition::HandedOff { .. } => AttemptResult::HandedOff,
            Disposition::Retry { .. } => AttemptResult::Retry,
            Disposition::RelayDeferred { .. } => AttemptResult::RelayDeferred,
            Disposition::Failed { .. } => AttemptResult::Failed,
        }
    }

    /// The person's state after this result, when it changes.
    fn person(&self) -> Option<RecipientState> {
        match self {
            Disposition::Sent { .. } => Some(RecipientState::Sent),
            Disposition::HandedOff { .. } => Some(RecipientState::HandedOff),
            _ => None,
        }
    }

    fn provider(&self) -> &str {
        match self {
            Disposition::Sent { provider, .. }
            | Disposition::HandedOff { provider, .. }
            | Disposition::Retry { provider, .. }
            | Disposition::RelayDeferred { provider, .. }
            | Disposition::Failed { provider, .. } => provider,
        }
    }

    fn provider_id(&self) -> Option<&str> {
        match self {
            Disposition::Sent { provider_id, .. } => provider_id.as_deref(),
            _ => None,
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Disposition::Sent { .. } => None,
            Disposition::HandedOff { location, .. } => Some(location),
            Disposition::Retry { detail, .. }
            | Disposition::RelayDeferred { detail, .. }
            | Disposition::Failed { detail, .. } => Some(detail),
        }
    }

    fn run_at(&self, now: NaiveDateTime) -> NaiveDateTime {
        match self {
            Disposition::Retry { run_at, .. } | Disposition::RelayDeferred { run_at, .. } => {
                *run_at
            }
            _ => now,
        }
    }

    fn receipt_due_at(&self) -> Option<NaiveDateTime> {
        match self {
            Disposition::Sent { receipt_due_at, .. } => *receipt_due_at,
            _ => None,
        }
    }

    /// Relay deferrals give the attempt back.
    fn counts(&self) -> bool {
        !matches!(self, Disposition::RelayDeferred { .. })
    }
}

/// A line of the ledger (`delivery_attempts`).
#[derive(Insertable)]
#[diesel(table_name = delivery_attempts, treat_none_as_default_value = false)]
struct NewAttempt<'a> {
    id: String,
    outbox_id: &'a str,
    at: NaiveDateTime,
    result: &'static str,
    provider: Option<&'a str>,
    provider_id: Option<&'a str>,
    detail: Option<&'a str>,
}

impl<'a> NewAttempt<'a> {
    fn new(outbox_id: &'a str, at: NaiveDateTime, result: AttemptResult) -> Self {
        Self {
            id: new_id(),
            outbox_id,
            at,
            result: result.as_str(),
            provider: None,
            provider_id: None,
            detail: None,
        }
    }
}

/// Writes ledger lines, many rows per statement (7 columns: 1,000 rows stay under
/// both backends' bind-parameter limits).
fn insert_ledger(conn: &mut DbConnection, lines: &[NewAttempt<'_>]) -> AppResult<()> {
    for chunk in lines.chunks(1_000) {
        super::with_backend!(conn, c => diesel::insert_into(delivery_attempts::table)
            .values(chunk)
            .execute(c)?);
    }
    Ok(())
}

/// Records what sends came to, in the caller's transaction: one statement updates
/// every row this worker still holds, one writes their ledger lines, one per state
/// sets the people's states; failures move people to their next channel, and
/// dispatches with nothing left complete. A row whose lease another worker took
/// over is skipped (its result is that worker's to write). Returns how many rows
/// were recorded.
///
/// On PostgreSQL the transaction commits asynchronously (`synchronous_commit = off`,
/// as SQLite's `synchronous = NORMAL` does in WAL mode): a commit does not wait for
/// the disk, which would otherwise bound a worker to a few hundred messages a second.
/// Only a crash of the database server itself can lose the last fraction of a
/// second of results; their rows then revert to `sending` and are sent again after
/// the lease — a duplicate, never a person lost.
pub fn record(
    conn: &mut DbConnection,
    worker: &str,
    results: &[(Claimed, Disposition)],
    now: NaiveDateTime,
) -> AppResult<usize> {
    if let DbConnection::Postgres(c) = conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute("SET LOCAL synchronous_commit = off")?;
    }
    let held: HashSet<String> = update_rows(conn, worker, results, now)?
        .into_iter()
        .collect();
    let recorded: Vec<&(Claimed, Disposition)> = results
        .iter()
        .filter(|(c, _)| held.contains(&c.id))
        .collect();
    let lines: Vec<NewAttempt<'_>> = recorded
        .iter()
        .map(|(c, d)| NewAttempt {
            provider: Some(d.provider()),
            provider_id: d.provider_id(),
            detail: d.detail(),
            ..NewAttempt::new(&c.id, now, d.ledger())
        })
        .collect();
    insert_ledger(conn, &lines)?;
    let mut states: BTreeMap<(&str, RecipientState), Vec<&str>> = BTreeMap::new();
    for (c, d) in &recorded {
        if let Some(state) = d.person() {
            states
                .entry((c.dispatch_id.as_str(), state))
                .or_default()
                .push(c.external_id.as_str());
        }
    }
    for ((dispatch_id, state), people) in states {
        set_people_state(conn, dispatch_id, &people, state, now)?;
    }
    for (c, d) in &recorded {
        if matches!(d, Disposition::Failed { .. }) {
            next_channel(conn, (&c.dispatch_id, &c.external_id), now)?;
        }
    }
    let touched: HashSet<&str> = recorded
        .iter()
        .map(|(c, _)| c.dispatch_id.as_str())
        .collect();
    for dispatch_id in touched {
        complete_if_done(conn, dispatch_id)?;
    }
    Ok(recorded.len())
}

/// The change a result makes to its outbox row, apart from the row's id: rows
/// whose changes are equal are updated by one statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RowChange {
    status: OutboxStatus,
    run_at: NaiveDateTime,
    provider: String,
    provider_id: Option<String>,
    last_error: Option<String>,
    receipt_due_at: Option<NaiveDateTime>,
    uncount: i32,
}

impl RowChange {
    fn of(d: &Disposition, now: NaiveDateTime) -> Self {
        Self {
            status: d.status(),
            run_at: d.run_at(now),
            provider: d.provider().to_owned(),
            provider_id: d.provider_id().map(str::to_owned),
            last_error: match d {
                Disposition::Sent { .. } | Disposition::HandedOff { .. } => None,
                _ => d.detail().map(str::to_owned),
            },
            receipt_due_at: d.receipt_due_at(),
            uncount: i32::from(!d.counts()),
        }
    }
}

/// Updates the rows `worker` still holds, one statement per group of equal
/// changes (a batch of e-mails accepted by one relay is one statement); returns
/// the ids updated.
fn update_rows(
    conn: &mut DbConnection,
    worker: &str,
    results: &[(Claimed, Disposition)],
    now: NaiveDateTime,
) -> AppResult<Vec<String>> {
    let mut groups: HashMap<RowChange, Vec<&str>> = HashMap::new();
    for (c, d) in results {
        groups.entry(RowChange::of(d, now)).or_default().push(&c.id);
    }
    let mut updated = Vec::with_capacity(results.len());
    for (change, ids) in groups {
        for chunk in ids.chunks(1_000) {
            let query = diesel::update(
                outbox::table
                    .filter(outbox::id.eq_any(chunk))
                    .filter(outbox::locked_by.eq(worker))
                    .filter(super::outbox::still_sending()),
            )
            .set((
                outbox::status.eq(change.status.as_str()),
                outbox::run_at.eq(change.run_at),
                outbox::locked_at.eq(None::<NaiveDateTime>),
                outbox::locked_by.eq(None::<String>),
                outbox::provider.eq(&change.provider),
                outbox::provider_id.eq(&change.provider_id),
                outbox::last_error.eq(&change.last_error),
                outbox::receipt_due_at.eq(change.receipt_due_at),
                outbox::attempts.eq(outbox::attempts - change.uncount),
                outbox::updated_at.eq(now),
            ))
            .returning(outbox::id);
            let ids: Vec<String> = super::with_backend!(conn, c => query.get_results(c)?);
            updated.extend(ids);
        }
    }
    Ok(updated)
}

/// Sets the state of some people of one dispatch.
fn set_people_state(
    conn: &mut DbConnection,
    dispatch_id: &str,
    people: &[&str],
    state: RecipientState,
    now: NaiveDateTime,
) -> AppResult<()> {
    for chunk in people.chunks(1_000) {
        diesel::update(
            dispatch_recipients::table
                .filter(dispatch_recipients::dispatch_id.eq(dispatch_id))
                .filter(dispatch_recipients::external_id.eq_any(chunk)),
        )
        .set((
            dispatch_recipients::state.eq(state.as_str()),
            dispatch_recipients::updated_at.eq(now),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// A person of a dispatch: (dispatch id, external id).
pub type PersonKey<'a> = (&'a str, &'a str);

/// Moves a person to their next planned channel (a new queued message), or marks
/// them unreachable when none is left.
pub fn next_channel(
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
            insert_messages(
                conn,
                &[NewMessage::queued(&dispatch, external_id, route, now)],
            )?;
            diesel::update(dispatch_recipients::table.find(person))
                .set((
                    dispatch_recipients::next_channel.eq(next),
                    dispatch_recipients::state.eq(RecipientState::Queued.as_str()),
                    dispatch_recipients::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        None => set_people_state(
            conn,
            dispatch_id,
            &[external_id],
            RecipientState::Unreachable,
            now,
        )?,
    }
    Ok(())
}

/// A new outbox message.
#[derive(Insertable)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
struct NewMessage {
    id: String,
    tenant_id: String,
    dispatch_id: String,
    external_id: String,
    channel: &'static str,
    address: String,
    status: &'static str,
    run_at: NaiveDateTime,
    attempts: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl NewMessage {
    /// A queued message on `route` for one person.
    fn queued(d: &DispatchRow, external_id: &str, route: &Route, now: NaiveDateTime) -> Self {
        Self {
            id: new_id(),
            tenant_id: d.tenant_id.clone(),
            dispatch_id: d.id.clone(),
            external_id: external_id.to_owned(),
            channel: route.channel.as_str(),
            address: route.address.clone(),
            status: OutboxStatus::Queued.as_str(),
            run_at: now,
            attempts: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Inserts messages in multi-row statements.
fn insert_messages(conn: &mut DbConnection, rows: &[NewMessage]) -> AppResult<()> {
    for chunk in rows.chunks(500) {
        let query = diesel::insert_into(outbox::table).values(chunk);
        super::with_backend!(conn, c => query.execute(c)?);
    }
    Ok(())
}

const ENQUEUE_PAGE: i64 = 2_000;

/// Approval: queues every pending person's first channel and stores the hash of
/// their notice-page token.
pub fn enqueue_first_channels(conn: &mut DbConnection, row: &DispatchRow) -> AppResult<()> {
    let mut after = String::new();
    let now = now_micros();
    loop {
        let people: Vec<(String, String)> = dispatch_recipients::table
            .filter(dispatch_recipients::dispatch_id.eq(&row.id))
            .filter(dispatch_recipients::state.eq(RecipientState::Pending.as_str()))
            .filter(dispatch_recipients::external_id.gt(&after))
            .order(dispatch_recipients::external_id)
            .select((
                dispatch_recipients::external_id,
                dispatch_recipients::channels,
            ))
            .limit(ENQUEUE_PAGE)
            .load(conn)?;
        let Some(last) = people.last() else { break };
        after = last.0.clone();
        let mut rows = Vec::with_capacity(people.len());
        let mut links = Vec::with_capacity(people.len());
        for (external_id, channels) in &people {
            let routes: Vec<Route> = from_json_text(channels)?;
            let first = routes.first().ok_or_else(|| {
                AppError::Unexpected(anyhow::anyhow!("a pending person has no channel"))
            })?;
            rows.push(NewMessage::queued(row, external_id, first, now));
            let token = dispatches::link_token(row, external_id)?;
            links.push((external_id.as_str(), dispatches::token_hash(&token)));
        }
        mark_queued(conn, &row.id, &links)?;
        insert_messages(conn, &rows)?;
    }
    Ok(())
}

/// Marks people of a dispatch queued, each with the hash of their notice-page
/// token, in one statement per chunk (one `UPDATE` per person cost a round trip
/// each on PostgreSQL).
fn mark_queued(
    conn: &mut DbConnection,
    dispatch_id: &str,
    links: &[(&str, String)],
) -> AppResult<()> {
    use super::sql::{Bind, Statement};
    // SQLite parses a long VALUES list slower per row: 200 rows a statement is
    // about a third faster than 1,000.
    for chunk in links.chunks(200) {
        let mut st = Statement::new();
        st.push("UPDATE dispatch_recipients SET state = ");
        let queued = st.bind(Bind::Text(RecipientState::Queued.as_str().to_owned()));
        st.push(&queued);
        st.push(
            ", link_token_hash = v.hash FROM (SELECT column1 AS id, column2 AS hash FROM (VALUES ",
        );
        for (i, (external_id, hash)) in chunk.iter().enumerate() {
            if i > 0 {
                st.push(", ");
            }
            let id = st.bind(Bind::Text((*external_id).to_owned()));
            let hash = st.bind(Bind::Text(hash.clone()));
            st.push(&format!("({id}, {hash})"));
        }
        st.push(") AS vals) AS v WHERE dispatch_recipients.dispatch_id = ");
        let dispatch = st.bind(Bind::Text(dispatch_id.to_owned()));
        st.push(&dispatch);
        st.push(" AND dispatch_recipients.external_id = v.id");
        st.execute(conn)?;
    }
    Ok(())
}

/// How the evidence of obligations a dispatch met begins: `dispatch <id>:`.
pub fn evidence_prefix(dispatch_id: &str) -> String {
    format!("dispatch {dispatch_id}:")
}

/// Completes a dispatch once nothing is queued or in flight, and meets the open
/// obligations to notify people of whom nobody is left unreachable. A completed
/// dispatch reopens when a late bounce or an overdue receipt sends someone to their
/// next channel; it completes again (and is audited) after.
pub fn complete_if_done(conn: &mut DbConnection, dispatch_id: &str) -> AppResult<()> {
    // Naming every channel lets SQLite seek `outbox_dispatch_progress` (dispatch,
    // channel, status) instead of walking the dispatch's rows.
    let pending = outbox::table
        .filter(outbox::dispatch_id.eq(dispatch_id))
        .filter(outbox::channel.eq_any(Channel::ALL.iter().map(|c| c.as_str())))
        .filter(outbox::status.eq_any([
            OutboxStatus::Queued.as_str(),
            OutboxStatus::Sending.as_str(),
        ]))
        .select(outbox::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    let row = dispatches::by_id(conn, dispatch_id)?;
    match (pending, row.status) {
        (true, DispatchStatus::Approved | DispatchStatus::Completed) => {
            dispatches::set_status(conn, dispatch_id, DispatchStatus::Sending)
        }
        (false, DispatchStatus::Approved | DispatchStatus::Sending) => complete(conn, &row),
        _ => Ok(()),
    }
}

fn complete(conn: &mut DbConnection, row: &DispatchRow) -> AppResult<()> {
    dispatches::set_status(conn, &row.id, DispatchStatus::Completed)?;
    let coverage = super::coverage::apply(conn, &row.tenant_id, &row.incident_id)?;
    let people = dispatches::people_counts(conn, &row.id)?;
    let count = |s: RecipientState| people.get(&s).copied().unwrap_or(0);
    let evidence = format!(
        "{} {} sent, {} delivered, {} handed off, {} unreachable, {} covered by a public bulletin",
        evidence_prefix(&row.id),
        count(RecipientState::Sent),
        count(RecipientState::Delivered),
        count(RecipientState::HandedOff),
        count(RecipientState::Unreachable),
        count(RecipientState::Covered),
    );
    let outcome = meet_obligations(conn, row, &evidence)?;
    audit::append(
        conn,
        &row.tenant_id,
        AuditEvent {
            actor: "worker".into(),
            action: "dispatch.complete",
            target: format!("dispatch:{}", row.id),
            details: json!({
                "incident": row.incident_id,
                "people": people.iter().map(|(s, n)| (s.as_str(), *n)).collect::<BTreeMap<_, _>>(),
                "evidence": evidence,
                "obligations_met": outcome.met,
                "obligations_open": outcome.open,
                "bulletin": coverage,
            }),
        },
    )
}

/// Which obligations a completed dispatch met and which stay open.
struct MeetOutcome {
    met: Vec<String>,
    open: Vec<String>,
}

/// Marks each open obligation to notify people met when none of the people it is
/// about is unreachable; otherwise leaves it open with a note saying how many are
/// not yet covered (a published bulletin may cover them later).
fn meet_obligations(
    conn: &mut DbConnection,
    row: &DispatchRow,
    evidence: &str,
) -> AppResult<MeetOutcome> {
    let tenant = tenants::get(conn, &row.tenant_id)?;
    let establishments: Vec<Jurisdiction> = from_json_text::<Vec<String>>(&tenant.establishments)?
        .iter()
        .map(|c| Jurisdiction::parse(c))
        .collect::<Result<_, _>>()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("stored establishment: {e}")))?;
    let unreachable = unreachable_by_jurisdiction(conn, row)?;
    let now = now_micros();
    let mut outcome = MeetOutcome {
        met: Vec::new(),
        open: Vec::new(),
    };
    for o in obligations::list(conn, &row.tenant_id, &row.incident_id)? {
        if o.recipient != "subjects" || !o.is_open() {
            continue;
        }
        let scope = crate::regimes::people_of(&o.regime, &establishments)
            .map_err(|e| AppError::Unexpected(e.into()))?;
        let left: i64 = unreachable
            .iter()
            .filter(|(j, _)| match &scope {
                None => true,
                Some(codes) => j
                    .as_ref()
                    .is_some_and(|j| codes.iter().any(|c| c.as_str() == j)),
            })
            .map(|(_, n)| n)
            .sum();
        if left == 0 {
            meet_obligation(conn, &o.id, evidence, now)?;
            outcome.met.push(o.id);
        } else {
            let people = if left == 1 {
                "1 person".to_owned()
            } else {
                format!("{left} people")
            };
            let note = format!(
                "{people} could not be reached by dispatch {} and {} not yet covered by a public bulletin",
                row.id,
                if left == 1 { "is" } else { "are" }
            );
            diesel::update(obligations_table::table.find(&o.id))
                .set((
                    obligations_table::status_note.eq(note),
                    obligations_table::updated_at.eq(now),
                ))
                .execute(conn)?;
            outcome.open.push(o.id);
        }
    }
    Ok(outcome)
}

/// Marks one obligation met by delivery, with its evidence.
pub fn meet_obligation(
    conn: &mut DbConnection,
    obligation_id: &str,
    evidence: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(obligations_table::table.find(obligation_id))
        .set((
            obligations_table::status.eq(ObligationStatus::Met.as_str()),
            obligations_table::met_at.eq(now),
            obligations_table::evidence.eq(evidence),
            obligations_table::resolved_by.eq("dispatch"),
            obligations_table::status_note.eq(None::<String>),
            obligations_table::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The dispatch's unreachable (not covered) people, by jurisdiction (`None` when
/// the registry has none for them).
pub fn unreachable_by_jurisdiction(
    conn: &mut DbConnection,
    row: &DispatchRow,
) -> AppResult<Vec<(Option<String>, i64)>> {
    let set_id = super::affected::current_set(conn, &row.incident_id)?;
    let people: Vec<String> = dispatch_recipients::table
        .filter(dispatch_recipients::dispatch_id.eq(&row.id))
        .filter(dispatch_recipients::state.eq(RecipientState::Unreachable.as_str()))
        .select(dispatch_recipients::external_id)
        .load(conn)?;
    let mut counts: BTreeMap<Option<String>, i64> = BTreeMap::new();
    for chunk in people.chunks(1_000) {
        let found: Vec<(String, Option<String>)> = affected_subjects::table
            .filter(affected_subjects::set_id.nullable().eq(set_id))
            .filter(affected_subjects::external_id.eq_any(chunk))
            .select((
                affected_subjects::external_id,
                affected_subjects::jurisdiction,
            ))
            .load(conn)?;
        let known: HashMap<String, Option<String>> = found.into_iter().collect();
        for id in chunk {
            *counts.entry(known.get(id).cloned().flatten()).or_default() += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

/// Covers all the incident's unreachable people with a published bulletin
/// (`covered_by`: `bulletin <id> v<n>`); returns how many. `store::coverage` covers
/// only the jurisdictions the bulletin stands in for.
pub fn cover(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    covered_by: &str,
) -> AppResult<usize> {
    super::coverage::cover_people(
        conn,
        (tenant_id, incident_id),
        covered_by,
        None,
        now_micros(),
    )
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

fn find_target(
    conn: &mut DbConnection,
    message: &MessageRef,
    only: Option<(&str, Channel)>,
) -> AppResult<(ReceiptTarget, OutboxStatus)> {
    let mut query = outbox::table
        .select((
            outbox::id,
            outbox::dispatch_id,
            outbox::external_id,
            outbox::status,
            outbox::receipt_due_at,
        ))
        .into_boxed();
    if let Some((tenant_id, channel)) = only {
        query = query
            .filter(outbox::tenant_id.eq(tenant_id.to_owned()))
            .filter(outbox::channel.eq(channel.as_str()));
    }
    query = match message {
        MessageRef::ProviderId(id) => query.filter(outbox::provider_id.eq(id.clone())),
        MessageRef::MessageId(id) => query.filter(outbox::id.eq(MessageRef::row_id(id).to_owned())),
    };
    let target: ReceiptTarget = query
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("message".into()))?;
    let status = word("outbox status", &target.status)?;
    Ok((target, status))
}

/// Records a receipt on its message: `delivered` ends the person's notice; a bounce
/// or failure moves them to their next channel. A receipt for a message that
/// already has its final word changes nothing (providers resend them), except the
/// first receipt after a receipt timeout, which is written to the ledger as late:
/// the person has already moved on. `only` limits the search to one tenant's
/// messages on one channel (reports uploaded by a tenant's call centre or print
/// provider).
pub fn record_receipt(
    conn: &mut DbConnection,
    receipt: &Receipt,
    only: Option<(&str, Channel)>,
) -> AppResult<()> {
    let (target, status) = find_target(conn, &receipt.message_ref, only)?;
    let now = now_micros();
    if status == OutboxStatus::Failed && target.receipt_due_at.is_some() {
        return record_late_receipt(conn, &target, receipt, now);
    }
    if !status.is_pending() && !matches!(status, OutboxStatus::Sent | OutboxStatus::HandedOff) {
        return Ok(()); // the message already has its final word
    }
    let new_status = receipt.status.outbox_status();
    let updated = diesel::update(
        outbox::table
            .filter(outbox::id.eq(&target.id))
            .filter(outbox::status.eq(status.as_str())),
    )
    .set((
        outbox::status.eq(new_status.as_str()),
        outbox::last_error.eq(&receipt.detail),
        outbox::receipt_due_at.eq(None::<NaiveDateTime>),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(()); // a concurrent receipt or the receipt timeout came first
    }
    insert_ledger(
        conn,
        &[NewAttempt {
            detail: receipt.detail.as_deref(),
            ..NewAttempt::new(&target.id, now, receipt.status.ledger(false))
        }],
    )?;
    let person = (target.dispatch_id.as_str(), target.external_id.as_str());
    match new_status {
        OutboxStatus::Delivered => {
            set_people_state(conn, person.0, &[person.1], RecipientState::Delivered, now)?
        }
        _ => next_channel(conn, person, now)?,
    }
    complete_if_done(conn, &target.dispatch_id)
}

/// Writes the first receipt after a timeout to the ledger, once, and changes nothing else.
fn record_late_receipt(
    conn: &mut DbConnection,
    target: &ReceiptTarget,
    receipt: &Receipt,
    now: NaiveDateTime,
) -> AppResult<()> {
    let first = diesel::update(
        outbox::table
            .filter(outbox::id.eq(&target.id))
            .filter(outbox::receipt_due_at.is_not_null()),
    )
    .set(outbox::receipt_due_at.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    if first == 1 {
        insert_ledger(
            conn,
            &[NewAttempt {
                detail: receipt.detail.as_deref(),
                ..NewAttempt::new(&target.id, now, receipt.status.ledger(true))
            }],
        )?;
    }
    Ok(())
}

/// Fails up to `limit` sent messages whose delivery receipt is overdue, like a
/// bounce: a `failed` line "no delivery receipt within N s" on the ledger and the
/// person moves to their next channel. A row a receipt or another worker finished
/// first is skipped, so nothing is enqueued twice. Returns how many.
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
                .filter(outbox::status.eq(OutboxStatus::Sent.as_str())),
        )
        .set((
            outbox::status.eq(OutboxStatus::Failed.as_str()),
            outbox::last_error.eq(&detail),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
        if failed == 0 {
            continue;
        }
        insert_ledger(
            conn,
            &[NewAttempt {
                provider: row.provider.as_deref(),
                provider_id: row.provider_id.as_deref(),
                detail: Some(&detail),
                ..NewAttempt::new(&row.id, now, AttemptResult::Failed)
            }],
        )?;
        next_channel(conn, (&row.dispatch_id, &row.external_id), now)?;
        touched.insert(row.dispatch_id);
        expired += 1;
    }
    for dispatch_id in touched {
        complete_if_done(conn, &dispatch_id)?;
    }
    Ok(expired)
}

/// A person of a dispatch as the worker and the notice page need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The dispatch.
    pub dispatch_id: String,
    /// The person.
    pub external_id: String,
    /// Person or guardian.
    pub audience: crate::domain::Audience,
    /// The addressee's name.
    pub recipient_name: Option<String>,
    /// The person whose data was involved.
    pub subject_name: Option<String>,
    /// Their notice's locale.
    pub locale: String,
    /// Postal address for letters.
    pub postal_address: Option<String>,
    /// Where they stand.
    pub state: RecipientState,
}

type RecipientColumns = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
);

fn recipient(row: RecipientColumns) -> AppResult<Recipient> {
    let (
        dispatch_id,
        external_id,
        audience,
        recipient_name,
        subject_name,
        locale,
        postal_address,
        state,
    ) = row;
    Ok(Recipient {
        audience: word("audience", &audience)?,
        state: word("recipient state", &state)?,
        dispatch_id,
        external_id,
        recipient_name,
        subject_name,
        locale,
        postal_address,
    })
}

macro_rules! recipient_columns {
    () => {
        (
            dispatch_recipients::dispatch_id,
            dispatch_recipients::external_id,
            dispatch_recipients::audience,
            dispatch_recipients::recipient_name,
            dispatch_recipients::subject_name,
            dispatch_recipients::locale,
            dispatch_recipients::postal_address,
            dispatch_recipients::state,
        )
    };
}

/// These people of one dispatch, by external id.
pub fn recipients(
    conn: &mut DbConnection,
    dispatch_id: &str,
    external_ids: &[String],
) -> AppResult<HashMap<String, Recipient>> {
    let mut out = HashMap::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(1_000) {
        let rows: Vec<RecipientColumns> = dispatch_recipients::table
            .filter(dispatch_recipients::dispatch_id.eq(dispatch_id))
            .filter(dispatch_recipients::external_id.eq_any(chunk))
            .select(recipient_columns!())
            .load(conn)?;
        for row in rows {
            let r = recipient(row)?;
            out.insert(r.external_id.clone(), r);
        }
    }
    Ok(out)
}

/// The person a notice-page token belongs to.
pub fn recipient_by_link(
    conn: &mut DbConnection,
    token_hash: &str,
) -> AppResult<Option<Recipient>> {
    dispatch_recipients::table
        .filter(dispatch_recipients::link_token_hash.eq(token_hash))
        .select(recipient_columns!())
        .first::<RecipientColumns>(conn)
        .optional()?
        .map(recipient)
        .transpose()
}

/// The exposed-category masks of these people in the incident's current affected set.
pub fn exposed_masks(
    conn: &mut DbConnection,
    incident_id: &str,
    external_ids: &[String],
) -> AppResult<HashMap<String, i64>> {
    let set_id = super::affected::current_set(conn, incident_id)?;
    let mut out = HashMap::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(1_000) {
        let rows: Vec<(String, i64)> = affected_subjects::table
            .filter(affected_subjects::set_id.nullable().eq(set_id))
            .filter(affected_subjects::external_id.eq_any(chunk))
            .select((
                affected_subjects::external_id,
                affected_subjects::exposed_categories,
            ))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}
