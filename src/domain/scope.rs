//! An incident's scope (which subjects it touches) and the pure rules behind
//! the affected set: who is a minor, who can be reached on which channel, and
//! the summary counts.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::subject::external_id;
use super::{DataCategory, FieldError, Jurisdiction, Reader};

/// Keys accepted by `PUT …/scope`.
pub const SCOPE_FIELDS: &[&str] = &["systems", "data_categories", "jurisdictions", "subject_ids"];

/// Most `subject_ids` accepted inline in a JSON scope; longer lists are uploaded as a file.
pub const MAX_INLINE_SUBJECT_IDS: usize = 10_000;

/// The criteria of a scope other than the explicit id list (kept in its own table).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scope {
    /// Affects subjects sharing at least one of these systems.
    pub systems: Vec<String>,
    /// Affects subjects holding at least one of these categories.
    pub data_categories: Vec<DataCategory>,
    /// Affects subjects living in one of these jurisdictions.
    pub jurisdictions: Vec<Jurisdiction>,
}

/// A validated `PUT …/scope` body: it replaces the whole scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeChange {
    /// The new criteria.
    pub scope: Scope,
    /// The new explicit id list, sorted and without repeats.
    pub subject_ids: Vec<String>,
}

/// Reads a scope body; every criterion defaults to empty (PUT replaces).
pub fn parse_scope(body: &Map<String, Value>) -> Result<ScopeChange, Vec<FieldError>> {
    let mut r = Reader::new(body, SCOPE_FIELDS);
    let systems = r
        .strings("systems", 100, 1000)
        .or_keep(None)
        .unwrap_or_default();
    if systems.iter().any(|s| s.contains(['|', ';'])) {
        r.reject("systems", "system names cannot contain | or ;");
    }
    let data_categories = r.words("data_categories").or_keep(None).unwrap_or_default();
    let jurisdictions = match body.get("jurisdictions") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => jurisdiction_list(v).unwrap_or_else(|reason| {
            r.reject("jurisdictions", reason);
            Vec::new()
        }),
    };
    let subject_ids = match body.get("subject_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => id_list(v).unwrap_or_else(|reason| {
            r.reject("subject_ids", reason);
            Vec::new()
        }),
    };
    r.finish(ScopeChange {
        scope: Scope {
            systems,
            data_categories,
            jurisdictions,
        },
        subject_ids,
    })
}

fn jurisdiction_list(v: &Value) -> Result<Vec<Jurisdiction>, String> {
    let mut out = v
        .as_array()
        .ok_or("expected an array of jurisdiction codes")?
        .iter()
        .map(|c| Jurisdiction::parse(c.as_str().ok_or("expected strings")?))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn id_list(v: &Value) -> Result<Vec<String>, String> {
    let items = v
        .as_array()
        .ok_or("expected an array of external_id strings")?;
    if items.len() > MAX_INLINE_SUBJECT_IDS {
        return Err(format!(
            "at most {MAX_INLINE_SUBJECT_IDS} ids inline; upload longer lists to PUT …/scope/subject-ids"
        ));
    }
    let mut out = items
        .iter()
        .enumerate()
        .map(|(i, id)| {
            id.as_str()
                .ok_or_else(|| format!("[{i}]: expected a string"))
                .and_then(|s| external_id(s).map_err(|e| format!("[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// The latest birth date of an adult on `on`: someone born on or before it has
/// had their 18th birthday by that date, anyone born later is a minor.
/// A 29 February birthday falls on 1 March in years without one, so a person
/// born 2008-02-29 is a minor on 2026-02-28 and an adult on 2026-03-01.
pub fn adult_born_on_or_before(on: NaiveDate) -> NaiveDate {
    let year = on.year() - 18;
    NaiveDate::from_ymd_opt(year, on.month(), on.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, on.month(), on.day() - 1))
        .unwrap_or(NaiveDate::MIN)
}

/// Channel bits of an affected person, as stored in `affected_subjects.channels`:
/// a minor's e-mail and SMS go to the guardian, push and letter use the
/// subject's own token and address.
pub mod channel_bits {
    /// E-mail (the guardian's for a minor).
    pub const EMAIL: i32 = 1;
    /// SMS (the guardian's phone for a minor).
    pub const SMS: i32 = 2;
    /// Push to the subject's own device token.
    pub const PUSH: i32 = 4;
    /// Letter to the subject's postal address.
    pub const LETTER: i32 = 8;
}

/// Per-channel reachability counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCounts {
    /// Reachable by e-mail.
    pub email: i64,
    /// Reachable by SMS.
    pub sms: i64,
    /// Reachable by push.
    pub push: i64,
    /// Reachable by letter.
    pub letter: i64,
}

/// What `GET …/affected/summary` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedSummary {
    /// Affected people.
    pub total: i64,
    /// Affected people per jurisdiction code.
    pub by_jurisdiction: BTreeMap<String, i64>,
    /// Affected people with no jurisdiction on record (not in `by_jurisdiction`).
    pub jurisdiction_unknown: i64,
    /// Affected people younger than 18 on the incident's `aware_at` date (UTC).
    pub minors: i64,
    /// Of `minors`, those per jurisdiction code (codes with none are left out).
    #[serde(default)]
    pub minors_by_jurisdiction: BTreeMap<String, i64>,
    /// Reachable people per channel.
    pub contactable: ContactCounts,
    /// Affected people reachable on no channel.
    pub uncontactable: i64,
    /// Affected people per notice locale (the tenant's default when none is on record).
    pub by_locale: BTreeMap<String, i64>,
}

/// One group of affected people who share everything the summary counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedGroup {
    /// Jurisdiction code, if on record.
    pub jurisdiction: Option<String>,
    /// Locale, if on record.
    pub locale: Option<String>,
    /// Younger than 18.
    pub minor: bool,
    /// [`channel_bits`] the group can be reached on.
    pub channels: i32,
    /// People in the group.
    pub count: i64,
}

impl AffectedSummary {
    /// Adds up groups; people without a locale count under `default_locale`.
    pub fn from_groups(groups: &[AffectedGroup], default_locale: &str) -> Self {
        let mut s = AffectedSummary::default();
        for g in groups {
            s.total += g.count;
            match &g.jurisdiction {
                Some(j) => *s.by_jurisdiction.entry(j.clone()).or_default() += g.count,
                None => s.jurisdiction_unknown += g.count,
            }
            let locale = g.locale.as_deref().unwrap_or(default_locale);
            *s.by_locale.entry(locale.to_owned()).or_default() += g.count;
            if g.minor {
                s.minors += g.count;
                if let Some(j) = &g.jurisdiction {
                    *s.minors_by_jurisdiction.entry(j.clone()).or_default() += g.count;
                }
            }
            let on = |bit: i32| if g.channels & bit != 0 { g.count } else { 0 };
            s.contactable.email += on(channel_bits::EMAIL);
            s.contactable.sms += on(channel_bits::SMS);
            s.contactable.push += on(channel_bits::PUSH);
            s.contactable.letter += on(channel_bits::LETTER);
            if g.channels == 0 {
                s.uncontactable += g.count;
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// The rule the recompute SQL applies: born after the cutoff is a minor.
    fn is_minor(birth_date: Option<NaiveDate>, on: NaiveDate) -> bool {
        birth_date.is_some_and(|b| b > adult_born_on_or_before(on))
    }

    #[test]
    fn eighteenth_birthday_is_adult() {
        let born = Some(d(2008, 3, 1));
        assert!(is_minor(born, d(2026, 2, 28)));
        assert!(!is_minor(born, d(2026, 3, 1)), "18 on the day itself");
        assert!(
            !is_minor(None, d(2026, 3, 1)),
            "unknown age counts as adult"
        );
    }

    #[test]
    fn leap_day_birthdays_fall_on_first_of_march() {
        let born = Some(d(2008, 2, 29));
        assert!(is_minor(born, d(2026, 2, 28)));
        assert!(!is_minor(born, d(2026, 3, 1)));
        assert_eq!(adult_born_on_or_before(d(2024, 2, 29)), d(2006, 2, 28));
        assert!(!is_minor(Some(d(2006, 2, 28)), d(2024, 2, 29)));
        assert!(is_minor(Some(d(2006, 3, 1)), d(2024, 2, 29)));
        // In a leap year the 29 February birthday is the day itself.
        assert!(is_minor(Some(d(2010, 2, 28)), d(2028, 2, 27)));
        assert!(!is_minor(Some(d(2010, 2, 28)), d(2028, 2, 28)));
    }

    #[test]
    fn summary_adds_up_groups() {
        let g = |j: Option<&str>, l: Option<&str>, minor, channels, count| AffectedGroup {
            jurisdiction: j.map(str::to_owned),
            locale: l.map(str::to_owned),
            minor,
            channels,
            count,
        };
        let s = AffectedSummary::from_groups(
            &[
                g(Some("JP"), Some("ja"), false, 1 | 8, 3),
                g(Some("JP"), None, true, 0, 2),
                g(None, Some("en"), false, 4, 1),
            ],
            "en",
        );
        assert_eq!(
            (s.total, s.minors, s.uncontactable, s.jurisdiction_unknown),
            (6, 2, 2, 1)
        );
        assert_eq!(s.by_jurisdiction["JP"], 5);
        assert_eq!((s.by_locale["ja"], s.by_locale["en"]), (3, 3));
        assert_eq!(
            s.contactable,
            ContactCounts {
                email: 3,
                sms: 0,
                push: 1,
                letter: 3
            }
        );
    }

    #[test]
    fn scope_bodies() {
        let body = serde_json::from_str(
            r#"{"systems":["crm"],"data_categories":["health"],"jurisdictions":["jp","US-CA"],"subject_ids":["b"," a ","b"]}"#,
        )
        .unwrap();
        let change = parse_scope(&body).unwrap();
        assert_eq!(change.subject_ids, ["a", "b"]);
        assert_eq!(change.scope.jurisdictions[0].as_str(), "JP");
        let body = serde_json::from_str(
            r#"{"jurisdictions":["XX"],"data_categories":["dna"],"colour":1}"#,
        )
        .unwrap();
        let mut fields: Vec<_> = parse_scope(&body)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        fields.sort();
        assert_eq!(fields, ["colour", "data_categories", "jurisdictions"]);
        assert!(parse_scope(&Map::new()).unwrap().subject_ids.is_empty());
    }
}
