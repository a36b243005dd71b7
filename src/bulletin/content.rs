//! What a bulletin says, per locale: a title, the four items every notice carries,
//! the organisation's contact and the inquiry desk. Drafts may leave items blank;
//! publication refuses them (see [`BulletinContent::blanks`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::{FieldError, Reader, is_locale, read_localized};
use crate::notices::Contact;

/// A bulletin's text in every language it is published in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletinContent {
    /// The locale shown when the visitor's is not available.
    pub default_locale: String,
    /// Text per locale.
    pub locales: BTreeMap<String, BulletinText>,
}

/// The bulletin in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletinText {
    /// Headline.
    pub title: String,
    /// What happened.
    pub summary: String,
    /// The likely consequences for the people affected.
    pub likely_impact: String,
    /// What the organisation has done or will do.
    pub measures_taken: String,
    /// What people can do to protect themselves.
    pub advice: String,
    /// Remedies offered.
    pub remedies: String,
    /// How to reach the organisation.
    pub contact: Contact,
    /// Where people can ask whether they are affected.
    pub inquiry_desk: InquiryDesk,
}

/// An inquiry desk ("am I affected?"): phone, e-mail and opening hours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InquiryDesk {
    /// Phone number (toll-free where the law asks for it).
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Opening hours, in words.
    pub hours: Option<String>,
}

impl InquiryDesk {
    /// Whether people can reach the desk (a phone number or an e-mail address).
    pub fn is_given(&self) -> bool {
        [&self.phone, &self.email]
            .iter()
            .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()))
    }
}

/// The text items of a locale, in page order, with their field names.
pub const TEXT_ITEMS: [&str; 6] = [
    "title",
    "summary",
    "likely_impact",
    "measures_taken",
    "advice",
    "remedies",
];

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 5_000;

impl BulletinText {
    /// `(item, text)` for every free-text field, including contact and desk values.
    pub fn texts(&self) -> Vec<(String, &str)> {
        let items = [
            &self.title,
            &self.summary,
            &self.likely_impact,
            &self.measures_taken,
            &self.advice,
            &self.remedies,
        ];
        let mut out: Vec<(String, &str)> = TEXT_ITEMS
            .iter()
            .zip(items)
            .map(|(name, text)| ((*name).to_owned(), text.as_str()))
            .collect();
        let c = &self.contact;
        let d = &self.inquiry_desk;
        let optional = [
            ("contact.name", &c.name),
            ("contact.email", &c.email),
            ("contact.phone", &c.phone),
            ("contact.url", &c.url),
            ("inquiry_desk.phone", &d.phone),
            ("inquiry_desk.email", &d.email),
            ("inquiry_desk.hours", &d.hours),
        ];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(name, v)| v.as_deref().map(|v| (name.to_owned(), v))),
        );
        out
    }
}

impl BulletinContent {
    /// Parses `{default_locale, locales: {<locale>: {title, summary, likely_impact,
    /// measures_taken, advice, remedies, contact: {…}, inquiry_desk: {…}}}}`.
    /// `authoritative` (the tenant's prevailing language) must be among the locales.
    pub fn parse(
        body: &Map<String, Value>,
        authoritative: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let (default_locale, locales) = read_localized(body, authoritative, parse_locale)?;
        Ok(Self {
            default_locale,
            locales,
        })
    }

    /// The locales, the authoritative one (else the default) first.
    pub fn ordered_locales(&self, authoritative: Option<&str>) -> Vec<&str> {
        let first = authoritative
            .and_then(|l| self.locales.get_key_value(l))
            .map_or(self.default_locale.as_str(), |(k, _)| k.as_str());
        let mut out = vec![first];
        out.extend(
            self.locales
                .keys()
                .map(String::as_str)
                .filter(|l| *l != first),
        );
        out
    }

    /// SHA-256 (hex) of the canonical JSON form: what an approval is bound to.
    pub fn sha256(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }

    /// Required items left blank, as `locales.<locale>.<item>`: every text item, a
    /// way of contact, and (when `desk_required`) an inquiry desk.
    pub fn blanks(&self, desk_required: bool) -> Vec<FieldError> {
        let mut out = Vec::new();
        for (locale, text) in &self.locales {
            let at = |item: &str| format!("locales.{locale}.{item}");
            for (item, value) in text.texts().into_iter().take(TEXT_ITEMS.len()) {
                if value.trim().is_empty() {
                    out.push(FieldError::new(at(&item), "is blank; publication needs it"));
                }
            }
            if !text.contact.is_given() {
                out.push(FieldError::new(
                    at("contact"),
                    "needs an e-mail address, phone number or web page",
                ));
            }
            if desk_required && !text.inquiry_desk.is_given() {
                out.push(FieldError::new(
                    at("inquiry_desk"),
                    "a law that applies asks for an inquiry desk: give its phone or e-mail",
                ));
            }
        }
        out
    }
}

fn parse_locale(locale: &str, value: &Value) -> Result<BulletinText, Vec<FieldError>> {
    let path = |field: &str| format!("locales.{locale}.{field}");
    if !is_locale(locale) {
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
    let mut known: Vec<&str> = TEXT_ITEMS.to_vec();
    known.extend(["contact", "inquiry_desk"]);
    let mut r = Reader::new(map, &known);
    let mut text = |key: &str, max: usize| match map.get(key).and_then(Value::as_str) {
        Some(s) if s.trim().is_empty() => String::new(),
        _ if key == "title" => r.text(key, max).or_keep(None).unwrap_or_default(),
        _ => r.prose(key, max).or_keep(None).unwrap_or_default(),
    };
    let mut bulletin = BulletinText {
        title: text("title", MAX_TITLE),
        summary: text("summary", MAX_TEXT),
        likely_impact: text("likely_impact", MAX_TEXT),
        measures_taken: text("measures_taken", MAX_TEXT),
        advice: text("advice", MAX_TEXT),
        remedies: text("remedies", MAX_TEXT),
        ..BulletinText::default()
    };
    let mut errors = Vec::new();
    let mut nested = |key: &str, fields: &[(&str, usize)]| -> Vec<Option<String>> {
        let read = map
            .get(key)
            .filter(|v| !v.is_null())
            .map(|v| object_fields(v, fields));
        match read {
            None => vec![None; fields.len()],
            Some(Ok(values)) => values,
            Some(Err(e)) => {
                errors.extend(e.into_iter().map(|e| {
                    let field = match e.field.as_str() {
                        "" => key.to_owned(),
                        f => format!("{key}.{f}"),
                    };
                    FieldError::new(path(&field), e.reason)
                }));
                vec![None; fields.len()]
            }
        }
    };
    let contact = nested(
        "contact",
        &[("name", 200), ("email", 254), ("phone", 50), ("url", 500)],
    );
    let desk = nested(
        "inquiry_desk",
        &[("phone", 50), ("email", 254), ("hours", 200)],
    );
    bulletin.contact = Contact {
        name: contact[0].clone(),
        email: contact[1].clone(),
        phone: contact[2].clone(),
        url: contact[3].clone(),
    };
    bulletin.inquiry_desk = InquiryDesk {
        phone: desk[0].clone(),
        email: desk[1].clone(),
        hours: desk[2].clone(),
    };
    check_shapes(&bulletin, &mut errors, &path);
    match r.finish(bulletin) {
        Ok(bulletin) if errors.is_empty() => Ok(bulletin),
        Ok(_) => Err(errors),
        Err(e) => Err(e
            .into_iter()
            .map(|e| FieldError::new(path(&e.field), e.reason))
            .chain(errors)
            .collect()),
    }
}

/// An object of optional strings with the given maximum lengths, in order.
fn object_fields(
    value: &Value,
    fields: &[(&str, usize)],
) -> Result<Vec<Option<String>>, Vec<FieldError>> {
    let Some(map) = value.as_object() else {
        let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        return Err(vec![FieldError::new(
            "",
            format!("expected an object {{{}}}", names.join(", ")),
        )]);
    };
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    let mut r = Reader::new(map, &names);
    let values = fields
        .iter()
        .map(|(name, max)| r.text(name, *max).or_keep(None))
        .collect();
    r.finish(values)
}

fn check_shapes(text: &BulletinText, errors: &mut Vec<FieldError>, path: &dyn Fn(&str) -> String) {
    let bad_email = |e: &Option<String>| {
        e.as_deref()
            .is_some_and(|e| !e.contains('@') || e.contains(char::is_whitespace))
    };
    if bad_email(&text.contact.email) {
        errors.push(FieldError::new(
            path("contact.email"),
            "not a valid e-mail address",
        ));
    }
    if bad_email(&text.inquiry_desk.email) {
        errors.push(FieldError::new(
            path("inquiry_desk.email"),
            "not a valid e-mail address",
        ));
    }
    let bad_url = text
        .contact
        .url
        .as_deref()
        .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")));
    if bad_url {
        errors.push(FieldError::new(
            path("contact.url"),
            "must start with https:// or http://",
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn parse(v: Value, authoritative: Option<&str>) -> Result<BulletinContent, Vec<FieldError>> {
        BulletinContent::parse(v.as_object().unwrap(), authoritative)
    }

    fn fields(r: Result<BulletinContent, Vec<FieldError>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn parses_and_names_bad_paths() {
        let ok = parse(
            json!({"default_locale": "ja", "locales": {"ja": {"title": "お知らせ", "inquiry_desk": {"phone": "0120-000-000"}}, "en": {}}}),
            Some("ja"),
        )
        .unwrap();
        assert_eq!(ok.locales["ja"].title, "お知らせ");
        assert!(ok.locales["ja"].inquiry_desk.is_given());
        assert_eq!(ok.ordered_locales(Some("ja")), ["ja", "en"]);
        assert_eq!(ok.sha256().len(), 64);
        assert_eq!(
            fields(parse(
                json!({"default_locale": "en", "locales": {"en": {}}}),
                Some("ja")
            )),
            ["locales.ja"]
        );
        assert_eq!(
            fields(parse(
                json!({"default_locale": "en", "locales": {"en": {"titel": "x", "contact": {"url": "ftp://x"}, "inquiry_desk": {"fax": "1"}}}}),
                None
            )),
            [
                "locales.en.titel",
                "locales.en.inquiry_desk.fax",
                "locales.en.contact.url"
            ]
        );
    }

    #[test]
    fn blanks_name_locale_and_item() {
        let c = parse(
            json!({"default_locale": "en", "locales": {"en": {"title": "T", "summary": "S", "likely_impact": "I",
                "measures_taken": "M", "advice": "A", "remedies": " ", "contact": {"email": "p@example.com"}}}}),
            None,
        )
        .unwrap();
        let blank: Vec<String> = c.blanks(false).into_iter().map(|e| e.field).collect();
        assert_eq!(blank, ["locales.en.remedies"]);
        let blank: Vec<String> = c.blanks(true).into_iter().map(|e| e.field).collect();
        assert_eq!(blank, ["locales.en.remedies", "locales.en.inquiry_desk"]);
    }
}
