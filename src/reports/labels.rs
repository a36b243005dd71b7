//! The words around a report's items, per language (`templates/reports/labels/<lang>.toml`),
//! and how values read in that language: counts with thousands separators, vocabulary
//! words in the language's terms, named parts as `name: value` lines.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use super::document::ItemValue;

/// The words of one language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Labels {
    /// Joins list entries (`, ` or `、`).
    pub list_separator: String,
    /// Headings and sentences around the items.
    pub text: BTreeMap<String, String>,
    /// Vocabulary words (categories, causes, channels, outcomes, …) in this language.
    pub words: BTreeMap<String, String>,
}

/// Every language's labels, checked to have the same keys as English.
pub(crate) struct LabelSet {
    languages: BTreeMap<String, Labels>,
}

impl LabelSet {
    /// Parses `(language, toml)` pairs; English is required and sets the keys.
    pub fn from_files<'a>(
        files: impl Iterator<Item = (String, std::borrow::Cow<'a, str>)>,
    ) -> anyhow::Result<Self> {
        let mut languages = BTreeMap::new();
        for (language, text) in files {
            let labels: Labels = toml::from_str(&text)
                .with_context(|| format!("templates/reports/labels/{language}.toml"))?;
            languages.insert(language, labels);
        }
        let Some(english) = languages.get("en") else {
            bail!("templates/reports/labels/en.toml is missing");
        };
        for (language, labels) in &languages {
            same_keys(&english.text, &labels.text)
                .and_then(|()| same_keys(&english.words, &labels.words))
                .with_context(|| format!("templates/reports/labels/{language}.toml"))?;
        }
        Ok(Self { languages })
    }

    /// The labels of `language`.
    pub fn get(&self, language: &str) -> anyhow::Result<&Labels> {
        self.languages
            .get(language)
            .with_context(|| format!("no report labels for language '{language}'"))
    }

    /// Whether `language` has labels.
    pub fn has(&self, language: &str) -> bool {
        self.languages.contains_key(language)
    }
}

fn same_keys(
    expected: &BTreeMap<String, String>,
    got: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    if let Some(k) = expected.keys().find(|k| !got.contains_key(*k)) {
        bail!("missing key '{k}'");
    }
    if let Some(k) = got.keys().find(|k| !expected.contains_key(*k)) {
        bail!("unknown key '{k}' (not in en.toml)");
    }
    Ok(())
}

impl Labels {
    /// A heading or sentence; keys are checked against English at load, so a missing
    /// key is a template defect shown as the key itself.
    pub fn text(&self, key: &str) -> String {
        self.text
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// A vocabulary word in this language, or the text itself when it is not one.
    pub fn word(&self, text: &str) -> String {
        self.words
            .get(text)
            .cloned()
            .unwrap_or_else(|| text.to_owned())
    }

    /// The value as lines of text in this language.
    pub fn lines(&self, value: &ItemValue) -> Vec<String> {
        match value {
            ItemValue::Record(parts) => parts
                .iter()
                .map(|(name, part)| format!("{}: {}", self.word(name), self.inline(part)))
                .collect(),
            ItemValue::Text(text) if text.contains('\n') => {
                text.lines().map(str::to_owned).collect()
            }
            other => vec![self.inline(other)],
        }
    }

    /// The value on one line.
    pub fn inline(&self, value: &ItemValue) -> String {
        match value {
            ItemValue::Count(n) => thousands(*n),
            ItemValue::Text(text) => self.word(text),
            ItemValue::List(entries) => entries
                .iter()
                .map(|e| self.word(e))
                .collect::<Vec<_>>()
                .join(&self.list_separator),
            ItemValue::Record(parts) => parts
                .iter()
                .map(|(name, part)| match part {
                    ItemValue::Record(_) => format!("{} ({})", self.word(name), self.inline(part)),
                    _ => format!("{} {}", self.word(name), self.inline(part)),
                })
                .collect::<Vec<_>>()
                .join(&self.list_separator),
        }
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
