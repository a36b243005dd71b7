//! Due-time expressions of runbook items:
//!
//! ```text
//! due    = clock [ "+" amount ]                          aware_at + 24h
//!        | "before" duty [ "-" amount ]                  before appi/regulator/preliminary - 12h
//! clock  = occurred_at | discovered_at | aware_at | assessed_at | contained_at
//! duty   = regime "/" recipient "/" phase                each part a name or "*"
//! amount = whole number followed by "h" (hours) or "d" (days of 24 hours)
//! ```
//!
//! Operators stand between spaces (regime ids contain hyphens).

use std::fmt;

use chrono::TimeDelta;

use super::Duties;
use crate::domain::Clock;

/// The longest offset an item may name: a year.
const MAX_HOURS: u32 = 8_760;

/// How far a due time lies from its clock or obligation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Whole hours.
    Hours(u32),
    /// Whole days of 24 hours.
    Days(u32),
}

impl Amount {
    /// The offset as a duration.
    pub fn delta(self) -> TimeDelta {
        match self {
            Amount::Hours(n) => TimeDelta::hours(i64::from(n)),
            Amount::Days(n) => TimeDelta::days(i64::from(n)),
        }
    }

    fn parse(word: &str) -> Result<Self, String> {
        let bad =
            || format!("'{word}' is not an amount: write whole hours or days, e.g. 12h or 2d");
        let (digits, unit) = word.split_at(word.len().saturating_sub(1));
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u32 = digits.parse().map_err(|_| bad())?;
        let (amount, hours) = match unit {
            "h" => (Amount::Hours(n), u64::from(n)),
            "d" => (Amount::Days(n), u64::from(n) * 24),
            _ => return Err(bad()),
        };
        if hours > u64::from(MAX_HOURS) {
            return Err(format!("'{word}' is more than a year (365d)"));
        }
        Ok(amount)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Hours(n) => write!(f, "{n}h"),
            Amount::Days(n) => write!(f, "{n}d"),
        }
    }
}

/// Names one obligation (or, with `*` parts, several) as `regime/recipient/phase`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyPattern {
    /// Regime id (`appi`, `commitment:jc-task`); `None` for `*`.
    pub regime: Option<String>,
    /// Recipient (`regulator`, `subjects`, …); `None` for `*`.
    pub recipient: Option<String>,
    /// Phase (`preliminary`, `notice`, …); `None` for `*`.
    pub phase: Option<String>,
}

impl DutyPattern {
    /// Whether the obligation `regime/recipient/phase` is one this pattern names.
    pub fn matches(&self, regime: &str, recipient: &str, phase: &str) -> bool {
        let part = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        part(&self.regime, regime) && part(&self.recipient, recipient) && part(&self.phase, phase)
    }

    fn parse(text: &str, duties: &Duties) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let [regime, recipient, phase] = parts.as_slice() else {
            return Err(format!(
                "'{text}' does not name an obligation: write regime/recipient/phase, e.g. appi/regulator/preliminary"
            ));
        };
        let part = |p: &str| (p != "*").then(|| p.to_owned());
        let pattern = DutyPattern {
            regime: part(regime),
            recipient: part(recipient),
            phase: part(phase),
        };
        let commitment = regime.starts_with("commitment:");
        for word in [recipient, phase] {
            if *word != "*" && !commitment && !is_word(word) {
                return Err(format!(
                    "'{word}' in '{text}' is not a recipient or phase: use lower-case letters and underscores, or *"
                ));
            }
        }
        pattern.check(text, duties)?;
        Ok(pattern)
    }

    /// Known regime and a duty it has; a tenant commitment's id, recipient and phase
    /// are the tenant's own words (its profile) and cannot be checked here.
    fn check(&self, text: &str, duties: &Duties) -> Result<(), String> {
        match self.regime.as_deref() {
            Some(regime) if regime.starts_with("commitment:") => {
                if regime.len() > "commitment:".len() {
                    Ok(())
                } else {
                    Err(format!(
                        "'{regime}' does not name a tenant commitment: write commitment:<id>, e.g. commitment:jc-task"
                    ))
                }
            }
            Some(regime) if !duties.has_regime(regime) => Err(format!(
                "unknown regime '{regime}'; known are {} and commitment:<id>",
                duties.regimes().join(", ")
            )),
            _ if duties.any_matches(self) => Ok(()),
            Some(regime) => Err(format!(
                "{regime} has no duty {}; its duties are {}",
                text.split_once('/').map_or(text, |(_, rest)| rest),
                duties.of_regime(regime).join(", ")
            )),
            None => Err(format!("no regime has a duty matching '{text}'")),
        }
    }
}

impl fmt::Display for DutyPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |p: &Option<String>| p.clone().unwrap_or_else(|| "*".to_owned());
        write!(
            f,
            "{}/{}/{}",
            part(&self.regime),
            part(&self.recipient),
            part(&self.phase)
        )
    }
}

fn is_word(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// When an item is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueRule {
    /// A time after one of the incident's clocks (`aware_at + 24h`).
    AfterClock {
        /// The clock counted from.
        clock: Clock,
        /// How long after it.
        after: Option<Amount>,
    },
    /// A time before an obligation's deadline (`before appi/regulator/preliminary - 12h`).
    BeforeDuty {
        /// The obligation(s); with `*` parts, the earliest of those that apply.
        duty: DutyPattern,
        /// How long before it.
        lead: Option<Amount>,
    },
}

const SHAPE: &str = "write `<clock> + <amount>` (e.g. aware_at + 24h) or `before <regime>/<recipient>/<phase> - <amount>` (e.g. before appi/regulator/preliminary - 12h)";

impl DueRule {
    /// Reads an expression, checking obligation names against `duties`.
    pub fn parse(text: &str, duties: &Duties) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["before", duty] => Ok(DueRule::BeforeDuty {
                duty: DutyPattern::parse(duty, duties)?,
                lead: None,
            }),
            ["before", duty, "-", amount] => Ok(DueRule::BeforeDuty {
                duty: DutyPattern::parse(duty, duties)?,
                lead: Some(Amount::parse(amount)?),
            }),
            ["before", _, "+", _] => Err(format!(
                "'{text}': a due time before an obligation counts back; use -"
            )),
            [clock] => Ok(DueRule::AfterClock {
                clock: clock_word(clock)?,
                after: None,
            }),
            [clock, "+", amount] => Ok(DueRule::AfterClock {
                clock: clock_word(clock)?,
                after: Some(Amount::parse(amount)?),
            }),
            [_, "-", _] => Err(format!(
                "'{text}': a due time counts forward from a clock; use +"
            )),
            _ => Err(format!("cannot read due time '{text}': {SHAPE}")),
        }
    }
}

fn clock_word(word: &str) -> Result<Clock, String> {
    word.parse().map_err(|_| {
        format!(
            "unknown clock '{word}', expected one of {}",
            Clock::expected()
        )
    })
}

impl fmt::Display for DueRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DueRule::AfterClock { clock, after } => {
                write!(f, "{clock}")?;
                after.map_or(Ok(()), |a| write!(f, " + {a}"))
            }
            DueRule::BeforeDuty { duty, lead } => {
                write!(f, "before {duty}")?;
                lead.map_or(Ok(()), |a| write!(f, " - {a}"))
            }
        }
    }
}
