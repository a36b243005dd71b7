//! The facts of an incident, validated as a whole.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::input::{Field, Reader};
use super::{BreachType, Cause, DataCategory, FieldError, IncidentStatus, Risk};

/// Keys accepted when creating or changing an incident.
pub const INCIDENT_FIELDS: &[&str] = &[
    "title",
    "description",
    "occurred_at",
    "discovered_at",
    "aware_at",
    "assessed_at",
    "contained_at",
    "cause",
    "breach_types",
    "data_categories",
    "systems",
    "encrypted",
    "risk",
    "estimated_affected",
    "severity",
    "owner",
    "status",
];

/// Everything known about what happened. Times are naive UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFacts {
    /// Short name, 1–200 characters.
    pub title: String,
    /// Longer account.
    pub description: Option<String>,
    /// When the breach happened, if known.
    pub occurred_at: Option<NaiveDateTime>,
    /// When it was discovered.
    pub discovered_at: NaiveDateTime,
    /// When the organisation became aware: the clock start of most deadlines.
    pub aware_at: NaiveDateTime,
    /// When it was assessed as notifiable (Singapore's clock start).
    pub assessed_at: Option<NaiveDateTime>,
    /// When it was contained.
    pub contained_at: Option<NaiveDateTime>,
    /// What caused it.
    pub cause: Option<Cause>,
    /// Security properties broken.
    pub breach_types: Vec<BreachType>,
    /// Kinds of personal data involved.
    pub data_categories: Vec<DataCategory>,
    /// Systems involved.
    pub systems: Vec<String>,
    /// The exposed data was unintelligible and the key was not compromised.
    pub encrypted: bool,
    /// Assessed risk to people.
    pub risk: Option<Risk>,
    /// Estimated number of people affected.
    pub estimated_affected: Option<i64>,
    /// Severity label.
    pub severity: Option<String>,
    /// Person responsible.
    pub owner: Option<String>,
}

/// A validated create or change request.
#[derive(Debug, Clone, PartialEq)]
pub struct FactsChange {
    /// The facts after the change.
    pub facts: IncidentFacts,
    /// The status asked for, if any.
    pub status: Option<IncidentStatus>,
}

/// Applies a JSON body to `current` (or to nothing, when creating) and
/// validates the result as a whole: field formats, required fields, time order.
pub fn apply_incident_input(
    current: Option<&IncidentFacts>,
    body: &Map<String, Value>,
) -> Result<FactsChange, Vec<FieldError>> {
    let mut r = Reader::new(body, INCIDENT_FIELDS);
    let title = {
        let field = r.text("title", 200);
        required(&mut r, "title", field, current.map(|c| c.title.clone()))
    };
    let discovered_at = {
        let field = r.instant("discovered_at");
        required(
            &mut r,
            "discovered_at",
            field,
            current.map(|c| c.discovered_at),
        )
    };
    let aware_at = match r.instant("aware_at") {
        Field::Set(t) => Some(t),
        Field::Null if current.is_some() => {
            r.reject(
                "aware_at",
                "cannot be cleared; it is the clock start of deadlines",
            );
            None
        }
        _ => current.map(|c| c.aware_at).or(discovered_at),
    };
    let status = match r.word::<IncidentStatus>("status") {
        Field::Null => {
            r.reject("status", "cannot be null: leave it out to keep the status");
            None
        }
        field => field.or_keep(None),
    };
    if status.is_some() && current.is_none() {
        r.reject(
            "status",
            "a new incident is always open; change the status afterwards",
        );
    }
    let c = current.cloned();
    let facts = IncidentFacts {
        description: r
            .prose("description", 20_000)
            .or_keep(c.as_ref().and_then(|c| c.description.clone())),
        occurred_at: r
            .instant("occurred_at")
            .or_keep(c.as_ref().and_then(|c| c.occurred_at)),
        assessed_at: r
            .instant("assessed_at")
            .or_keep(c.as_ref().and_then(|c| c.assessed_at)),
        contained_at: r
            .instant("contained_at")
            .or_keep(c.as_ref().and_then(|c| c.contained_at)),
        cause: r.word("cause").or_keep(c.as_ref().and_then(|c| c.cause)),
        breach_types: r
            .words("breach_types")
            .or_keep(c.as_ref().map(|c| c.breach_types.clone()))
            .unwrap_or_default(),
        data_categories: r
            .words("data_categories")
            .or_keep(c.as_ref().map(|c| c.data_categories.clone()))
            .unwrap_or_default(),
        systems: r
            .strings("systems", 100, 500)
            .or_keep(c.as_ref().map(|c| c.systems.clone()))
            .unwrap_or_default(),
        encrypted: r
            .boolean("encrypted")
            .or_keep(c.as_ref().map(|c| c.encrypted))
            .unwrap_or(false),
        risk: r.word("risk").or_keep(c.as_ref().and_then(|c| c.risk)),
        estimated_affected: r
            .count("estimated_affected")
            .or_keep(c.as_ref().and_then(|c| c.estimated_affected)),
        severity: r
            .text("severity", 50)
            .or_keep(c.as_ref().and_then(|c| c.severity.clone())),
        owner: r
            .text("owner", 200)
            .or_keep(c.as_ref().and_then(|c| c.owner.clone())),
        title: title.unwrap_or_default(),
        discovered_at: discovered_at.unwrap_or_default(),
        aware_at: aware_at.unwrap_or_default(),
    };
    if !r.has_errors() {
        check_time_order(&mut r, &facts);
    }
    r.finish(FactsChange { facts, status })
}

fn required<T>(r: &mut Reader<'_>, key: &str, field: Field<T>, current: Option<T>) -> Option<T> {
    match field {
        Field::Set(v) => Some(v),
        Field::Null => {
            r.reject(key, "is required and cannot be null");
            None
        }
        Field::Absent => {
            if current.is_none() && !r.has_error_for(key) {
                r.reject(key, "is required");
            }
            current
        }
    }
}

/// Nothing can be discovered, known, assessed or contained before it occurred,
/// and nothing is assessed before the organisation is aware of it.
fn check_time_order(r: &mut Reader<'_>, f: &IncidentFacts) {
    let fmt = |t: NaiveDateTime| super::format_instant(t);
    if let Some(occurred) = f.occurred_at {
        let later = [
            ("discovered_at", Some(f.discovered_at)),
            ("aware_at", Some(f.aware_at)),
            ("assessed_at", f.assessed_at),
            ("contained_at", f.contained_at),
        ];
        for (key, t) in later {
            if let Some(t) = t.filter(|t| *t < occurred) {
                r.reject(
                    key,
                    format!("{} is before occurred_at ({})", fmt(t), fmt(occurred)),
                );
            }
        }
    }
    if let Some(assessed) = f.assessed_at.filter(|t| *t < f.aware_at) {
        r.reject(
            "assessed_at",
            format!("{} is before aware_at ({})", fmt(assessed), fmt(f.aware_at)),
        );
    }
}
