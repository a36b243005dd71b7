//! Reading a JSON object field by field, collecting every problem at once,
//! with PATCH semantics: an absent key keeps the current value, `null` clears it.

use std::str::FromStr;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::{FieldError, parse_instant};

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

    /// A trimmed string of 1..=`max` characters.
    pub fn text(&mut self, key: &str, max: usize) -> Field<String> {
        self.read(key, |v| text_value(v, max))
    }

    /// An RFC 3339 instant with offset.
    pub fn instant(&mut self, key: &str) -> Field<NaiveDateTime> {
        self.read(key, |v| {
            v.as_str()
                .ok_or("expected a string".to_owned())
                .and_then(parse_instant)
        })
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
            let mut out = array_of(v, |item| text_value(item, max_len))?;
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

fn text_value(v: &Value, max: usize) -> Result<String, String> {
    let s = v.as_str().ok_or("expected a string")?.trim();
    let len = s.chars().count();
    if len == 0 || len > max {
        return Err(format!("must be 1-{max} characters"));
    }
    Ok(s.to_owned())
}

fn array_of<T>(v: &Value, item: impl Fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    v.as_array()
        .ok_or("expected an array".to_owned())?
        .iter()
        .map(item)
        .collect()
}
