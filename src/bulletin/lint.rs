//! The personal-data lint: a public bulletin must not name anyone it covers.
//!
//! The bulletin's text is cut once into candidate keys (e-mail addresses, phone
//! numbers, id-like tokens, and names: runs of up to four words, and CJK runs of
//! two to eight characters, normalised) held in a hash map; each affected person's
//! identifiers are then looked up in it, so the cost is one pass over the set with
//! constant-time lookups, never a search of the text per person.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::content::BulletinContent;
use crate::domain::FieldError;

/// What kind of personal data was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Found {
    /// A person's (or guardian's) name.
    Name,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// An external id.
    ExternalId,
}

impl Found {
    fn words(self) -> &'static str {
        match self {
            Found::Name => "the name",
            Found::Email => "the e-mail address",
            Found::Phone => "the phone number",
            Found::ExternalId => "the id",
        }
    }
}

/// The identifiers of one affected person (and guardian) to look up.
#[derive(Debug, Clone, Default)]
pub struct Identifiers<'a> {
    /// External id.
    pub external_id: &'a str,
    /// Names (the person's and a guardian's).
    pub names: Vec<&'a str>,
    /// E-mail addresses.
    pub emails: Vec<&'a str>,
    /// Phone numbers.
    pub phones: Vec<&'a str>,
}

/// The bulletin cut into lookup keys, each with the fields it came from.
#[derive(Debug, Default)]
pub struct Candidates {
    keys: HashMap<(KeyKind, String), BTreeSet<String>>,
    found: BTreeMap<String, BTreeSet<Found>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum KeyKind {
    Text,
    Email,
    Phone,
    Token,
}

/// Phone numbers are compared on their last digits, so national and E.164 forms
/// of one number match (090-1234-5678 and +81 90 1234 5678).
const PHONE_DIGITS: usize = 9;
/// Longest CJK run taken as a name candidate, in characters.
const CJK_MAX: usize = 8;
/// Longest run of words taken as a name candidate.
const WORDS_MAX: usize = 4;

impl Candidates {
    /// Cuts every text field of every locale into keys.
    pub fn of(content: &BulletinContent) -> Self {
        let mut c = Self::default();
        for (locale, text) in &content.locales {
            for (item, value) in text.texts() {
                c.add(&format!("locales.{locale}.{item}"), value);
            }
        }
        c
    }

    fn add(&mut self, path: &str, text: &str) {
        let mut put = |kind: KeyKind, key: String| {
            self.keys
                .entry((kind, key))
                .or_default()
                .insert(path.to_owned());
        };
        let tokens: Vec<&str> = text
            .split(|ch: char| {
                ch.is_whitespace() || ",;()[]{}<>\"'「」『』（）、。，；：".contains(ch)
            })
            .map(|t| t.trim_matches(|ch: char| ".:!?".contains(ch)))
            .filter(|t| !t.is_empty())
            .collect();
        for token in &tokens {
            if token.contains('@') {
                put(KeyKind::Email, token.to_lowercase());
            }
            put(KeyKind::Token, (*token).to_owned());
        }
        for digits in phone_runs(text) {
            put(KeyKind::Phone, digits);
        }
        for key in name_keys(&tokens) {
            put(KeyKind::Text, key);
        }
    }

    /// Looks up one person; records every field that names them.
    pub fn check(&mut self, person: &Identifiers<'_>) {
        let mut hits: Vec<(KeyKind, String, Found)> = Vec::new();
        if person.external_id.chars().count() >= 2 {
            hits.push((
                KeyKind::Token,
                person.external_id.to_owned(),
                Found::ExternalId,
            ));
        }
        for name in &person.names {
            let key = normalise(name);
            if key.chars().count() >= 2 {
                hits.push((KeyKind::Text, key, Found::Name));
            }
        }
        for email in &person.emails {
            hits.push((KeyKind::Email, email.trim().to_lowercase(), Found::Email));
        }
        for phone in &person.phones {
            if let Some(tail) = phone_tail(phone) {
                hits.push((KeyKind::Phone, tail, Found::Phone));
            }
        }
        for (kind, key, found) in hits {
            if let Some(paths) = self.keys.get(&(kind, key)) {
                for path in paths {
                    self.found.entry(path.clone()).or_default().insert(found);
                }
            }
        }
    }

    /// One error per field that names an affected person, saying what kind of
    /// data (never the value).
    pub fn errors(&self) -> Vec<FieldError> {
        self.found
            .iter()
            .map(|(path, kinds)| {
                let what: Vec<&str> = kinds.iter().map(|k| k.words()).collect();
                FieldError::new(
                    path.clone(),
                    format!(
                        "contains personal data of an affected person ({}): a public bulletin must not identify anyone",
                        what.join(", ")
                    ),
                )
            })
            .collect()
    }
}

/// Lower case, without spaces and name punctuation, so `Sato  Aiko`, `sato aiko` and
/// `佐藤 愛子` / `佐藤愛子` compare equal.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !"・·.-_'".contains(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Runs of one to four consecutive tokens, and every CJK substring of two to
/// eight characters (CJK names are not separated by spaces), normalised.
fn name_keys(tokens: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for start in 0..tokens.len() {
        for len in 1..=WORDS_MAX.min(tokens.len() - start) {
            out.insert(normalise(&tokens[start..start + len].join(" ")));
        }
    }
    let joined: String = tokens.concat();
    for run in joined.split(|c: char| !is_cjk(c)) {
        let chars: Vec<char> = run.chars().collect();
        for start in 0..chars.len() {
            for len in 2..=CJK_MAX.min(chars.len() - start) {
                out.insert(chars[start..start + len].iter().collect());
            }
        }
    }
    out
}

/// The last digits of every number in the text written with digits, spaces,
/// dashes, dots, parentheses or a leading `+` (at least `PHONE_DIGITS` digits).
fn phone_runs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else if !(run.is_empty() || " -.()+\u{2010}\u{2212}".contains(c) && c != '\n') {
            out.extend(phone_tail(&run));
            run.clear();
        }
    }
    out
}

fn phone_tail(phone: &str) -> Option<String> {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= PHONE_DIGITS).then(|| digits[digits.len() - PHONE_DIGITS..].iter().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn content(text: &str) -> BulletinContent {
        let v = json!({"default_locale": "en", "locales": {"en": {"title": "Notice", "summary": text,
            "contact": {"email": "privacy@tenant.example", "phone": "+81 3 0000 0000"}}}});
        BulletinContent::parse(v.as_object().unwrap(), None).unwrap()
    }

    fn lint(text: &str, person: Identifiers<'_>) -> Vec<String> {
        let mut c = Candidates::of(&content(text));
        c.check(&Identifiers {
            external_id: "zz-unused",
            names: vec!["Nobody Known"],
            ..Identifiers::default()
        });
        c.check(&person);
        c.errors()
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.reason))
            .collect()
    }

    fn aiko() -> Identifiers<'static> {
        Identifiers {
            external_id: "JP-000123",
            names: vec!["Sato Aiko", "佐藤 愛子"],
            emails: vec!["Aiko@Example.jp"],
            phones: vec!["+819012345678"],
        }
    }

    #[test]
    fn finds_each_kind_of_identifier_in_any_form() {
        for (text, kind) in [
            ("Customers such as SATO  aiko were affected.", "the name"),
            ("お客様（佐藤愛子様）の情報", "the name"),
            ("Write to aiko@example.jp.", "the e-mail address"),
            ("Call 090-1234-5678 now", "the phone number"),
            ("Account JP-000123, closed.", "the id"),
        ] {
            let errors = lint(text, aiko());
            assert_eq!(errors.len(), 1, "{text}: {errors:?}");
            assert!(
                errors[0].starts_with(
                    "locales.en.summary: contains personal data of an affected person ("
                ) && errors[0].contains(kind),
                "{text}: {errors:?}"
            );
        }
    }

    #[test]
    fn ordinary_text_and_the_tenants_own_contact_pass() {
        let errors = lint(
            "About 1,000 customers of our Tokyo office were affected; call +81 3 0000 0000. 佐藤さんではありません。",
            aiko(),
        );
        assert_eq!(errors, Vec::<String>::new());
    }

    #[test]
    fn a_large_set_is_one_pass_of_lookups() {
        let mut c = Candidates::of(&content(
            "An attacker copied records; Person 99999 Name is named here.",
        ));
        let started = std::time::Instant::now();
        for i in 0..200_000 {
            let (id, name, email) = (
                format!("id-{i}"),
                format!("Person {i} Name"),
                format!("p{i}@example.com"),
            );
            c.check(&Identifiers {
                external_id: &id,
                names: vec![&name],
                emails: vec![&email],
                phones: vec![],
            });
        }
        assert_eq!(c.errors().len(), 1);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
