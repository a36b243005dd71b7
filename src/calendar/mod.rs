//! Working-day calendars: official holiday data per country and year, embedded in the
//! binary, and the day arithmetic the regimes need (working days, roll-forward).
//!
//! Calendars: `JP` (Sat/Sun + national holidays incl. 振替休日 and 国民の休日),
//! `JP-ADMIN` (JP + 29 Dec–3 Jan, for APPI roll-forward), `CN` (Sat/Sun + State Council
//! holidays, with make-up working weekends on) and `BR` (Sat/Sun + national holidays).
//! A date in a year without official data is an error, never a guess.

mod data;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;

/// Why a calendar question could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The calendar has no official holiday data for that year.
    #[error("no holiday data for {calendar} {year}")]
    NoData {
        /// Calendar whose data is missing, e.g. `CN`.
        calendar: String,
        /// Year asked for.
        year: i32,
    },
    /// No calendar has this id.
    #[error("unknown calendar '{0}', expected one of JP, JP-ADMIN, CN, BR")]
    Unknown(String),
    /// The embedded calendar data could not be read (a build defect).
    #[error("invalid embedded calendar data: {0}")]
    InvalidData(String),
}

/// One year of official data.
#[derive(Debug, Clone)]
struct YearData {
    holidays: BTreeSet<NaiveDate>,
    working_days: BTreeSet<NaiveDate>,
}

/// A working-day calendar: weekends, official holidays, make-up working days,
/// annual closures (e.g. 29 Dec–3 Jan) and optional tenant closure days.
#[derive(Debug, Clone)]
pub struct Calendar {
    id: String,
    data_id: String,
    time_zone: Tz,
    years: std::collections::BTreeMap<i32, YearData>,
    annual_closures: Vec<(u32, u32)>,
    closures: BTreeSet<NaiveDate>,
}

static CALENDARS: OnceLock<Result<Vec<Calendar>, String>> = OnceLock::new();

/// All embedded calendars, parsed once.
pub fn all() -> Result<&'static [Calendar], CalendarError> {
    CALENDARS
        .get_or_init(data::load)
        .as_deref()
        .map_err(|e| CalendarError::InvalidData(e.clone()))
}

/// The calendar with this id (`JP`, `JP-ADMIN`, `CN`, `BR`).
pub fn get(id: &str) -> Result<&'static Calendar, CalendarError> {
    all()?
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| CalendarError::Unknown(id.to_string()))
}

impl Calendar {
    /// The calendar id, e.g. `JP-ADMIN`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The civil time zone of the calendar's country.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// A copy of this calendar with extra closure days (e.g. a tenant's company holidays).
    pub fn with_closures(&self, days: &[NaiveDate]) -> Calendar {
        let mut calendar = self.clone();
        calendar.closures.extend(days.iter().copied());
        calendar
    }

    /// Whether `date` is a working day. Errors when the year has no official data.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        let year = self
            .years
            .get(&date.year())
            .ok_or_else(|| CalendarError::NoData {
                calendar: self.data_id.clone(),
                year: date.year(),
            })?;
        if self.closures.contains(&date) || self.is_annual_closure(date) {
            return Ok(false);
        }
        if year.working_days.contains(&date) {
            return Ok(true);
        }
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        Ok(!weekend && !year.holidays.contains(&date))
    }

    /// The `n`th working day after `start` (the start day itself is not counted).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut date = start;
        let mut counted = 0;
        while counted < n {
            date = next_day(date, &self.data_id)?;
            if self.is_working_day(date)? {
                counted += 1;
            }
        }
        Ok(date)
    }

    /// `date` if it is a working day, else the next working day.
    pub fn roll_forward(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut date = date;
        while !self.is_working_day(date)? {
            date = next_day(date, &self.data_id)?;
        }
        Ok(date)
    }

    fn is_annual_closure(&self, date: NaiveDate) -> bool {
        self.annual_closures.contains(&(date.month(), date.day()))
    }
}

/// The day after `date`; the end of chrono's range is reported as missing data.
fn next_day(date: NaiveDate, calendar: &str) -> Result<NaiveDate, CalendarError> {
    date.succ_opt().ok_or_else(|| CalendarError::NoData {
        calendar: calendar.to_string(),
        year: date.year() + 1,
    })
}
