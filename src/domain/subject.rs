//! Data subjects: the people whose data a tenant holds, validated field by field.
//!
//! Reasons never repeat the rejected value when it may be personal data
//! ("not a valid e-mail address", not the address), so they are safe to log
//! and to return in bulk-import reports.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Channel, DataCategory, FieldError, Jurisdiction};

vocabulary! {
    /// The fields of a subject, named as in CSV headers and JSON keys.
    SubjectField {
        ExternalId => "external_id",
        Name => "name",
        Email => "email",
        Phone => "phone",
        Locale => "locale",
        Jurisdiction => "jurisdiction",
        BirthDate => "birth_date",
        GuardianName => "guardian_name",
        GuardianEmail => "guardian_email",
        GuardianPhone => "guardian_phone",
        GuardianPushToken => "guardian_push_token",
        GuardianPostalAddress => "guardian_postal_address",
        PushToken => "push_token",
        PostalAddress => "postal_address",
        PreferredChannel => "preferred_channel",
        Systems => "systems",
        DataCategories => "data_categories",
    }
}

/// Longest accepted `external_id`, in characters.
pub const MAX_EXTERNAL_ID: usize = 200;

/// One person in a tenant's registry. Sets are sorted and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// The tenant's own identifier, unique per tenant.
    pub external_id: String,
    /// Full name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number in E.164 form.
    pub phone: Option<String>,
    /// BCP 47 language tag.
    pub locale: Option<String>,
    /// Where the person lives, for the regime engine.
    pub jurisdiction: Option<Jurisdiction>,
    /// Date of birth, to tell minors.
    pub birth_date: Option<NaiveDate>,
    /// Guardian's name (notices to minors go to the guardian).
    pub guardian_name: Option<String>,
    /// Guardian's e-mail address.
    pub guardian_email: Option<String>,
    /// Guardian's phone number, E.164.
    pub guardian_phone: Option<String>,
    /// Push-notification token of the guardian's own device.
    pub guardian_push_token: Option<String>,
    /// Guardian's postal address, for letters.
    pub guardian_postal_address: Option<String>,
    /// Push-notification token.
    pub push_token: Option<String>,
    /// Postal address, for letters.
    pub postal_address: Option<String>,
    /// The channel the person asked for.
    pub preferred_channel: Option<Channel>,
    /// Systems holding the person's data.
    pub systems: Vec<String>,
    /// Kinds of personal data held.
    pub data_categories: Vec<DataCategory>,
}

/// Validates raw field values into a [`Subject`]. Holds the date that counts
/// as "today" and a cache of jurisdiction codes (parsing them is the costly
/// part of a million-row import).
#[derive(Debug, Clone)]
pub struct SubjectParser {
    today: NaiveDate,
    jurisdictions: HashMap<String, Result<Jurisdiction, String>>,
}

impl SubjectParser {
    /// A parser that rejects birth dates after `today`.
    pub fn new(today: NaiveDate) -> Self {
        Self {
            today,
            jurisdictions: HashMap::new(),
        }
    }

    /// Sets `field` from text as found in a CSV cell: trimmed, empty means
    /// absent, sets separated by `;`.
    pub fn set_text(
        &mut self,
        subject: &mut Subject,
        field: SubjectField,
        raw: &str,
    ) -> Result<(), String> {
        let text = raw.trim();
        let value = (!text.is_empty()).then_some(text);
        match field {
            SubjectField::Systems => {
                subject.systems = parse_systems(value.into_iter().flat_map(|v| v.split(';')))?;
            }
            SubjectField::DataCategories => {
                subject.data_categories =
                    parse_categories(value.into_iter().flat_map(|v| v.split(';')))?;
            }
            _ => self.set_scalar(subject, field, value)?,
        }
        Ok(())
    }

    /// Sets `field` from a JSON value: `null` clears it, sets are arrays of strings.
    pub fn set_json(
        &mut self,
        subject: &mut Subject,
        field: SubjectField,
        value: &Value,
    ) -> Result<(), String> {
        match (field, value) {
            (SubjectField::Systems, Value::Null) => subject.systems.clear(),
            (SubjectField::DataCategories, Value::Null) => subject.data_categories.clear(),
            (SubjectField::Systems, v) => subject.systems = parse_systems(strings(v)?)?,
            (SubjectField::DataCategories, v) => {
                subject.data_categories = parse_categories(strings(v)?)?;
            }
            (_, Value::Null) => self.set_scalar(subject, field, None)?,
            (_, Value::String(s)) => {
                let text = s.trim();
                if text.is_empty() {
                    return Err("must not be empty: send null to clear it".into());
                }
                self.set_scalar(subject, field, Some(text))?;
            }
            _ => return Err("expected a string or null".into()),
        }
        Ok(())
    }

    /// Reads one subject from a JSON object (an NDJSON line); `external_id`
    /// is required, unknown keys are rejected.
    pub fn from_json(&mut self, object: &Map<String, Value>) -> Result<Subject, Vec<FieldError>> {
        let mut subject = Subject::default();
        let mut errors = Vec::new();
        for (key, value) in object {
            match key.parse::<SubjectField>() {
                Ok(field) => {
                    if let Err(reason) = self.set_json(&mut subject, field, value) {
                        errors.push(FieldError::new(key.as_str(), reason));
                    }
                }
                Err(_) => errors.push(FieldError::new(key.as_str(), "unknown field")),
            }
        }
        if subject.external_id.is_empty() && !object.contains_key("external_id") {
            errors.push(FieldError::new("external_id", "is required"));
        }
        if errors.is_empty() {
            Ok(subject)
        } else {
            Err(errors)
        }
    }

    /// Applies a PATCH body to `current`: an absent key keeps the value, `null`
    /// clears it; `external_id` cannot change.
    pub fn apply_patch(
        &mut self,
        current: &Subject,
        body: &Map<String, Value>,
    ) -> Result<Subject, Vec<FieldError>> {
        let mut subject = current.clone();
        let mut errors = Vec::new();
        for (key, value) in body {
            match key.parse::<SubjectField>() {
                Ok(SubjectField::ExternalId) => {
                    if value.as_str().map(str::trim) != Some(current.external_id.as_str()) {
                        errors.push(FieldError::new(key.as_str(), "cannot be changed"));
                    }
                }
                Ok(field) => {
                    if let Err(reason) = self.set_json(&mut subject, field, value) {
                        errors.push(FieldError::new(key.as_str(), reason));
                    }
                }
                Err(_) => errors.push(FieldError::new(key.as_str(), "unknown field")),
            }
        }
        if errors.is_empty() {
            Ok(subject)
        } else {
            Err(errors)
        }
    }

    fn set_scalar(
        &mut self,
        s: &mut Subject,
        field: SubjectField,
        value: Option<&str>,
    ) -> Result<(), String> {
        use SubjectField as F;
        match field {
            F::ExternalId => s.external_id = parse_external_id(value)?,
            F::Name => s.name = check(value, |v| bounded(v, 200))?,
            F::GuardianName => s.guardian_name = check(value, |v| bounded(v, 200))?,
            F::Email => s.email = check(value, email)?,
            F::GuardianEmail => s.guardian_email = check(value, email)?,
            F::Phone => s.phone = check(value, phone)?,
            F::GuardianPhone => s.guardian_phone = check(value, phone)?,
            F::Locale => s.locale = check(value, locale)?,
            F::PushToken => s.push_token = check(value, |v| bounded(v, 4096))?,
            F::GuardianPushToken => s.guardian_push_token = check(value, |v| bounded(v, 4096))?,
            F::GuardianPostalAddress => {
                s.guardian_postal_address = check(value, postal_address)?;
            }
            F::PostalAddress => s.postal_address = check(value, postal_address)?,
            F::PreferredChannel => s.preferred_channel = check(value, str::parse)?,
            F::Jurisdiction => s.jurisdiction = check(value, |v| self.jurisdiction(v))?,
            F::BirthDate => s.birth_date = check(value, |v| birth_date(v, self.today))?,
            F::Systems | F::DataCategories => return Err("expected a list".into()),
        }
        Ok(())
    }

    fn jurisdiction(&mut self, code: &str) -> Result<Jurisdiction, String> {
        if let Some(known) = self.jurisdictions.get(code) {
            return known.clone();
        }
        let parsed = Jurisdiction::parse(code);
        if self.jurisdictions.len() < 10_000 {
            self.jurisdictions.insert(code.to_owned(), parsed.clone());
        }
        parsed
    }
}

/// Checks a present value; absent stays absent.
fn check<T>(
    value: Option<&str>,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    value.map(check).transpose()
}

fn strings(v: &Value) -> Result<impl Iterator<Item = &str>, String> {
    let items = v.as_array().ok_or("expected an array of strings")?;
    if items.iter().any(|i| !i.is_string()) {
        return Err("expected an array of strings".into());
    }
    Ok(items.iter().filter_map(Value::as_str))
}

fn parse_external_id(value: Option<&str>) -> Result<String, String> {
    let id = value.ok_or("is required")?;
    if id.chars().count() > MAX_EXTERNAL_ID || id.chars().any(char::is_control) {
        return Err(format!(
            "must be 1-{MAX_EXTERNAL_ID} characters without control characters"
        ));
    }
    Ok(id.to_owned())
}

/// Checks one `external_id` as found in a list (scope, upload): trimmed, non-empty.
pub fn external_id(text: &str) -> Result<String, String> {
    let text = text.trim();
    parse_external_id((!text.is_empty()).then_some(text))
}

fn bounded(v: &str, max: usize) -> Result<String, String> {
    if v.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(v.to_owned())
}

fn postal_address(v: &str) -> Result<String, String> {
    if v.chars().count() > 1000 {
        return Err("must be at most 1000 characters".into());
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err("must not contain control characters other than line breaks".into());
    }
    Ok(v.to_owned())
}

/// A pragmatic e-mail check: one `@`, a non-empty local part, a dotted domain
/// without empty labels, no spaces, at most 254 characters.
pub fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    v.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.contains('@')
        && domain.split('.').all(|label| !label.is_empty())
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn email(v: &str) -> Result<String, String> {
    if is_email(v) {
        Ok(v.to_owned())
    } else {
        Err("not a valid e-mail address".into())
    }
}

/// E.164: `+`, then 8-15 digits, the first not 0.
pub fn is_e164(v: &str) -> bool {
    let Some(digits) = v.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn phone(v: &str) -> Result<String, String> {
    if is_e164(v) {
        Ok(v.to_owned())
    } else {
        Err("not an E.164 phone number (+ and 8-15 digits, e.g. +819012345678)".into())
    }
}

fn locale(v: &str) -> Result<String, String> {
    if crate::domain::is_locale(v) {
        Ok(v.to_owned())
    } else {
        Err("not a BCP 47 language tag such as ja, en, zh-CN".into())
    }
}

/// `YYYY-MM-DD`, a real calendar date, not after `today`.
fn birth_date(v: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let b = v.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let date = shaped
        .then(|| {
            let num = |r: std::ops::Range<usize>| v[r].parse::<u32>().ok();
            let year = i32::try_from(num(0..4)?).ok()?;
            NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)
        })
        .flatten()
        .ok_or("not a real date in the form YYYY-MM-DD")?;
    if date > today {
        return Err("is in the future".into());
    }
    Ok(date)
}

/// Checks one system name: 1-100 characters, no `|` or `;` (the import's list
/// separators), no control characters.
pub fn system_name(item: &str) -> Result<&str, String> {
    let ok = (1..=100).contains(&item.chars().count())
        && !item.contains(['|', ';'])
        && !item.chars().any(char::is_control);
    ok.then_some(item)
        .ok_or_else(|| "system names are 1-100 characters without | or ;".into())
}

fn parse_systems<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in items.map(str::trim).filter(|i| !i.is_empty()) {
        out.push(system_name(item)?.to_owned());
    }
    if out.len() > 100 {
        return Err("at most 100 systems".into());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn parse_categories<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<DataCategory>, String> {
    let mut out = items
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::parse)
        .collect::<Result<Vec<DataCategory>, String>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Bit `i` set for `DataCategory::ALL[i]`, the stored form of a category set.
pub fn category_mask(categories: &[DataCategory]) -> i64 {
    categories.iter().fold(0, |mask, c| {
        let bit = DataCategory::ALL.iter().position(|x| x == c).unwrap_or(0);
        mask | (1 << bit)
    })
}

/// The categories whose bits are set in `mask`.
pub fn categories_of_mask(mask: i64) -> Vec<DataCategory> {
    DataCategory::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// The stored form of a system set: `|crm|billing|`, or empty for none.
pub fn encode_systems(systems: &[String]) -> String {
    if systems.is_empty() {
        return String::new();
    }
    let mut out = String::from("|");
    for s in systems {
        out.push_str(s);
        out.push('|');
    }
    out
}

/// The systems of a stored `|a|b|` text.
pub fn decode_systems(text: &str) -> Vec<String> {
    text.split('|')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Subject {
    /// A 64-bit FNV-1a fingerprint of every value, stable across builds, so an
    /// upsert can leave unchanged rows alone and count only real changes.
    pub fn content_hash(&self) -> i64 {
        let mut h = Fnv::default();
        h.text(Some(&self.external_id));
        for v in [
            &self.name,
            &self.email,
            &self.phone,
            &self.locale,
            &self.guardian_name,
            &self.guardian_email,
            &self.guardian_phone,
            &self.push_token,
            &self.postal_address,
        ] {
            h.text(v.as_deref());
        }
        h.text(self.jurisdiction.as_ref().map(Jurisdiction::as_str));
        h.text(self.birth_date.map(|d| d.to_string()).as_deref());
        h.text(self.preferred_channel.map(Channel::as_str));
        h.text(Some(&encode_systems(&self.systems)));
        h.bytes(&category_mask(&self.data_categories).to_le_bytes());
        // Fields added later count only when present, so rows stored before they
        // existed keep their fingerprint (a re-import finds them unchanged).
        for (tag, v) in [
            ("gpt", &self.guardian_push_token),
            ("gpa", &self.guardian_postal_address),
        ] {
            if let Some(v) = v {
                h.text(Some(tag));
                h.text(Some(v));
            }
        }
        i64::from_le_bytes(h.0.to_le_bytes())
    }
}

struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Each value ends in a byte that UTF-8 text never contains; absent differs from empty.
    fn text(&mut self, v: Option<&str>) {
        match v {
            Some(t) => {
                self.bytes(t.as_bytes());
                self.bytes(&[0xff]);
            }
            None => self.bytes(&[0xfe]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> SubjectParser {
        SubjectParser::new(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())
    }

    fn set(field: SubjectField, raw: &str) -> Result<Subject, String> {
        let mut s = Subject::default();
        parser().set_text(&mut s, field, raw).map(|()| s)
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@mail.example.jp"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "a", "@b.co", "a@b", "a@@b.co", "a b@c.de", "a@.b.co", "a@b..co", "a@b.co.",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(!is_email(&format!("{}@example.com", "a".repeat(250))));
    }

    #[test]
    fn phones() {
        assert!(is_e164("+819012345678") && is_e164("+12025550123") && is_e164("+49301234"));
        for bad in [
            "819012345678",
            "+0123456789",
            "+1234567",
            "+1234567890123456",
            "+81 90 1234",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn dates_must_be_real_and_past() {
        assert_eq!(
            set(SubjectField::BirthDate, "2008-02-29")
                .unwrap()
                .birth_date,
            NaiveDate::from_ymd_opt(2008, 2, 29)
        );
        for bad in [
            "2007-02-29",
            "2026-03-02",
            "1990-1-01",
            "01/02/1990",
            "1990-13-01",
            "+199-01-01",
        ] {
            assert!(set(SubjectField::BirthDate, bad).is_err(), "{bad}");
        }
        assert!(
            set(SubjectField::BirthDate, "2026-03-01").is_ok(),
            "today is fine"
        );
    }

    #[test]
    fn reasons_do_not_echo_personal_data() {
        let err = set(SubjectField::Email, "secret.person@nowhere").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
        let err = set(SubjectField::Phone, "+0999").unwrap_err();
        assert!(!err.contains("0999"), "{err}");
    }

    #[test]
    fn sets_from_csv_cells_and_json() {
        let s = set(SubjectField::Systems, " crm ;billing;crm;").unwrap();
        assert_eq!(s.systems, ["billing", "crm"]);
        assert_eq!(encode_systems(&s.systems), "|billing|crm|");
        assert_eq!(decode_systems("|billing|crm|"), s.systems);
        let s = set(SubjectField::DataCategories, "health;contact").unwrap();
        assert_eq!(
            s.data_categories,
            [DataCategory::Contact, DataCategory::Health]
        );
        assert_eq!(
            categories_of_mask(category_mask(&s.data_categories)),
            s.data_categories
        );
        assert!(set(SubjectField::DataCategories, "contact;dna").is_err());
        assert!(set(SubjectField::Systems, "a|b").is_err());
        let json: Map<String, Value> = serde_json::from_str(
            r#"{"external_id":"S-1","systems":["crm"],"jurisdiction":"us-ca","email":null}"#,
        )
        .unwrap();
        let s = parser().from_json(&json).unwrap();
        assert_eq!(s.jurisdiction.unwrap().as_str(), "US-CA");
        let bad: Map<String, Value> =
            serde_json::from_str(r#"{"name":"x","systems":"crm","colour":"red"}"#).unwrap();
        let fields: Vec<_> = parser()
            .from_json(&bad)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["colour", "systems", "external_id"]);
    }

    #[test]
    fn content_hash_tells_changes() {
        let a = set(SubjectField::ExternalId, "S-1").unwrap();
        let mut b = a.clone();
        assert_eq!(a.content_hash(), b.content_hash());
        b.name = Some(String::new());
        assert_ne!(
            a.content_hash(),
            b.content_hash(),
            "empty differs from absent"
        );
    }

    #[test]
    fn patch_keeps_absent_and_clears_null() {
        let mut p = parser();
        let current = p
            .from_json(
                &serde_json::from_str(r#"{"external_id":"S-1","name":"A","email":"a@b.co"}"#)
                    .unwrap(),
            )
            .unwrap();
        let body = serde_json::from_str(r#"{"email":null,"locale":"ja"}"#).unwrap();
        let next = p.apply_patch(&current, &body).unwrap();
        assert_eq!(
            (next.name.as_deref(), next.email, next.locale.as_deref()),
            (Some("A"), None, Some("ja"))
        );
        let body = serde_json::from_str(r#"{"external_id":"S-2"}"#).unwrap();
        assert!(p.apply_patch(&current, &body).is_err());
    }
}
