//! Reading a JSON object field by field, collecting every problem at once,
//! with PATCH semantics: an absent key keeps the current value, `null` clears it.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{NaiveDateTime, TimeDelta};
use serde_json::{Map, Value};

use super::{FieldError, now_micros, parse_instant};

/// One field of a request: absent, explicitly null, or a valid value.
/// Invalid values are recorded as errors and read as `Absent`.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<T> {
    /// The key was not sent.
    Absent,
    /// The key was sent as `null`.
    Null,
    /// The key was sent with a valid value.
    Set(T),
}

impl<T> Field<T> {
    /// Merges into an optional current value.
    pub fn or_keep(self, current: Option<T>) -> Option<T> {
        match self {
            Field::Absent => current,
            Field::Null => None,
            Field::Set(v) => Some(v),
        }
    }
}

/// Reads typed fields from a JSON object, remembering every rejection.
pub struct Reader<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Reader<'a> {
    /// Starts reading `map`; keys outside `known` are reported as unknown.
    pub fn new(map: &'a Map<String, Value>, known: &[&str]) -> Self {
        let errors = map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| FieldError::new(k.as_str(), "unknown field"))
            .collect();
        Self { map, errors }
    }

    /// Records a problem found outside the typed readers.
    pub fn reject(&mut self, field: &str, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }

    /// Whether any problem was found so far.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Whether `key` was already rejected.
    pub fn has_error_for(&self, key: &str) -> bool {
        self.errors.iter().any(|e| e.field == key)
    }

    /// The collected problems, or `ok` when there are none.
    pub fn finish<T>(self, ok: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(ok)
        } else {
            Err(self.errors)
        }
    }

    fn read<T>(
        &mut self,
        key: &str,
        convert: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Field<T> {
        match self.map.get(key) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(value) => match convert(value) {
                Ok(v) => Field::Set(v),
                Err(reason) => {
                    self.reject(key, reason);
                    Field::Absent
                }
            },
        }
    }

    /// One line of text: at most `max` characters as sent (Unicode code points, as
    /// JSON Schema's `maxLength` counts them), no control characters, not only
    /// spaces; read trimmed.
    pub fn text(&mut self, key: &str, max: usize) -> Field<String> {
        self.read(key, |v| text_value(v, max, Lines::One))
    }

    /// Free text over several lines: as [`Reader::text`], but line breaks and tabs
    /// are allowed.
    pub fn prose(&mut self, key: &str, max: usize) -> Field<String> {
        self.read(key, |v| text_value(v, max, Lines::Many))
    }

    /// When something happened: an RFC 3339 instant with offset, between 1970 and a
    /// day from now (a day covers a clock or time zone set wrong; a year 0110 or
    /// 2099 is a typing slip).
    pub fn instant(&mut self, key: &str) -> Field<NaiveDateTime> {
        self.read(key, |v| instant_value(v).and_then(happened))
    }

    /// When something is to end (a link's expiry): an RFC 3339 instant with offset;
    /// the caller bounds it.
    pub fn expiry(&mut self, key: &str) -> Field<NaiveDateTime> {
        self.read(key, instant_value)
    }

    /// One word of a closed vocabulary.
    pub fn word<T: FromStr<Err = String>>(&mut self, key: &str) -> Field<T> {
        self.read(key, |v| {
            v.as_str().ok_or("expected a string".to_owned())?.parse()
        })
    }

    /// A set of vocabulary words, sorted and without repeats.
    pub fn words<T: FromStr<Err = String> + Ord>(&mut self, key: &str) -> Field<Vec<T>> {
        self.read(key, |v| {
            let mut out = array_of(v, |item| {
                item.as_str().ok_or("expected strings".to_owned())?.parse()
            })?;
            out.sort();
            out.dedup();
            Ok(out)
        })
    }

    /// A set of free strings (1..=`max_len` characters each, at most `max_items`).
    pub fn strings(&mut self, key: &str, max_len: usize, max_items: usize) -> Field<Vec<String>> {
        self.read(key, |v| {
            let mut out = array_of(v, |item| text_value(item, max_len, Lines::One))?;
            if out.len() > max_items {
                return Err(format!("at most {max_items} entries"));
            }
            out.sort();
            out.dedup();
            Ok(out)
        })
    }

    /// A boolean.
    pub fn boolean(&mut self, key: &str) -> Field<bool> {
        self.read(key, |v| {
            v.as_bool().ok_or("expected true or false".to_owned())
        })
    }

    /// A whole number ≥ 0.
    pub fn count(&mut self, key: &str) -> Field<i64> {
        self.read(key, |v| {
            v.as_i64()
                .filter(|n| *n >= 0)
                .ok_or("expected a whole number ≥ 0".to_owned())
        })
    }
}

/// Reads texts per locale, `{default_locale, locales: {<locale>: {…}}}`, each
/// locale's object with `parse_locale`: the default must be one of the locales given
/// and, when `required` names a locale (the tenant's authoritative language), so
/// must it. Returns the default and the parsed locales, or every problem found.
pub fn read_localized<T>(
    body: &Map<String, Value>,
    required: Option<&str>,
    parse_locale: impl Fn(&str, &Value) -> Result<T, Vec<FieldError>>,
) -> Result<(String, BTreeMap<String, T>), Vec<FieldError>> {
    let mut r = Reader::new(body, &["default_locale", "locales"]);
    let default_locale = r.text("default_locale", 35).or_keep(None);
    let mut errors = Vec::new();
    let mut locales = BTreeMap::new();
    let given = body.get("locales").and_then(Value::as_object);
    match given {
        Some(map) if !map.is_empty() => {
            for (locale, value) in map {
                match parse_locale(locale, value) {
                    Ok(text) => {
                        locales.insert(locale.clone(), text);
                    }
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
        _ => r.reject(
            "locales",
            "must be an object with at least one locale, e.g. {\"en\": {…}}",
        ),
    }
    // Without any locale given, only `locales` is named, not the default as well.
    let is_given = |l: &str| given.is_none_or(|m| m.is_empty() || m.contains_key(l));
    match &default_locale {
        None if !r.has_error_for("default_locale") => r.reject("default_locale", "is required"),
        Some(l) if !is_given(l) => r.reject(
            "default_locale",
            format!("'{l}' is not one of the locales given"),
        ),
        _ => {}
    }
    if let Some(l) = required.filter(|l| !is_given(l) && !locales.is_empty()) {
        r.reject(
            &format!("locales.{l}"),
            format!("the tenant's authoritative language {l} is required"),
        );
    }
    match r.finish(()) {
        Ok(()) if errors.is_empty() => Ok((default_locale.unwrap_or_default(), locales)),
        Ok(()) => Err(errors),
        Err(mut e) => {
            e.append(&mut errors);
            Err(e)
        }
    }
}

/// Whether a text may span lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

fn text_value(v: &Value, max: usize, lines: Lines) -> Result<String, String> {
    let raw = v.as_str().ok_or("expected a string")?;
    if raw.chars().count() > max {
        return Err(format!("must be 1-{max} characters"));
    }
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\r' | '\t');
    if let Some(c) = raw.chars().find(|c| c.is_control() && !allowed(*c)) {
        return Err(format!(
            "must not contain control characters (found U+{:04X}){}",
            u32::from(c),
            if lines == Lines::One {
                "; use one line"
            } else {
                ""
            }
        ));
    }
    let s = raw.trim();
    if s.is_empty() {
        return Err(format!("must be 1-{max} characters, not only spaces"));
    }
    Ok(s.to_owned())
}

/// An RFC 3339 instant with offset, as a JSON string.
fn instant_value(v: &Value) -> Result<NaiveDateTime, String> {
    v.as_str()
        .ok_or("expected a string".to_owned())
        .and_then(parse_instant)
}

/// Something that happened: not before 1970, and not more than a day ahead.
fn happened(at: NaiveDateTime) -> Result<NaiveDateTime, String> {
    let earliest = chrono::DateTime::UNIX_EPOCH.naive_utc();
    let latest = now_micros() + TimeDelta::days(1);
    if at < earliest || at > latest {
        return Err(format!(
            "must be between 1970-01-01 and a day from now ({}), got {}",
            crate::domain::format_instant(latest),
            crate::domain::format_instant(at)
        ));
    }
    Ok(at)
}

fn array_of<T>(v: &Value, item: impl Fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    v.as_array()
        .ok_or("expected an array".to_owned())?
        .iter()
        .map(item)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(body: Value, f: impl FnOnce(&mut Reader<'_>)) -> Vec<String> {
        let map = body.as_object().cloned().unwrap_or_default();
        let mut r = Reader::new(&map, &["t", "at"]);
        f(&mut r);
        r.finish(())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn one_line_text_refuses_control_characters_and_counts_what_was_sent() {
        for bad in ["a\r\nb", "bell\u{7}", "tab\there", "   ", ""] {
            assert_eq!(
                read(json!({"t": bad}), |r| {
                    r.text("t", 10);
                }),
                ["t"],
                "{bad:?}"
            );
        }
        let accents = "é".repeat(11);
        assert_eq!(
            read(json!({"t": accents}), |r| {
                r.text("t", 10);
            }),
            ["t"]
        );
        let padded = format!(" {} ", "é".repeat(9));
        assert_eq!(
            read(json!({"t": padded}), |r| {
                r.text("t", 10);
            }),
            ["t"],
            "11 as sent"
        );
        assert!(
            read(json!({"t": "é".repeat(10)}), |r| {
                r.text("t", 10);
            })
            .is_empty()
        );
    }

    #[test]
    fn prose_keeps_line_breaks_but_not_other_controls() {
        assert!(
            read(json!({"t": "line one\r\n\tline two"}), |r| {
                r.prose("t", 50);
            })
            .is_empty()
        );
        assert_eq!(
            read(json!({"t": "esc\u{1b}[31m"}), |r| {
                r.prose("t", 50);
            }),
            ["t"]
        );
    }

    #[test]
    fn instants_are_between_1970_and_a_day_ahead() {
        let two_days = crate::domain::format_instant(now_micros() + TimeDelta::days(2));
        for bad in [
            "0110-03-01T00:00:00Z",
            "2099-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            two_days.as_str(),
        ] {
            assert_eq!(
                read(json!({"at": bad}), |r| {
                    r.instant("at");
                }),
                ["at"],
                "{bad}"
            );
        }
        let soon = crate::domain::format_instant(now_micros() + TimeDelta::hours(23));
        assert!(
            read(json!({"at": soon}), |r| {
                r.instant("at");
            })
            .is_empty()
        );
        assert!(
            read(json!({"at": "1970-01-01T00:00:00Z"}), |r| {
                r.instant("at");
            })
            .is_empty()
        );
    }
}
