//! The view of a form's fields (label, input, value, choices, error and the ids that
//! tie an error to its input), from what is stored or what was posted. Every form
//! of the UI that edits an API body builds its fields here, so each field's `name`
//! is the API's (dotted for nested bodies: `notices.send_window.start`) and each
//! error of the API's problem document lands next to the field it names.

use serde_json::{Value, json};

use super::form::{FormData, Kind};
use super::session::SignedIn;
use super::view::{self, Pages};
use crate::domain::{
    BreachType, Cause, Channel, DataCategory, FieldError, IncidentStatus, Risk, parse_instant,
};
use crate::error::AppResult;

/// The words a field may take, by the last part of its name.
fn vocabulary(name: &str) -> Option<Vec<&'static str>> {
    let last = name.rsplit('.').next().unwrap_or(name);
    Some(match last {
        "cause" => Cause::ALL.iter().map(|c| c.as_str()).collect(),
        "risk" => Risk::ALL.iter().map(|c| c.as_str()).collect(),
        "breach_types" => BreachType::ALL.iter().map(|c| c.as_str()).collect(),
        "data_categories" => DataCategory::ALL.iter().map(|c| c.as_str()).collect(),
        "status" => IncidentStatus::ALL.iter().map(|c| c.as_str()).collect(),
        "channel" | "channels" => Channel::ALL.iter().map(|c| c.as_str()).collect(),
        _ => return None,
    })
}

/// Where a form's values come from: what is stored (the API's JSON) or what was posted.
pub(super) enum Source<'a> {
    /// The API's view of the object; dotted names are paths into it.
    Stored(&'a Value),
    /// The form as posted (shown again after a refusal).
    Posted(&'a FormData),
}

/// Whether an API error about `error_field` belongs to the field `name`: the field
/// itself or a part of it (`commitments[0].hours`, `establishments[1]`).
pub(super) fn belongs(name: &str, error_field: &str) -> bool {
    error_field
        .strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// The message shown next to `name`: the reasons of its errors, a part's path before
/// its reason.
fn error_of(name: &str, errors: &[FieldError]) -> Option<String> {
    let reasons: Vec<String> = errors
        .iter()
        .filter(|e| belongs(name, &e.field))
        .map(|e| {
            if e.field == name {
                e.reason.clone()
            } else {
                format!("{}: {}", e.field, e.reason)
            }
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The stored value at a dotted path.
fn at_path<'v>(value: &'v Value, name: &str) -> &'v Value {
    name.split('.').fold(value, |node, part| &node[part])
}

/// The view of one form field: label, input kind, value, choices, error, ids.
fn field(
    pages: &Pages,
    signed: &SignedIn,
    form_id: &str,
    (name, kind): (&str, Kind),
    source: &Source<'_>,
    errors: &[FieldError],
) -> Value {
    let tz = signed.tz;
    let (value, chosen): (String, Vec<String>) = match source {
        Source::Posted(f) => (
            f.get(name).unwrap_or_default().to_owned(),
            f.all(name).iter().map(|s| (*s).to_owned()).collect(),
        ),
        Source::Stored(v) => {
            let v = at_path(v, name);
            let text = match (kind, v) {
                (Kind::Instant, Value::String(s)) => parse_instant(s)
                    .map(|t| view::local_input(t, tz))
                    .unwrap_or_else(|_| s.clone()),
                (Kind::Lines, Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n"),
                (_, Value::Null) => String::new(),
                (Kind::Json, other) => {
                    serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string())
                }
                (_, Value::String(s)) => s.clone(),
                (_, other) => other.to_string(),
            };
            let chosen = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_else(|| vec![text.clone()]);
            (text, chosen)
        }
    };
    let last = name.rsplit('.').next().unwrap_or(name);
    let input = match kind {
        Kind::Instant => "datetime",
        Kind::Words => "checkboxes",
        Kind::Lines => "lines",
        Kind::Json => "json",
        Kind::Bool => "bool",
        Kind::Count | Kind::Number => "number",
        Kind::Text if vocabulary(name).is_some() => "select",
        Kind::Text if matches!(last, "description" | "text" | "evidence" | "reason") => "textarea",
        Kind::Text => "text",
    };
    let choices: Vec<Value> = vocabulary(name)
        .unwrap_or_default()
        .into_iter()
        .map(|w| json!({ "value": w, "checked": chosen.iter().any(|c| c == w) }))
        .collect();
    json!({
        "name": name,
        "id": format!("{form_id}-{}", name.replace('.', "-")),
        "label": pages.word(signed.lang, &name.replace('.', "_")),
        "input": input,
        "value": value,
        "is_true": value == "true",
        "is_false": value == "false",
        "choices": choices,
        "error": error_of(name, errors),
        "step": (kind == Kind::Number).then_some("any"),
        "hint": if input == "datetime" { Some(signed.tz.name()) } else { None },
    })
}

/// The views of a form's fields, in order.
pub(super) fn fields(
    signed: &SignedIn,
    form_id: &str,
    defs: &[(&str, Kind)],
    source: &Source<'_>,
    errors: &[FieldError],
) -> AppResult<Value> {
    let pages = Pages::get()?;
    Ok(Value::Array(
        defs.iter()
            .map(|d| field(pages, signed, form_id, *d, source, errors))
            .collect(),
    ))
}

/// Errors that belong to no field of the form (shown above it).
pub(super) fn other_errors(defs: &[(&str, Kind)], errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .filter(|e| !defs.iter().any(|(n, _)| belongs(n, &e.field)))
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_belong_to_their_field_and_its_parts_only() {
        assert!(belongs("commitments", "commitments"));
        assert!(belongs("commitments", "commitments[0].hours"));
        assert!(belongs("notices.send_window", "notices.send_window.start"));
        assert!(!belongs("notices.channels", "notices.channels_only"));
        assert!(!belongs("title", "titles"));
        let errors = [
            FieldError::new("commitments[0].hours", "expected a positive integer"),
            FieldError::new("commitments[1]", "needs exactly one period"),
        ];
        assert_eq!(
            error_of("commitments", &errors).unwrap(),
            "commitments[0].hours: expected a positive integer; commitments[1]: needs exactly one period"
        );
        assert_eq!(other_errors(&[("closures", Kind::Lines)], &errors).len(), 2);
    }
}
