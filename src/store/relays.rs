//! Relays a worker has paused: written by the worker's circuit breakers so that
//! dispatch progress (served by any process) can show `relay_paused`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::word;
use crate::db::DbConnection;
use crate::db::schema::relay_pauses;
use crate::domain::Channel;
use crate::error::AppResult;

/// A paused relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayPause {
    /// The relay's key, e.g. `smtp://mail.example.com:587` (never credentials).
    pub relay: String,
    /// The channel it serves.
    pub channel: Channel,
    /// Paused since.
    pub since: NaiveDateTime,
    /// Paused until (the next try).
    pub until: NaiveDateTime,
    /// The failure that paused it.
    pub reason: String,
}

/// Records (or extends) a pause.
pub fn pause(conn: &mut DbConnection, p: &RelayPause, now: NaiveDateTime) -> AppResult<()> {
    let values = (
        relay_pauses::relay.eq(&p.relay),
        relay_pauses::channel.eq(p.channel.as_str()),
        relay_pauses::paused_since.eq(p.since),
        relay_pauses::paused_until.eq(p.until),
        relay_pauses::reason.eq(&p.reason),
        relay_pauses::updated_at.eq(now),
    );
    super::with_backend!(conn, c => diesel::insert_into(relay_pauses::table)
        .values(values)
        .on_conflict(relay_pauses::relay)
        .do_update()
        .set((
            relay_pauses::paused_since.eq(p.since),
            relay_pauses::paused_until.eq(p.until),
            relay_pauses::reason.eq(&p.reason),
            relay_pauses::updated_at.eq(now),
        ))
        .execute(c)?);
    Ok(())
}

/// Removes a pause (the relay answered again).
pub fn resume(conn: &mut DbConnection, relay: &str) -> AppResult<()> {
    diesel::delete(relay_pauses::table.find(relay)).execute(conn)?;
    Ok(())
}

/// The pauses of these relays.
pub fn paused(conn: &mut DbConnection, relays: &[String]) -> AppResult<Vec<RelayPause>> {
    let rows: Vec<(String, String, NaiveDateTime, NaiveDateTime, String)> = relay_pauses::table
        .filter(relay_pauses::relay.eq_any(relays))
        .select((
            relay_pauses::relay,
            relay_pauses::channel,
            relay_pauses::paused_since,
            relay_pauses::paused_until,
            relay_pauses::reason,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(relay, channel, since, until, reason)| {
            Ok(RelayPause {
                channel: word("channel", &channel)?,
                relay,
                since,
                until,
                reason,
            })
        })
        .collect()
}
