//! The regime data model: what a `data/<id>.toml` file says, parsed once and validated.

use std::sync::OnceLock;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use super::substitute::Substitute;
use crate::calendar;
use crate::domain::{Cause, DataCategory, Jurisdiction, NoticeItem, Risk};

/// The regime files, in output order.
const FILES: &[(&str, &str)] = &[
    ("gdpr.toml", include_str!("data/gdpr.toml")),
    ("uk-gdpr.toml", include_str!("data/uk-gdpr.toml")),
    ("appi.toml", include_str!("data/appi.toml")),
    ("pipl.toml", include_str!("data/pipl.toml")),
    ("cn-cac.toml", include_str!("data/cn-cac.toml")),
    ("tw-pdpa.toml", include_str!("data/tw-pdpa.toml")),
    ("ru-152fz.toml", include_str!("data/ru-152fz.toml")),
    ("us-ca.toml", include_str!("data/us-ca.toml")),
    ("us-ny.toml", include_str!("data/us-ny.toml")),
    ("us-tx.toml", include_str!("data/us-tx.toml")),
    ("us-fl.toml", include_str!("data/us-fl.toml")),
    ("us-co.toml", include_str!("data/us-co.toml")),
    ("us-wa.toml", include_str!("data/us-wa.toml")),
    ("sg-pdpa.toml", include_str!("data/sg-pdpa.toml")),
    ("kr-pipa.toml", include_str!("data/kr-pipa.toml")),
    ("au-ndb.toml", include_str!("data/au-ndb.toml")),
    ("br-lgpd.toml", include_str!("data/br-lgpd.toml")),
    ("in-dpdp.toml", include_str!("data/in-dpdp.toml")),
    ("ca-pipeda.toml", include_str!("data/ca-pipeda.toml")),
];

/// One body of rules: where it applies, its civil time zone, its gate and its rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Regime {
    pub id: String,
    pub territory: Vec<Jurisdiction>,
    /// How the territory reads in a sentence, e.g. `the EU/EEA`.
    pub territory_name: String,
    #[serde(deserialize_with = "time_zone")]
    pub time_zone: Tz,
    /// Conditions every rule of the regime needs (the regime's reportability test).
    #[serde(default)]
    pub when: Conditions,
    /// Content its notice to people must carry beyond the base items every notice has.
    #[serde(default)]
    pub notice_items: Vec<NoticeItem>,
    pub rules: Vec<Rule>,
    /// When a public notice may stand in for individual notice, and what it requires.
    pub substitute: Substitute,
}

/// One obligation rule. Several rules may share `recipient.phase` with disjoint
/// effective windows (versions of the same duty over time).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    pub recipient: String,
    pub phase: String,
    pub citation: String,
    pub effective_from: NaiveDate,
    pub effective_until: Option<NaiveDate>,
    #[serde(default)]
    pub clock: Clock,
    pub deadline: Deadline,
    #[serde(default)]
    pub when: Conditions,
    /// Alternative deadlines: the first whose conditions hold replaces `deadline`.
    #[serde(default)]
    pub variants: Vec<Variant>,
}

/// A conditional replacement of a rule's deadline (e.g. APPI 60 days when malicious).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Variant {
    pub when: Conditions,
    pub deadline: Deadline,
    pub citation: String,
}

/// Which event starts a rule's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Clock {
    /// When the organisation became aware.
    #[default]
    AwareAt,
    /// When the organisation assessed the breach as notifiable (defaults to `aware_at`).
    AssessedAt,
}

/// How a deadline is counted (design.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Deadline {
    /// Exactly `amount` hours after the clock start.
    Hours { amount: u32 },
    /// End of the local day `amount` days after the start day (or counting the start
    /// day as day 1), optionally rolled forward to a working day of `roll`.
    CalendarDays {
        amount: u32,
        #[serde(default)]
        count_start_day: bool,
        roll: Option<String>,
    },
    /// End of the `amount`th working day of `calendar` after the start day.
    WorkingDays { amount: u32, calendar: String },
    /// No statutory instant: a target (default 72 h) and an optional outer limit in days.
    Asap {
        target_hours: Option<u32>,
        limit_days: Option<u32>,
    },
}

/// Conditions on the incident's facts; all given conditions must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Conditions {
    /// Fails when the data were encrypted.
    #[serde(default)]
    pub unless_encrypted: bool,
    /// Needs exactly this assessed risk (absent risk fails).
    pub requires_risk: Option<Risk>,
    /// Fails when the assessed risk is this value (absent risk passes).
    pub unless_risk: Option<Risk>,
    /// Needs at least one of these data categories.
    #[serde(default)]
    pub any_categories: Vec<DataCategory>,
    /// Needs one of these causes.
    #[serde(default)]
    pub any_causes: Vec<Cause>,
    /// Needs the counted people to pass this threshold.
    pub people: Option<Threshold>,
    /// Needs at least one of these condition sets to hold.
    #[serde(default)]
    pub any_of: Vec<Conditions>,
}

/// A people-count threshold with its comparison written out.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// How `value` is compared.
    pub op: Comparison,
    /// The number compared with.
    pub value: u64,
}

/// `gt` = more than, `ge` = at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// More than.
    Gt,
    /// At least.
    Ge,
}

impl Threshold {
    /// `more than 500,000` or `at least 10`.
    pub fn describe(self) -> String {
        let bound = match self.op {
            Comparison::Gt => "more than",
            Comparison::Ge => "at least",
        };
        format!("{bound} {}", super::conditions::thousands(self.value))
    }

    /// Whether `people` passes.
    pub fn passes(self, people: u64) -> bool {
        match self.op {
            Comparison::Gt => people > self.value,
            Comparison::Ge => people >= self.value,
        }
    }
}

impl Rule {
    /// `recipient.phase`, e.g. `regulator.final`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.recipient, self.phase)
    }
}

fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(d)?;
    name.parse()
        .map_err(|_| serde::de::Error::custom(format!("unknown time zone '{name}'")))
}

static REGIMES: OnceLock<Result<Vec<Regime>, String>> = OnceLock::new();

/// Every regime, parsed and validated once.
pub(crate) fn regimes() -> Result<&'static [Regime], String> {
    REGIMES.get_or_init(load).as_deref().map_err(Clone::clone)
}

fn load() -> Result<Vec<Regime>, String> {
    let mut regimes: Vec<Regime> = Vec::new();
    for (name, text) in FILES {
        let regime: Regime = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        validate(&regime).map_err(|e| format!("{name}: {e}"))?;
        if regimes.iter().any(|r| r.id == regime.id) {
            return Err(format!("{name}: regime id '{}' used twice", regime.id));
        }
        regimes.push(regime);
    }
    Ok(regimes)
}

/// Checks what serde cannot: non-empty texts, known calendars, positive amounts,
/// and non-overlapping versions of one duty.
pub(crate) fn validate(regime: &Regime) -> Result<(), String> {
    if regime.territory.is_empty() || regime.rules.is_empty() {
        return Err("a regime needs a territory and rules".into());
    }
    regime.substitute.validate()?;
    for (i, rule) in regime.rules.iter().enumerate() {
        let at = format!("rules[{i}] ({})", rule.key());
        if rule.citation.trim().is_empty() {
            return Err(format!("{at}: citation is empty"));
        }
        check_deadline(&rule.deadline).map_err(|e| format!("{at}: {e}"))?;
        for variant in &rule.variants {
            check_deadline(&variant.deadline).map_err(|e| format!("{at}: {e}"))?;
        }
        if rule
            .effective_until
            .is_some_and(|until| until <= rule.effective_from)
        {
            return Err(format!("{at}: effective_until is not after effective_from"));
        }
        let overlapping = regime.rules[..i]
            .iter()
            .any(|earlier| earlier.key() == rule.key() && windows_overlap(earlier, rule));
        if overlapping {
            return Err(format!("{at}: overlaps an earlier version"));
        }
    }
    Ok(())
}

fn check_deadline(deadline: &Deadline) -> Result<(), String> {
    let (amount, calendar) = match deadline {
        Deadline::Hours { amount } => (*amount, None),
        Deadline::CalendarDays { amount, roll, .. } => (*amount, roll.as_deref()),
        Deadline::WorkingDays { amount, calendar } => (*amount, Some(calendar.as_str())),
        Deadline::Asap { .. } => (1, None),
    };
    if amount == 0 {
        return Err("deadline amount must be at least 1".into());
    }
    match calendar {
        Some(id) => calendar::get(id).map(|_| ()).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

fn windows_overlap(a: &Rule, b: &Rule) -> bool {
    let a_before_b = a
        .effective_until
        .is_some_and(|until| until <= b.effective_from);
    let b_before_a = b
        .effective_until
        .is_some_and(|until| until <= a.effective_from);
    !a_before_b && !b_before_a
}
