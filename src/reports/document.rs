//! A built report: the regulator's items filled from the input, what is missing, and the
//! proof of notification. Its JSON is the report version's content; its SHA-256 is the
//! version's hash.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::definition::{ItemSource, ReportPhase};
use super::input::{NotYetKnown, ObligationClock, Proof};

/// One report, ready to render or store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDocument {
    /// Regime id (`appi`).
    pub regime: String,
    /// Which report.
    pub phase: ReportPhase,
    /// Language of the labels and titles.
    pub language: String,
    /// Title in the regulator's language.
    pub title: String,
    /// Title in English.
    pub title_en: String,
    /// The regulator in its own language.
    pub regulator: String,
    /// The regulator in English.
    pub regulator_en: String,
    /// Legal basis of this report.
    pub citation: String,
    /// Time zone instants are shown in (IANA name).
    pub time_zone: String,
    /// The reporting organisation.
    pub organisation: String,
    /// The incident's reference.
    pub incident_reference: String,
    /// The incident's title.
    pub incident_title: String,
    /// When the report was made.
    pub prepared_at: DateTime<Utc>,
    /// The obligation this report answers, if the incident has it.
    pub obligation: Option<ObligationClock>,
    /// Made after that obligation's deadline.
    pub late: bool,
    /// Whether items may stay "not yet known" in this report (phased reporting).
    pub phased: bool,
    /// The items, in the regulator's order.
    pub items: Vec<ReportItem>,
    /// Keys of required items that are empty (or "not yet known" where that is not allowed).
    pub missing: Vec<String>,
    /// Every deadline of the regime for this incident, with the time it was met.
    pub deadlines: Vec<ObligationClock>,
    /// Proof of notification.
    pub proof: Proof,
}

/// One filled item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportItem {
    /// Stable snake_case key.
    pub key: String,
    /// The statute's numbering.
    pub number: String,
    /// Label in the regulator's language.
    pub label: String,
    /// Label in English.
    pub label_en: String,
    /// The value, if there is one.
    pub value: Option<ItemValue>,
    /// Where the value came from (where it would come from, when empty).
    pub source: ItemSource,
    /// Required in this report.
    pub required: bool,
    /// The team's "not yet known" answer, when the item has no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_yet_known: Option<NotYetKnown>,
}

/// An item's value: a count, a text, a list of words, or named parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemValue {
    /// A number of people or notices.
    Count(i64),
    /// Free text, a vocabulary word or an instant (RFC 3339 in the regime's time zone).
    Text(String),
    /// Vocabulary words or short texts.
    List(Vec<String>),
    /// Named parts, e.g. counts per jurisdiction.
    Record(BTreeMap<String, ItemValue>),
}

impl ReportDocument {
    /// SHA-256 (hex) of the document's JSON: the version's content hash.
    pub fn sha256(&self) -> Result<String, serde_json::Error> {
        let json = serde_json::to_vec(self)?;
        Ok(hex::encode(Sha256::digest(&json)))
    }

    /// Whether the report may be marked submitted: nothing required is missing.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// The item with `key`.
    pub fn item(&self, key: &str) -> Option<&ReportItem> {
        self.items.iter().find(|i| i.key == key)
    }
}
