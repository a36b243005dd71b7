//! What the builder reads: plain values the store loads (facts, counts, clocks, the
//! dispatch ledger's figures, the team's answers). Nothing here is looked up again.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{AffectedSummary, Channel, DataCategory, IncidentFacts};

/// Everything one report version is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    /// The incident's reference as shown to the regulator (its id or the team's case number).
    pub incident_reference: String,
    /// The incident's facts as stored (naive UTC times).
    pub incident: IncidentFacts,
    /// The reporting organisation (the tenant's name).
    pub tenant_name: String,
    /// The affected set's counts; `None` while no affected set has been computed.
    pub affected: Option<AffectedCounts>,
    /// The incident's obligations with their clocks (any regime: the builder keeps the
    /// report's regime's).
    pub obligations: Vec<ObligationClock>,
    /// What was sent to people, from the dispatch ledger and the bulletin.
    pub proof: Proof,
    /// One notice as actually sent (rendered from the approved content, no personal data).
    pub sample_notice: Option<SampleNotice>,
    /// The team's answers, by item key.
    pub answers: BTreeMap<String, Answer>,
    /// When the report is made: lateness is judged against it.
    pub prepared_at: DateTime<Utc>,
}

/// The affected set's summary plus the people per exposed data category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AffectedCounts {
    /// `GET …/affected/summary`: totals, per jurisdiction, minors, reachability.
    pub summary: AffectedSummary,
    /// People whose exposed data include each category.
    pub by_category: BTreeMap<DataCategory, i64>,
}

/// One obligation of the incident with its deadline and when it was met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationClock {
    /// Regime id.
    pub regime: String,
    /// `regulator`, `subjects`, `attorney_general`, …
    pub recipient: String,
    /// `initial`, `preliminary`, `final`, `followup`, `notice`.
    pub phase: String,
    /// Legal citation.
    pub basis: String,
    /// The statutory instant, if the duty has one.
    pub due_at: Option<DateTime<Utc>>,
    /// For asap duties: the target instant.
    pub target_at: Option<DateTime<Utc>>,
    /// For asap duties with an outer limit: that limit.
    pub limit_at: Option<DateTime<Utc>>,
    /// When it was met, if it was.
    pub met_at: Option<DateTime<Utc>>,
}

impl ObligationClock {
    /// `recipient.phase`, as the report definitions name obligations.
    pub fn key(&self) -> String {
        format!("{}.{}", self.recipient, self.phase)
    }

    /// The instant after which acting is late: the due time, else the outer limit.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        self.due_at.or(self.limit_at)
    }
}

/// Proof of notification: the dispatch ledger's figures, the bulletin and the approvals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// Notices per channel and outcome (the same counts as the dispatch progress).
    pub by_channel: BTreeMap<Channel, OutcomeCounts>,
    /// People with at least one notice delivered, sent or handed off.
    pub people_notified: i64,
    /// People reachable on no channel.
    pub unreachable: i64,
    /// People covered by the public bulletin instead of an individual notice.
    pub covered_by_bulletin: i64,
    /// When the first notice left.
    pub first_sent_at: Option<DateTime<Utc>>,
    /// When the last notice left.
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The bulletin version in force, if one was published.
    pub bulletin: Option<BulletinRef>,
    /// Who approved what was sent.
    pub approvals: Vec<Approval>,
}

/// Notices of one channel per outcome, as the outbox counts them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutcomeCounts {
    /// Waiting to be sent.
    pub queued: i64,
    /// Being sent now.
    pub sending: i64,
    /// Delivery receipt confirmed.
    pub delivered: i64,
    /// Accepted by the provider.
    pub sent: i64,
    /// Written to a letter batch or call list.
    pub handed_off: i64,
    /// Refused, out of retries, or no receipt in time.
    pub failed: i64,
    /// Bounced after sending.
    pub bounced: i64,
}

/// A published bulletin version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletinRef {
    /// Public address of the bulletin page.
    pub url: String,
    /// Version number.
    pub version: i64,
    /// SHA-256 of the published version.
    pub sha256: String,
    /// When it was published.
    pub published_at: DateTime<Utc>,
}

/// One approval of notice content (four eyes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who approved (the token's label or user name, never a secret).
    pub who: String,
    /// When.
    pub when: DateTime<Utc>,
    /// SHA-256 of the approved content.
    pub content_hash: String,
}

/// A notice as sent, for the regulator's sample copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleNotice {
    /// Channel it was rendered for.
    pub channel: Channel,
    /// Locale it was rendered in.
    pub locale: String,
    /// Subject or title, where the channel has one.
    pub subject: Option<String>,
    /// The text as sent.
    pub text: String,
    /// SHA-256 of the approved content it was rendered from.
    pub content_hash: String,
}

/// The team's answer to one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    /// The item's text.
    Text(String),
    /// Not known yet: why, and when it will follow (GDPR 33(4), APPI 速報).
    NotYetKnown(NotYetKnown),
}

/// An item still unknown, with the reason and the date it will follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotYetKnown {
    /// Why it is not known yet.
    pub reason: String,
    /// When the team expects to supply it.
    pub follow_up_on: NaiveDate,
}
