//! Tenant commitments: the tenant's own promises, always applicable, as regime
//! `commitment:<id>`.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::Obligation;
use super::deadline::{self, Due};
use super::input::{Commitment, CommitmentPeriod};
use crate::calendar::{self, Calendar, CalendarError};

/// The obligation a commitment creates for a breach the tenant became aware of at `aware_at`.
pub(crate) fn obligation(
    commitment: &Commitment,
    aware_at: DateTime<Utc>,
    closures: &[NaiveDate],
) -> Obligation {
    let calendar = commitment
        .calendar
        .as_deref()
        .map(calendar::get)
        .transpose();
    let calendar_zone = calendar.clone().ok().flatten().map(Calendar::time_zone);
    let tz = commitment.time_zone.or(calendar_zone).unwrap_or(Tz::UTC);
    let due =
        calendar.and_then(|calendar| compute(commitment.period, aware_at, tz, calendar, closures));
    let basis = commitment.description.as_deref().unwrap_or(&commitment.id);
    Obligation::new(
        format!("commitment:{}", commitment.id),
        commitment.recipient.clone(),
        commitment.phase.clone(),
        tz,
        format!("tenant commitment: {basis}"),
        "tenant commitment".to_string(),
        due,
    )
}

fn compute(
    period: CommitmentPeriod,
    start: DateTime<Utc>,
    tz: Tz,
    calendar: Option<&Calendar>,
    closures: &[NaiveDate],
) -> Result<Due, CalendarError> {
    match period {
        CommitmentPeriod::Hours(n) => Ok(deadline::hours(start, n)),
        CommitmentPeriod::CalendarDays(n) => deadline::calendar_days(start, tz, n, false, None),
        CommitmentPeriod::WorkingDays(n) => {
            let calendar = calendar.ok_or_else(|| CalendarError::Unknown(String::new()))?;
            deadline::working_days(start, tz, n, &calendar.with_closures(closures))
        }
    }
}
