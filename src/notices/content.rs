//! The incident's notice content: the facts of the notice per locale, with the
//! locale to fall back to. Validated field by field so errors name the path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Contact, NoticeText};
use crate::domain::{Field, FieldError, Reader, read_localized};

/// Notice facts in every language the incident team wrote them in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeContent {
    /// The locale used when a person's own is missing.
    pub default_locale: String,
    /// Facts per locale.
    pub locales: BTreeMap<String, NoticeText>,
}

const TEXT_FIELDS: &[&str] = &[
    "summary",
    "likely_impact",
    "measures_taken",
    "advice",
    "remedies",
];
const MAX_TEXT: usize = 5_000;

impl NoticeContent {
    /// Parses `{default_locale, locales: {<locale>: {summary, …, contact: {…}}}}`.
    /// Empty items are allowed here (drafts); approval refuses them later.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let (default_locale, locales) = read_localized(body, None, parse_locale)?;
        Ok(Self {
            default_locale,
            locales,
        })
    }

    /// The content for a locale, matched exactly or by language.
    pub fn for_locale(&self, locale: &str) -> Option<(&str, &NoticeText)> {
        let keys: Vec<String> = self.locales.keys().cloned().collect();
        let key = super::locale::best_match(locale, &keys)?.to_owned();
        self.locales
            .get_key_value(&key)
            .map(|(k, v)| (k.as_str(), v))
    }
}

fn parse_locale(locale: &str, value: &Value) -> Result<NoticeText, Vec<FieldError>> {
    let path = |field: &str| format!("locales.{locale}.{field}");
    if !crate::domain::is_locale(locale) {
        return Err(vec![FieldError::new(
            format!("locales.{locale}"),
            "not a BCP 47 tag such as en, ja, zh-CN",
        )]);
    }
    let Some(map) = value.as_object() else {
        return Err(vec![FieldError::new(
            format!("locales.{locale}"),
            "expected an object",
        )]);
    };
    let mut known: Vec<&str> = TEXT_FIELDS.to_vec();
    known.extend(["contact", "dpo_contact"]);
    let mut r = Reader::new(map, &known);
    // A blank item is a draft, not an error: approval names it later.
    let mut text = |key: &str| match map.get(key).and_then(Value::as_str) {
        Some(s) if s.trim().is_empty() => String::new(),
        _ => match r.prose(key, MAX_TEXT) {
            Field::Set(s) => s,
            _ => String::new(),
        },
    };
    let mut notice = NoticeText {
        summary: text("summary"),
        likely_impact: text("likely_impact"),
        measures_taken: text("measures_taken"),
        advice: text("advice"),
        remedies: text("remedies"),
        contact: Contact::default(),
        dpo_contact: r.text("dpo_contact", 500).or_keep(None),
    };
    let mut errors = Vec::new();
    match map.get("contact") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => match parse_contact(c) {
            Ok(contact) => notice.contact = contact,
            Err(e) => errors.extend(
                e.into_iter()
                    .map(|e| FieldError::new(path(&format!("contact.{}", e.field)), e.reason)),
            ),
        },
        Some(_) => errors.push(FieldError::new(
            path("contact"),
            "expected an object {name, email, phone, url}",
        )),
    }
    match r.finish(notice) {
        Ok(notice) if errors.is_empty() => Ok(notice),
        Ok(_) => Err(errors),
        Err(e) => Err(e
            .into_iter()
            .map(|e| FieldError::new(path(&e.field), e.reason))
            .chain(errors)
            .collect()),
    }
}

fn parse_contact(map: &Map<String, Value>) -> Result<Contact, Vec<FieldError>> {
    let mut r = Reader::new(map, &["name", "email", "phone", "url"]);
    let contact = Contact {
        name: r.text("name", 200).or_keep(None),
        email: r.text("email", 254).or_keep(None),
        phone: r.text("phone", 50).or_keep(None),
        url: r.text("url", 500).or_keep(None),
    };
    if contact
        .email
        .as_deref()
        .is_some_and(|e| !e.contains('@') || e.contains(char::is_whitespace))
    {
        r.reject("email", "not a valid e-mail address");
    }
    if contact
        .url
        .as_deref()
        .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
    {
        r.reject("url", "must start with https:// or http://");
    }
    r.finish(contact)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> Result<NoticeContent, Vec<FieldError>> {
        NoticeContent::parse(v.as_object().unwrap())
    }

    fn fields(r: Result<NoticeContent, Vec<FieldError>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn parses_locales_and_names_bad_paths() {
        let ok = parse(json!({"default_locale": "en", "locales": {"en": {"summary": "S", "contact": {"email": "a@b.c"}}, "ja": {}}})).unwrap();
        assert_eq!(ok.locales["en"].summary, "S");
        assert_eq!(ok.for_locale("ja-JP").map(|(k, _)| k), Some("ja"));
        assert_eq!(
            fields(parse(json!({"locales": {"en": {}}}))),
            vec!["default_locale"]
        );
        assert_eq!(
            fields(parse(
                json!({"default_locale": "fr", "locales": {"en": {}}})
            )),
            vec!["default_locale"]
        );
        assert_eq!(
            fields(parse(
                json!({"default_locale": "en", "locales": {"en": {"summry": "x", "contact": {"url": "ftp://x"}}}})
            )),
            vec!["locales.en.summry", "locales.en.contact.url"]
        );
        assert_eq!(
            fields(parse(
                json!({"default_locale": "en", "locales": {"English": {}}})
            )),
            vec!["default_locale", "locales.English"]
        );
    }
}
