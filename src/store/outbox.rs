//! The outbox: one row per (recipient, channel attempt), claimed by workers with
//! leases. Claiming is one atomic `UPDATE … WHERE id IN (SELECT … LIMIT n)
//! RETURNING …` (with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of
//! workers share the queue); sending happens with no transaction open; a lease
//! that outlives `lease` (a crashed worker) is reclaimed and the row sent again.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use crate::db::DbConnection;
use crate::error::AppResult;

/// A claimed row: what the worker needs to send one attempt.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    /// Row id; also the stable base of the message's `Message-ID`.
    #[diesel(sql_type = Text)]
    pub id: String,
    /// Tenant.
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    /// Dispatch.
    #[diesel(sql_type = Text)]
    pub dispatch_id: String,
    /// The person.
    #[diesel(sql_type = Text)]
    pub external_id: String,
    /// Channel word.
    #[diesel(sql_type = Text)]
    pub channel: String,
    /// Where to send.
    #[diesel(sql_type = Text)]
    pub address: String,
    /// Attempts so far, including this one.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

const RETURNING: &str =
    "RETURNING id, tenant_id, dispatch_id, external_id, channel, address, attempts";

/// Claims up to `limit` due rows for `worker`.
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<Claimed>> {
    Ok(match conn {
        DbConnection::Postgres(c) => diesel::sql_query(format!(
            "UPDATE outbox SET status = 'sending', locked_at = $1, locked_by = $2, attempts = attempts + 1, updated_at = $1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND run_at <= $1 ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED) {RETURNING}"
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(format!(
            "UPDATE outbox SET status = 'sending', locked_at = ?1, locked_by = ?2, attempts = attempts + 1, updated_at = ?1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND run_at <= ?1 ORDER BY run_at LIMIT ?3) {RETURNING}"
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(limit)
        .load(c)?,
    })
}

/// Puts rows whose lease is older than `lease` back in the queue; returns how many.
pub fn reclaim_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: Duration,
) -> AppResult<usize> {
    use crate::db::schema::outbox::dsl::*;
    let cutoff = now - chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    Ok(diesel::update(
        outbox
            .filter(status.eq("sending"))
            .filter(locked_at.lt(cutoff)),
    )
    .set((
        status.eq("queued"),
        locked_at.eq(None::<NaiveDateTime>),
        locked_by.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// Puts a claimed row back in the queue until `run_at` without counting the attempt
/// (a tenant's send window is closed); returns whether this worker still held it.
pub fn defer(
    conn: &mut DbConnection,
    worker: &str,
    row_id: &str,
    until: NaiveDateTime,
) -> AppResult<bool> {
    use crate::db::schema::outbox::dsl::*;
    let updated = diesel::update(
        outbox
            .filter(id.eq(row_id))
            .filter(locked_by.eq(worker))
            .filter(status.eq("sending")),
    )
    .set((
        status.eq("queued"),
        run_at.eq(until),
        locked_at.eq(None::<NaiveDateTime>),
        locked_by.eq(None::<String>),
        attempts.eq(attempts - 1),
    ))
    .execute(conn)?;
    Ok(updated == 1)
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
    use crate::db::schema::outbox::dsl::*;
    Ok(outbox
        .filter(status.eq("sent"))
        .filter(receipt_due_at.le(now))
        .order(receipt_due_at)
        .limit(limit)
        .select((
            id,
            dispatch_id,
            external_id,
            provider,
            provider_id,
            updated_at,
            receipt_due_at.assume_not_null(),
        ))
        .load(conn)?)
}
