//! The outbox queue: one row per (person, channel), claimed by workers with leases.
//!
//! Claiming is one atomic `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …`
//! (with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers share the
//! queue); sending happens with no transaction open; a worker renews the leases of
//! the rows it still holds, and a lease that outlives its term (a dead or stuck
//! worker) is taken back by any worker. Rows a worker puts back without trying
//! them (shutdown, a send window, a paused relay) do not count as attempts.
//!
//! What a send came to is recorded by `store::delivery`.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use super::sql::{Bind, Statement};
use super::word;
use crate::db::DbConnection;
use crate::db::schema::outbox;
use crate::domain::{Channel, OutboxStatus, WindowHold};
use crate::error::AppResult;

/// A claimed row: what the worker needs to send one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// Row id; also the stable base of the message's `Message-ID`.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Dispatch.
    pub dispatch_id: String,
    /// The person.
    pub external_id: String,
    /// Channel.
    pub channel: Channel,
    /// Where to send.
    pub address: String,
    /// Attempts so far, including this one.
    pub attempts: i32,
    /// When the person was queued on this channel (the retry window counts from here).
    pub queued_at: NaiveDateTime,
    /// Whether the tenant's send window may hold this row back.
    pub window: WindowHold,
}

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    tenant_id: String,
    #[diesel(sql_type = Text)]
    dispatch_id: String,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    address: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    send_window: String,
}

impl TryFrom<ClaimedRow> for Claimed {
    type Error = crate::error::AppError;

    fn try_from(r: ClaimedRow) -> AppResult<Self> {
        Ok(Self {
            channel: word("channel", &r.channel)?,
            window: word("send window hold", &r.send_window)?,
            id: r.id,
            tenant_id: r.tenant_id,
            dispatch_id: r.dispatch_id,
            external_id: r.external_id,
            address: r.address,
            attempts: r.attempts,
            queued_at: r.created_at,
        })
    }
}

const RETURNING: &str = "RETURNING id, tenant_id, dispatch_id, external_id, channel, address, attempts, created_at, send_window";

/// Claims up to `limit` due rows for `worker` (queued → sending, one more attempt).
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<Claimed>> {
    let (queued, sending) = (OutboxStatus::Queued, OutboxStatus::Sending);
    let rows: Vec<ClaimedRow> = match conn {
        DbConnection::Postgres(c) => diesel::sql_query(format!(
            "UPDATE outbox SET status = '{sending}', locked_at = $1, locked_by = $2, attempts = attempts + 1, updated_at = $1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = '{queued}' AND run_at <= $1 ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED) {RETURNING}"
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(format!(
            "UPDATE outbox SET status = '{sending}', locked_at = ?1, locked_by = ?2, attempts = attempts + 1, updated_at = ?1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = '{queued}' AND run_at <= ?1 ORDER BY run_at LIMIT ?3) {RETURNING}"
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(limit)
        .load(c)?,
    };
    rows.into_iter().map(Claimed::try_from).collect()
}

/// The row is still being sent, as a condition on rows picked by id. Written as
/// `status || '' = 'sending'`: SQLite, which keeps no statistics here, would
/// otherwise walk every row in `sending` through the `outbox_claim` index instead
/// of looking the ids up by primary key (PostgreSQL uses the key either way).
pub(super) fn still_sending()
-> diesel::dsl::Eq<diesel::dsl::Concat<outbox::status, &'static str>, &'static str> {
    outbox::status.concat("").eq(OutboxStatus::Sending.as_str())
}

/// Most ids per statement (well under both backends' bind limits).
const ID_CHUNK: usize = 1_000;

/// Renews `worker`'s leases on rows it still works on; returns how many it held.
pub fn renew(
    conn: &mut DbConnection,
    worker: &str,
    ids: &[String],
    now: NaiveDateTime,
) -> AppResult<usize> {
    let mut renewed = 0;
    for chunk in ids.chunks(ID_CHUNK) {
        renewed += diesel::update(
            outbox::table
                .filter(outbox::id.eq_any(chunk))
                .filter(outbox::locked_by.eq(worker))
                .filter(still_sending()),
        )
        .set(outbox::locked_at.eq(now))
        .execute(conn)?;
    }
    Ok(renewed)
}

/// Puts rows whose lease is older than `lease` back in the queue (their worker died
/// or hangs); returns how many. The attempt stays counted: it may have been sent.
pub fn reclaim_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: Duration,
) -> AppResult<usize> {
    let cutoff = now - chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    Ok(diesel::update(
        outbox::table
            .filter(outbox::status.eq(OutboxStatus::Sending.as_str()))
            .filter(outbox::locked_at.lt(cutoff)),
    )
    .set((
        outbox::status.eq(OutboxStatus::Queued.as_str()),
        outbox::locked_at.eq(None::<NaiveDateTime>),
        outbox::locked_by.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// Why a worker puts a claimed row back without sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutBack {
    /// The worker stops: any worker may take the row at once.
    Shutdown,
    /// The tenant's send window is closed for the row's channel until `run_at`.
    Window,
    /// The relay is paused until `run_at` (relay-wide failures).
    RelayPaused,
}

/// Puts `worker`'s claimed rows back in the queue untried, due at `run_at`, without
/// counting the attempt; returns how many it still held.
pub fn put_back(
    conn: &mut DbConnection,
    worker: &str,
    rows: &[(String, NaiveDateTime)],
    why: PutBack,
) -> AppResult<usize> {
    let hold = match why {
        PutBack::Window => Some(WindowHold::Held),
        PutBack::Shutdown | PutBack::RelayPaused => None,
    };
    let mut done = 0;
    for chunk in rows.chunks(ID_CHUNK / 2) {
        let mut st = Statement::new();
        st.push("UPDATE outbox SET status = ");
        let queued = st.bind(Bind::Text(OutboxStatus::Queued.as_str().to_owned()));
        st.push(&queued);
        st.push(", run_at = v.run_at, locked_at = NULL, locked_by = NULL, attempts = attempts - 1");
        if let Some(hold) = hold {
            st.push(", send_window = ");
            let hold = st.bind(Bind::Text(hold.as_str().to_owned()));
            st.push(&hold);
        }
        st.push(" FROM (SELECT column1 AS id, column2 AS run_at FROM (VALUES ");
        for (i, (id, run_at)) in chunk.iter().enumerate() {
            if i > 0 {
                st.push(", ");
            }
            let id = st.bind(Bind::Text(id.clone()));
            let run_at = st.bind(Bind::Timestamp(*run_at));
            st.push(&format!("({id}, {run_at})"));
        }
        st.push(") AS vals) AS v WHERE outbox.id = v.id AND outbox.locked_by = ");
        let worker = st.bind(Bind::Text(worker.to_owned()));
        st.push(&worker);
        st.push(" AND outbox.status = ");
        let sending = st.bind(Bind::Text(OutboxStatus::Sending.as_str().to_owned()));
        st.push(&sending);
        done += st.execute(conn)?;
    }
    Ok(done)
}

/// Releases the rows of a dispatch that the send window holds (or would hold) on
/// `channel` (every channel when `None`): they go out at once, audited by the caller.
pub fn release_held(
    conn: &mut DbConnection,
    dispatch_id: &str,
    channel: Option<Channel>,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let channels: Vec<&str> = match channel {
        Some(c) => vec![c.as_str()],
        None => Channel::ALL.iter().map(|c| c.as_str()).collect(),
    };
    let queued = || {
        outbox::table
            .filter(outbox::dispatch_id.eq(dispatch_id))
            .filter(outbox::status.eq(OutboxStatus::Queued.as_str()))
            .filter(outbox::channel.eq_any(channels.clone()))
    };
    let held = diesel::update(queued().filter(outbox::send_window.eq(WindowHold::Held.as_str())))
        .set((
            outbox::run_at.eq(now),
            outbox::send_window.eq(WindowHold::Released.as_str()),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(queued().filter(outbox::send_window.eq(WindowHold::Applies.as_str())))
        .set((
            outbox::send_window.eq(WindowHold::Released.as_str()),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(held)
}

/// After the tenant's send window changed: every held row of the tenant is due at
/// once, so workers hold it again under the new window or send it.
pub fn reapply_windows(
    conn: &mut DbConnection,
    tenant_id: &str,
    now: NaiveDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::tenant_id.eq(tenant_id))
            .filter(outbox::status.eq(OutboxStatus::Queued.as_str()))
            .filter(outbox::send_window.eq(WindowHold::Held.as_str())),
    )
    .set((
        outbox::run_at.eq(now),
        outbox::send_window.eq(WindowHold::Applies.as_str()),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// A sent row whose delivery receipt did not come in time.
#[derive(Debug, Clone, Queryable)]
pub struct OverdueReceipt {
    /// Row id.
    pub id: String,
    /// Dispatch.
    pub dispatch_id: String,
    /// The person.
    pub external_id: String,
    /// Who accepted the message.
    pub provider: Option<String>,
    /// The provider's id for it.
    pub provider_id: Option<String>,
    /// When it was recorded as sent (nothing else changes a sent row before its receipt).
    pub sent_at: NaiveDateTime,
    /// When the receipt was due.
    pub due_at: NaiveDateTime,
}

/// Up to `limit` rows still `sent` whose receipt was due by `now`, the longest overdue
/// first (the partial index `outbox_receipt_due` finds them).
pub fn overdue_receipts(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<OverdueReceipt>> {
    Ok(outbox::table
        .filter(outbox::status.eq(OutboxStatus::Sent.as_str()))
        .filter(outbox::receipt_due_at.le(now))
        .order(outbox::receipt_due_at)
        .limit(limit)
        .select((
            outbox::id,
            outbox::dispatch_id,
            outbox::external_id,
            outbox::provider,
            outbox::provider_id,
            outbox::updated_at,
            outbox::receipt_due_at.assume_not_null(),
        ))
        .load(conn)?)
}
