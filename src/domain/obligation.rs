//! Where an obligation stands, and how late it was met.

use chrono::{NaiveDateTime, TimeDelta};

vocabulary! {
    /// An obligation's stored status (an open one past its deadline is shown as `missed`).
    ObligationStatus {
        Open => "open",
        Met => "met",
        Waived => "waived",
    }
}

impl ObligationStatus {
    /// Whether the duty is settled: met, or waived with a reason.
    pub fn is_resolved(self) -> bool {
        !matches!(self, ObligationStatus::Open)
    }
}

/// How late an obligation met at `met_at` was: past `due_at` for a dated deadline,
/// past its `target_at` for an "as soon as possible" one (which has no `due_at`);
/// `None` when it was met in time or has neither.
pub fn lateness(
    met_at: NaiveDateTime,
    due_at: Option<NaiveDateTime>,
    target_at: Option<NaiveDateTime>,
) -> Option<TimeDelta> {
    let by = due_at.or(target_at)?;
    (met_at > by).then(|| met_at - by)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn asap_duties_are_late_after_their_target_dated_ones_after_their_deadline() {
        let target_at = at("2027-05-01 00:00:00");
        let target = Some(target_at);
        let met = at("2027-06-28 00:00:00");
        assert_eq!(
            lateness(met, None, target),
            Some(TimeDelta::days(58)),
            "asap: counted from the target"
        );
        let due = Some(at("2027-06-27 23:00:00"));
        assert_eq!(
            lateness(met, due, target),
            Some(TimeDelta::hours(1)),
            "a deadline prevails over a target"
        );
        assert_eq!(lateness(at("2027-04-30 23:59:59"), None, target), None);
        assert_eq!(
            lateness(target_at, None, target),
            None,
            "on the dot is on time"
        );
        assert_eq!(lateness(met, None, None), None, "nothing to be late for");
    }

    #[test]
    fn only_open_is_unresolved() {
        assert!(!ObligationStatus::Open.is_resolved());
        assert!(ObligationStatus::Met.is_resolved());
        assert!(ObligationStatus::Waived.is_resolved());
    }
}
