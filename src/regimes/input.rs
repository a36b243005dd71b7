//! The facts a regime evaluation needs, and their JSON form for `breachline obligations`.
//!
//! JSON defaults: `cause` → `unknown`; `data_categories` → `[]`; `encrypted` → `false`;
//! `risk` absent or null → not assessed (rules needing `risk == high` do not trigger,
//! rules excluding `risk == none` do); `assessed_at` → `aware_at`; `tenant` → none.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::substitute::PublicAnnouncement;
use crate::calendar;
use crate::domain::{Cause, DataCategory, FieldError, Jurisdiction, Risk};

/// Everything the engine needs about one incident, its affected people and the tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationInput {
    /// When the organisation became aware (the usual clock start).
    pub aware_at: DateTime<Utc>,
    /// When the breach was assessed as notifiable (Singapore's clock); `None` = `aware_at`.
    pub assessed_at: Option<DateTime<Utc>>,
    /// What caused the breach.
    pub cause: Cause,
    /// Kinds of personal data involved.
    pub data_categories: Vec<DataCategory>,
    /// Whether the data were encrypted with the key not compromised.
    pub encrypted: bool,
    /// Assessed risk to the people affected; `None` = not assessed yet.
    pub risk: Option<Risk>,
    /// Affected people per jurisdiction of residence.
    pub affected: Vec<AffectedGroup>,
    /// The tenant's establishments and own promises.
    pub tenant: TenantProfile,
}

/// Affected people resident in one jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedGroup {
    /// Jurisdiction of residence.
    pub jurisdiction: Jurisdiction,
    /// Number of people.
    pub count: u64,
    /// How many of them are minors (at most `count`).
    pub minors: u64,
}

/// What the regimes need to know about the tenant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantProfile {
    /// Jurisdictions where the tenant is established (`US` does not cover `US-CA`).
    pub establishments: Vec<Jurisdiction>,
    /// The tenant's own notification promises, each becoming regime `commitment:<id>`.
    pub commitments: Vec<Commitment>,
    /// Extra closure days of the tenant, skipped when counting commitment working days.
    pub closures: Vec<NaiveDate>,
    /// The tenant's promise of a public announcement when people cannot be told
    /// one by one (a substitute-notice regime of its own; obligations ignore it).
    pub public_announcement: Option<PublicAnnouncement>,
}

/// A tenant's promise, e.g. "subjects within 30 working days (JP)".
#[derive(Debug, Clone, PartialEq)]
pub struct Commitment {
    /// Short id; the regime is `commitment:<id>`.
    pub id: String,
    /// Who is promised a notice (`subjects`, `regulator`, …).
    pub recipient: String,
    /// Phase, `notice` by default.
    pub phase: String,
    /// How long the tenant has.
    pub period: CommitmentPeriod,
    /// Calendar id for working days (`JP`, `JP-ADMIN`, `CN`, `BR`).
    pub calendar: Option<String>,
    /// Civil time zone; defaults to the calendar's, else UTC.
    pub time_zone: Option<Tz>,
    /// Human description, used as the basis.
    pub description: Option<String>,
}

/// The length of a commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitmentPeriod {
    /// Exact hours after awareness.
    Hours(u32),
    /// Calendar days after the local day of awareness.
    CalendarDays(u32),
    /// Working days of the commitment's calendar after the local day of awareness.
    WorkingDays(u32),
}

/// Parses and validates the JSON input, naming every rejected field.
pub fn parse(json: &str) -> Result<EvaluationInput, Vec<FieldError>> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| vec![FieldError::new("input", format!("invalid JSON: {e}"))])?;
    let mut errors = Vec::new();
    let input = read_input(&value, &mut errors);
    match input {
        Some(input) if errors.is_empty() => Ok(input),
        _ => Err(errors),
    }
}

const INPUT_FIELDS: &[&str] = &[
    "aware_at",
    "assessed_at",
    "cause",
    "data_categories",
    "encrypted",
    "risk",
    "affected",
    "tenant",
];

fn read_input(value: &Value, errors: &mut Vec<FieldError>) -> Option<EvaluationInput> {
    let obj = object(value, "input", INPUT_FIELDS, errors)?;
    let aware_at =
        required(obj, "aware_at", "aware_at", errors).and_then(|v| instant(v, "aware_at", errors));
    let assessed_at = optional(obj, "assessed_at").map(|v| instant(v, "assessed_at", errors));
    let cause = optional(obj, "cause").map_or(Some(Cause::Unknown), |v| typed(v, "cause", errors));
    let data_categories = list(obj, "data_categories", "data_categories", errors, typed);
    let encrypted =
        optional(obj, "encrypted").map_or(Some(false), |v| typed(v, "encrypted", errors));
    let risk = optional(obj, "risk").map(|v| typed(v, "risk", errors));
    let affected = list(obj, "affected", "affected", errors, affected_group);
    let tenant =
        optional(obj, "tenant").map_or(Some(TenantProfile::default()), |v| tenant(v, errors));
    Some(EvaluationInput {
        aware_at: aware_at?,
        assessed_at: assessed_at.map_or(Some(None), |a| a.map(Some))?,
        cause: cause?,
        data_categories: data_categories?,
        encrypted: encrypted?,
        risk: risk.map_or(Some(None), |r| r.map(Some))?,
        affected: affected?,
        tenant: tenant?,
    })
}

fn affected_group(
    value: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<AffectedGroup> {
    let obj = object(value, path, &["jurisdiction", "count", "minors"], errors)?;
    let at = |field: &str| format!("{path}.{field}");
    let jurisdiction = required(obj, "jurisdiction", &at("jurisdiction"), errors)
        .and_then(|v| typed::<Jurisdiction>(v, &at("jurisdiction"), errors));
    let count =
        required(obj, "count", &at("count"), errors).and_then(|v| whole(v, &at("count"), errors));
    let minors = optional(obj, "minors").map_or(Some(0), |v| whole(v, &at("minors"), errors));
    let (count, minors) = (count?, minors?);
    if minors > count {
        errors.push(FieldError::new(
            at("minors"),
            format!("must not exceed count ({count})"),
        ));
        return None;
    }
    Some(AffectedGroup {
        jurisdiction: jurisdiction?,
        count,
        minors,
    })
}

/// Parses a tenant profile on its own
/// (`{establishments?, commitments?, closures?, public_announcement?}`),
/// as stored on the tenant and edited through the API and CLI.
pub fn parse_tenant_profile(value: &Value) -> Result<TenantProfile, Vec<FieldError>> {
    let mut errors = Vec::new();
    let profile = tenant(value, &mut errors);
    for error in &mut errors {
        if let Some(rest) = error.field.strip_prefix("tenant.") {
            error.field = rest.to_owned();
        }
    }
    match profile {
        Some(profile) if errors.is_empty() => Ok(profile),
        _ => Err(errors),
    }
}

fn tenant(value: &Value, errors: &mut Vec<FieldError>) -> Option<TenantProfile> {
    let fields = &[
        "establishments",
        "commitments",
        "closures",
        "public_announcement",
    ];
    let obj = object(value, "tenant", fields, errors)?;
    let establishments = list(
        obj,
        "establishments",
        "tenant.establishments",
        errors,
        typed,
    );
    let commitments = list(obj, "commitments", "tenant.commitments", errors, commitment);
    let closures = list(
        obj,
        "closures",
        "tenant.closures",
        errors,
        typed::<NaiveDate>,
    );
    let public_announcement = optional(obj, "public_announcement").map(|v| {
        PublicAnnouncement::parse(v)
            .map_err(|e| {
                errors.extend(
                    e.into_iter()
                        .map(|e| FieldError::new(format!("tenant.{}", e.field), e.reason)),
                )
            })
            .ok()
    });
    Some(TenantProfile {
        establishments: establishments?,
        commitments: commitments?,
        closures: closures?,
        public_announcement: public_announcement.map_or(Some(None), |p| p.map(Some))?,
    })
}

const COMMITMENT_FIELDS: &[&str] = &[
    "id",
    "recipient",
    "phase",
    "working_days",
    "calendar_days",
    "hours",
    "calendar",
    "time_zone",
    "description",
];

fn commitment(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Commitment> {
    let obj = object(value, path, COMMITMENT_FIELDS, errors)?;
    let at = |field: &str| format!("{path}.{field}");
    let id = required(obj, "id", &at("id"), errors).and_then(|v| text(v, &at("id"), errors));
    let recipient = required(obj, "recipient", &at("recipient"), errors)
        .and_then(|v| text(v, &at("recipient"), errors));
    let phase = optional(obj, "phase").map_or(Some("notice".to_string()), |v| {
        text(v, &at("phase"), errors)
    });
    let period = period(obj, path, errors);
    let calendar = optional(obj, "calendar").map(|v| calendar_id(v, &at("calendar"), errors));
    let time_zone = optional(obj, "time_zone").map(|v| zone(v, &at("time_zone"), errors));
    let description = optional(obj, "description").map(|v| text(v, &at("description"), errors));
    let calendar = calendar.map_or(Some(None), |c| c.map(Some))?;
    let period = period?;
    if matches!(period, CommitmentPeriod::WorkingDays(_)) && calendar.is_none() {
        errors.push(FieldError::new(
            at("calendar"),
            "required with working_days",
        ));
        return None;
    }
    Some(Commitment {
        id: id?,
        recipient: recipient?,
        phase: phase?,
        period,
        calendar,
        time_zone: time_zone.map_or(Some(None), |z| z.map(Some))?,
        description: description.map_or(Some(None), |d| d.map(Some))?,
    })
}

/// Exactly one of `working_days`, `calendar_days`, `hours`, a positive integer.
fn period(
    obj: &Map<String, Value>,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<CommitmentPeriod> {
    let given: Vec<(&str, &Value)> = ["working_days", "calendar_days", "hours"]
        .into_iter()
        .filter_map(|key| optional(obj, key).map(|v| (key, v)))
        .collect();
    let [(key, value)] = given.as_slice() else {
        errors.push(FieldError::new(
            path,
            "needs exactly one of working_days, calendar_days, hours",
        ));
        return None;
    };
    let field = format!("{path}.{key}");
    let amount = whole(value, &field, errors)?;
    let Some(amount) = u32::try_from(amount).ok().filter(|n| *n > 0) else {
        errors.push(FieldError::new(field, "expected a positive integer"));
        return None;
    };
    Some(match *key {
        "working_days" => CommitmentPeriod::WorkingDays(amount),
        "calendar_days" => CommitmentPeriod::CalendarDays(amount),
        _ => CommitmentPeriod::Hours(amount),
    })
}

/// The value as an object with only `allowed` keys.
fn object<'v>(
    value: &'v Value,
    path: &str,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<&'v Map<String, Value>> {
    let Some(obj) = value.as_object() else {
        errors.push(FieldError::new(path, "expected an object"));
        return None;
    };
    for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let field = if path == "input" {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let reason = format!("unknown field, expected one of {}", allowed.join(", "));
        errors.push(FieldError::new(field, reason));
    }
    Some(obj)
}

/// A present, non-null value.
fn optional<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn required<'v>(
    obj: &'v Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'v Value> {
    let value = optional(obj, key);
    if value.is_none() {
        errors.push(FieldError::new(path, "required"));
    }
    value
}

/// An optional array (absent = empty) whose items are read by `item`.
fn list<T>(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<FieldError>,
    item: impl Fn(&Value, &str, &mut Vec<FieldError>) -> Option<T>,
) -> Option<Vec<T>> {
    let Some(value) = optional(obj, key) else {
        return Some(Vec::new());
    };
    let Some(items) = value.as_array() else {
        errors.push(FieldError::new(path, "expected an array"));
        return None;
    };
    let read: Vec<Option<T>> = items
        .iter()
        .enumerate()
        .map(|(i, v)| item(v, &format!("{path}[{i}]"), errors))
        .collect();
    read.into_iter().collect()
}

/// A value of a serde type, with serde's reason on failure.
fn typed<T: DeserializeOwned>(
    value: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    serde_json::from_value(value.clone())
        .map_err(|e| errors.push(FieldError::new(path, e.to_string())))
        .ok()
}

fn instant(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let parsed = value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    if parsed.is_none() {
        let reason = "expected RFC 3339 date-time with offset, e.g. 2026-03-01T09:00:00+09:00";
        errors.push(FieldError::new(path, reason));
    }
    parsed.map(|t| t.with_timezone(&Utc))
}

fn whole(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<u64> {
    let parsed = value.as_u64();
    if parsed.is_none() {
        errors.push(FieldError::new(path, "expected a non-negative integer"));
    }
    parsed
}

fn text(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let parsed = value.as_str().map(str::trim).filter(|s| !s.is_empty());
    if parsed.is_none() {
        errors.push(FieldError::new(path, "expected a non-empty string"));
    }
    parsed.map(str::to_string)
}

fn calendar_id(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let id = text(value, path, errors)?;
    match calendar::get(&id) {
        Ok(_) => Some(id),
        Err(e) => {
            errors.push(FieldError::new(path, e.to_string()));
            None
        }
    }
}

fn zone(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Tz> {
    let name = text(value, path, errors)?;
    let parsed = name.parse::<Tz>().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            path,
            format!("unknown IANA time zone '{name}'"),
        ));
    }
    parsed
}
