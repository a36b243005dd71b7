//! Deadline arithmetic (design.md §4): exact hours, calendar days, working days and
//! "as soon as possible" targets, in a civil time zone.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::calendar::{Calendar, CalendarError};

/// Default target for "without undue delay" duties.
const DEFAULT_TARGET_HOURS: u32 = 72;

/// Whether the obligation has a statutory instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// A computed `due_at`.
    Fixed,
    /// "Without undue delay" and the like: no `due_at`, a `target_at` instead.
    Asap,
}

/// A computed deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Due {
    pub kind: DeadlineKind,
    pub due_at: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDate>,
    pub target_at: Option<DateTime<Utc>>,
    pub limit_at: Option<DateTime<Utc>>,
}

impl Due {
    fn fixed(due_at: DateTime<Utc>, due_date: Option<NaiveDate>) -> Self {
        Due {
            kind: DeadlineKind::Fixed,
            due_at: Some(due_at),
            due_date,
            target_at: None,
            limit_at: None,
        }
    }

    fn on_date(tz: Tz, date: NaiveDate) -> Self {
        Due::fixed(end_of_day(tz, date), Some(date))
    }
}

/// Exactly `n` hours after `start`.
pub(crate) fn hours(start: DateTime<Utc>, n: u32) -> Due {
    Due::fixed(start + Duration::hours(i64::from(n)), None)
}

/// End of the local day `n` days after the start's local date (`count_start_day`: the
/// start day is day 1), rolled forward on `roll` when given.
pub(crate) fn calendar_days(
    start: DateTime<Utc>,
    tz: Tz,
    n: u32,
    count_start_day: bool,
    roll: Option<&Calendar>,
) -> Result<Due, CalendarError> {
    let days = if count_start_day {
        n.saturating_sub(1)
    } else {
        n
    };
    let date = local_date(start, tz) + Duration::days(i64::from(days));
    let date = match roll {
        Some(calendar) => calendar.roll_forward(date)?,
        None => date,
    };
    Ok(Due::on_date(tz, date))
}

/// End of the `n`th working day of `calendar` after the start's local date.
pub(crate) fn working_days(
    start: DateTime<Utc>,
    tz: Tz,
    n: u32,
    calendar: &Calendar,
) -> Result<Due, CalendarError> {
    let date = calendar.add_working_days(local_date(start, tz), n)?;
    Ok(Due::on_date(tz, date))
}

/// No statutory instant: a target `target_hours` (default 72) after `start`, and an
/// outer limit at the end of the local day `limit_days` after the start day.
pub(crate) fn asap(
    start: DateTime<Utc>,
    tz: Tz,
    target_hours: Option<u32>,
    limit_days: Option<u32>,
) -> Due {
    let target = target_hours.unwrap_or(DEFAULT_TARGET_HOURS);
    let limit =
        limit_days.map(|n| end_of_day(tz, local_date(start, tz) + Duration::days(i64::from(n))));
    Due {
        kind: DeadlineKind::Asap,
        due_at: None,
        due_date: None,
        target_at: Some(start + Duration::hours(i64::from(target))),
        limit_at: limit,
    }
}

/// The civil date of an instant in `tz`.
pub(crate) fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The first instant of `date` in `tz`.
pub(crate) fn start_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    to_utc(tz, date.and_time(NaiveTime::MIN), false)
}

/// 23:59:59 local time on `date`, as an instant.
fn end_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let last_second = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
    to_utc(tz, date.and_time(last_second), true)
}

/// A local wall-clock time as an instant: the later or earlier reading when a DST change
/// repeats it; when a DST gap skips it, the offset in force just before the gap.
fn to_utc(tz: Tz, local: NaiveDateTime, later: bool) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(early, late) => if later { late } else { early }.with_timezone(&Utc),
        LocalResult::None => {
            let before = tz.offset_from_utc_datetime(&(local - Duration::days(1)));
            (local - chrono::Offset::fix(&before)).and_utc()
        }
    }
}
