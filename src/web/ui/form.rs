//! HTML forms into the JSON bodies the API's validation reads. The field names of
//! the forms are the API's, so the API's errors (`errors[].field`) land next to
//! the inputs; this module only changes representation (a `datetime-local` in the
//! user's zone into RFC 3339, checkboxes into lists), never decides validity:
//! anything it cannot convert is passed on as text for the API to reject.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::session::CSRF_FIELD;

/// A posted form, in order, repeated names kept.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (checkbox groups).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The CSRF token the form carried.
    pub fn csrf(&self) -> Option<&str> {
        self.get(CSRF_FIELD)
    }

    /// The values as they were typed, to show the form again after an error.
    pub fn values(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in &self.0 {
            if k != CSRF_FIELD {
                out.entry(k.clone()).or_insert_with(|| json!(v));
            }
        }
        out
    }
}

/// How a form field maps onto the API's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A `datetime-local` value in the user's zone.
    Instant,
    /// A checkbox group of vocabulary words.
    Words,
    /// Text with one entry per line (or comma-separated).
    Lines,
    /// A `true`/`false` select.
    Bool,
    /// A whole number.
    Count,
    /// A number with a fraction (`0.05`).
    Number,
    /// A nested part with no natural form (commitments), written as JSON.
    Json,
}

/// Whether the form creates (blank fields are left out) or edits (blank fields
/// clear the value; the API says which may not be cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new object.
    Create,
    /// A change (PATCH semantics).
    Edit,
}

/// The JSON body for the `fields` of `form`; dotted names (`notices.send_window.start`)
/// become nested objects.
pub fn to_json(form: &FormData, fields: &[(&str, Kind)], tz: Tz, mode: Mode) -> Map<String, Value> {
    let mut out = Map::new();
    for &(name, kind) in fields {
        let value = match kind {
            Kind::Words => {
                let words: Vec<&str> = form
                    .all(name)
                    .into_iter()
                    .filter(|w| !w.is_empty())
                    .collect();
                if words.is_empty() && mode == Mode::Create {
                    continue;
                }
                json!(words)
            }
            Kind::Lines => {
                let Some(text) = form.get(name) else { continue };
                let lines: Vec<&str> = text
                    .split(['\n', ','])
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                if lines.is_empty() && mode == Mode::Create {
                    continue;
                }
                json!(lines)
            }
            _ => {
                let Some(text) = form.get(name) else { continue };
                let text = text.trim();
                if text.is_empty() {
                    if mode == Mode::Edit {
                        out.insert(name.to_owned(), Value::Null);
                    }
                    continue;
                }
                match kind {
                    Kind::Instant => json!(instant(text, tz)),
                    Kind::Bool => match text {
                        "true" => json!(true),
                        "false" => json!(false),
                        other => json!(other),
                    },
                    Kind::Count => text
                        .parse::<i64>()
                        .map_or_else(|_| json!(text), |n| json!(n)),
                    Kind::Number => text
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .map_or_else(|| json!(text), |n| json!(n)),
                    Kind::Json => serde_json::from_str(text).unwrap_or_else(|_| json!(text)),
                    _ => json!(text),
                }
            }
        };
        insert_at(&mut out, name, value);
    }
    out
}

/// Puts `value` at the dotted path `name` of `out`, making the objects on the way.
fn insert_at(out: &mut Map<String, Value>, name: &str, value: Value) {
    let mut node = out;
    let mut parts = name.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            node.insert(part.to_owned(), value);
            return;
        }
        let next = node
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(map) = next else { return };
        node = map;
    }
}

/// A `datetime-local` value (`2026-11-27T14:00`, seconds optional) read in `tz`,
/// as RFC 3339 UTC; anything else as typed.
pub fn instant(text: &str, tz: Tz) -> String {
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"));
    match parsed
        .ok()
        .and_then(|local| tz.from_local_datetime(&local).earliest())
    {
        Some(at) => crate::domain::format_instant(at.naive_utc()),
        None => text.to_owned(),
    }
}

/// A body of texts per locale, `{default_locale, locales: {<locale>: {…}}}`, from
/// a form whose fields are named `default_locale` and `locales.<locale>.<field>`
/// (notice content and bulletins alike); blank values are left out.
pub fn localized(form: &FormData) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(default) = form.get("default_locale").filter(|d| !d.is_empty()) {
        body.insert("default_locale".into(), json!(default));
    }
    body.insert("locales".into(), Value::Object(nested(form, "locales.")));
    body
}

/// The JSON object of dotted names (`locales.en.summary`) under `prefix`, blank
/// values left out: the nested bodies (notice content) from flat form names.
pub fn nested(form: &FormData, prefix: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in &form.0 {
        let Some(path) = name.strip_prefix(prefix) else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let mut node = &mut out;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                node.insert((*part).to_owned(), json!(value));
            } else {
                let next = node
                    .entry((*part).to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !next.is_object() {
                    *next = Value::Object(Map::new());
                }
                let Value::Object(map) = next else { break };
                node = map;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData(
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        )
    }

    #[test]
    fn fields_become_the_api_json() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let f = form(&[
            ("title", " Leak "),
            ("discovered_at", "2026-11-27T14:00"),
            ("occurred_at", "yesterday"),
            ("breach_types", "confidentiality"),
            ("breach_types", "availability"),
            ("systems", "crm\nbilling, web"),
            ("encrypted", "false"),
            ("estimated_affected", "12x"),
            ("owner", ""),
            ("csrf_token", "t"),
        ]);
        let fields = [
            ("title", Kind::Text),
            ("discovered_at", Kind::Instant),
            ("occurred_at", Kind::Instant),
            ("breach_types", Kind::Words),
            ("data_categories", Kind::Words),
            ("systems", Kind::Lines),
            ("encrypted", Kind::Bool),
            ("estimated_affected", Kind::Count),
            ("owner", Kind::Text),
        ];
        let created = Value::Object(to_json(&f, &fields, tokyo, Mode::Create));
        assert_eq!(
            created,
            json!({
                "title": "Leak",
                "discovered_at": "2026-11-27T05:00:00Z",
                "occurred_at": "yesterday",
                "breach_types": ["confidentiality", "availability"],
                "systems": ["crm", "billing", "web"],
                "encrypted": false,
                "estimated_affected": "12x",
            })
        );
        let edited = to_json(&f, &fields, tokyo, Mode::Edit);
        let nested = form(&[
            ("notices.unit_costs.sms", "0.07"),
            ("notices.send_window.start", "08:00"),
            ("notices.send_window.end", ""),
            ("commitments", r#"[{"id": "x", "hours": 72}]"#),
            ("closures", "2026-12-29\n2026-12-30"),
            ("public_announcement", "{not json"),
        ]);
        let profile = [
            ("notices.unit_costs.sms", Kind::Number),
            ("notices.send_window.start", Kind::Text),
            ("notices.send_window.end", Kind::Text),
            ("commitments", Kind::Json),
            ("closures", Kind::Lines),
            ("public_announcement", Kind::Json),
        ];
        assert_eq!(
            Value::Object(to_json(&nested, &profile, tokyo, Mode::Create)),
            json!({
                "notices": {"unit_costs": {"sms": 0.07}, "send_window": {"start": "08:00"}},
                "commitments": [{"id": "x", "hours": 72}],
                "closures": ["2026-12-29", "2026-12-30"],
                "public_announcement": "{not json",
            })
        );
        assert_eq!(edited["owner"], Value::Null);
        assert_eq!(edited["data_categories"], json!([]));
    }

    #[test]
    fn dotted_names_nest() {
        let f = form(&[
            ("default_locale", "en"),
            ("locales.en.summary", "What happened"),
            ("locales.en.contact.email", "dpo@example.org"),
            ("locales.ja.summary", ""),
        ]);
        assert_eq!(
            Value::Object(nested(&f, "locales.")),
            json!({"en": {"summary": "What happened", "contact": {"email": "dpo@example.org"}}})
        );
    }
}
