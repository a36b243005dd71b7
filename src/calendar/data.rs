//! The embedded calendar data files (`data/*.toml`) and their validation.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

use super::{Calendar, YearData};

/// The data files, in a fixed order.
const FILES: &[(&str, &str)] = &[
    ("jp.toml", include_str!("data/jp.toml")),
    ("cn.toml", include_str!("data/cn.toml")),
    ("br.toml", include_str!("data/br.toml")),
];

/// One data file: a country's holidays per year, and calendars derived from it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    id: String,
    time_zone: String,
    #[serde(default)]
    variants: Vec<VariantFile>,
    years: Vec<YearFile>,
}

/// A calendar derived from the file's data with extra closures on fixed days every year.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantFile {
    id: String,
    annual_closures: Vec<String>,
    source: String,
}

/// One year of official data with its source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: String,
    holidays: Vec<NaiveDate>,
    #[serde(default)]
    working_days: Vec<NaiveDate>,
}

/// Parses and validates every data file.
pub(super) fn load() -> Result<Vec<Calendar>, String> {
    let mut calendars = Vec::new();
    for (name, text) in FILES {
        let file: CalendarFile = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        calendars.extend(calendars_of(file).map_err(|e| format!("{name}: {e}"))?);
    }
    Ok(calendars)
}

/// The base calendar of a file followed by its variants.
fn calendars_of(file: CalendarFile) -> Result<Vec<Calendar>, String> {
    let time_zone: Tz = file
        .time_zone
        .parse()
        .map_err(|_| format!("unknown time zone '{}'", file.time_zone))?;
    let mut years = BTreeMap::new();
    for year in file.years {
        let number = year.year;
        if years.insert(number, year_data(year)?).is_some() {
            return Err(format!("year {number} listed twice"));
        }
    }
    let base = Calendar {
        id: file.id.clone(),
        data_id: file.id,
        time_zone,
        years,
        annual_closures: Vec::new(),
        closures: BTreeSet::new(),
    };
    let mut calendars = Vec::new();
    for variant in file.variants {
        require_source(&variant.source, &variant.id)?;
        let mut calendar = base.clone();
        calendar.id = variant.id;
        calendar.annual_closures = variant
            .annual_closures
            .iter()
            .map(|day| month_day(day))
            .collect::<Result<_, _>>()?;
        calendars.push(calendar);
    }
    calendars.insert(0, base);
    Ok(calendars)
}

/// Checks one year: every date in that year, make-up days on weekends, no overlap.
fn year_data(year: YearFile) -> Result<YearData, String> {
    require_source(&year.source, &year.year.to_string())?;
    let all = year.holidays.iter().chain(&year.working_days);
    if let Some(stray) = all.clone().find(|d| d.year() != year.year) {
        return Err(format!("{stray} is listed under {}", year.year));
    }
    let weekday_makeup = year
        .working_days
        .iter()
        .find(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun));
    if let Some(day) = weekday_makeup {
        return Err(format!("make-up working day {day} is not a weekend day"));
    }
    let holidays: BTreeSet<NaiveDate> = year.holidays.into_iter().collect();
    let working_days: BTreeSet<NaiveDate> = year.working_days.into_iter().collect();
    if let Some(day) = holidays.intersection(&working_days).next() {
        return Err(format!("{day} is both a holiday and a working day"));
    }
    Ok(YearData {
        holidays,
        working_days,
    })
}

/// Parses `MM-DD`.
fn month_day(text: &str) -> Result<(u32, u32), String> {
    let parsed = text
        .split_once('-')
        .and_then(|(m, d)| Some((m.parse().ok()?, d.parse().ok()?)))
        .filter(|&(m, d)| NaiveDate::from_ymd_opt(2024, m, d).is_some());
    parsed.ok_or_else(|| format!("annual closure '{text}' is not MM-DD"))
}

/// Every piece of data must say where it comes from.
fn require_source(source: &str, what: &str) -> Result<(), String> {
    if source.trim().is_empty() {
        return Err(format!("{what} has no source"));
    }
    Ok(())
}
