//! Relay health: one circuit breaker per relay. A relay-wide failure (refused or
//! silent connection, `421`, 429/5xx, our own credentials) pauses the relay for a
//! while that doubles from one second up to a cap while it keeps failing; messages
//! for a paused relay wait untried, and nobody's attempts are spent on it. A send
//! that goes through closes the breaker. Pauses are written to the database so
//! dispatch progress shows them (`relay_paused`).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::domain::Channel;
use crate::store::relays::RelayPause;

/// Whether a send may go to a relay now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead.
    Go,
    /// The relay is paused until then.
    Paused(NaiveDateTime),
}

/// A change the database must learn of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayChange {
    /// The relay is paused (or its pause was extended).
    Paused(RelayPause),
    /// The relay answered again.
    Resumed(String),
}

#[derive(Debug, Clone)]
struct Breaker {
    channel: Channel,
    since: NaiveDateTime,
    until: NaiveDateTime,
    pause: Duration,
    reason: String,
}

/// The breakers of every relay this worker uses.
#[derive(Debug)]
pub struct RelayHealth {
    max_pause: Duration,
    state: Mutex<(HashMap<String, Breaker>, Vec<RelayChange>)>,
}

/// The first pause after a relay-wide failure.
const FIRST_PAUSE: Duration = Duration::from_secs(1);

impl RelayHealth {
    /// Breakers whose pauses never exceed `max_pause`.
    pub fn new(max_pause: Duration) -> Self {
        Self {
            max_pause: max_pause.max(FIRST_PAUSE),
            state: Mutex::new((HashMap::new(), Vec::new())),
        }
    }

    /// Whether a send to `relay` may go at `now`.
    pub fn admit(&self, relay: &str, now: NaiveDateTime) -> Admission {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.0.get(relay) {
            Some(b) if now < b.until => Admission::Paused(b.until),
            _ => Admission::Go,
        }
    }

    /// A relay-wide failure at `now`: pauses the relay (doubling the pause when it
    /// failed again after its last pause ended) and returns until when.
    pub fn failed(
        &self,
        relay: &str,
        channel: Channel,
        reason: &str,
        now: NaiveDateTime,
    ) -> NaiveDateTime {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (breakers, changes) = &mut *state;
        let breaker = breakers.entry(relay.to_owned()).or_insert_with(|| Breaker {
            channel,
            since: now,
            until: now,
            pause: Duration::ZERO,
            reason: String::new(),
        });
        if now >= breaker.until {
            // Paused for the first time, or failed again after the pause ended.
            breaker.pause = if breaker.pause.is_zero() {
                FIRST_PAUSE
            } else {
                (breaker.pause * 2).min(self.max_pause)
            };
            breaker.until = now + chrono::Duration::from_std(breaker.pause).unwrap_or_default();
        }
        breaker.reason = reason.to_owned();
        changes.push(RelayChange::Paused(RelayPause {
            relay: relay.to_owned(),
            channel: breaker.channel,
            since: breaker.since,
            until: breaker.until,
            reason: breaker.reason.clone(),
        }));
        breaker.until
    }

    /// A send went through: the relay is healthy again.
    pub fn succeeded(&self, relay: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (breakers, changes) = &mut *state;
        if breakers.remove(relay).is_some() {
            changes.push(RelayChange::Resumed(relay.to_owned()));
        }
    }

    /// The changes since the last call, oldest first.
    pub fn take_changes(&self) -> Vec<RelayChange> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut state.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn pauses_double_while_the_relay_keeps_failing_and_reset_on_success() {
        let h = RelayHealth::new(Duration::from_secs(5));
        assert_eq!(h.admit("r", at(0)), Admission::Go);
        assert_eq!(h.failed("r", Channel::Email, "421", at(0)), at(1));
        // More failures of sends already in flight do not lengthen the pause.
        assert_eq!(h.failed("r", Channel::Email, "421", at(0)), at(1));
        assert_eq!(h.admit("r", at(0)), Admission::Paused(at(1)));
        assert_eq!(h.admit("r", at(1)), Admission::Go);
        assert_eq!(h.failed("r", Channel::Email, "refused", at(1)), at(3));
        assert_eq!(h.failed("r", Channel::Email, "refused", at(3)), at(7));
        assert_eq!(
            h.failed("r", Channel::Email, "refused", at(7)),
            at(12),
            "capped at 5 s"
        );
        assert_eq!(
            h.admit("other", at(7)),
            Admission::Go,
            "one breaker per relay"
        );
        h.succeeded("r");
        assert_eq!(h.admit("r", at(8)), Admission::Go);
        assert_eq!(
            h.failed("r", Channel::Email, "again", at(8)),
            at(9),
            "back to 1 s"
        );
        let changes = h.take_changes();
        assert!(matches!(changes.last(), Some(RelayChange::Paused(p)) if p.since == at(8)));
        assert!(changes.contains(&RelayChange::Resumed("r".into())));
        assert!(h.take_changes().is_empty());
    }
}
