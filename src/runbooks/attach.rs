//! Attachment rules: which runbooks and items apply to an incident, and when each
//! task is due. An item due "before" an obligation applies only while that
//! obligation does (a regulator filing under a regime that does not apply is no
//! task); its due time is the obligation's deadline, or for a duty due "without
//! undue delay" its target, less the lead; with `*` parts, the earliest of them.

use chrono::NaiveDateTime;

use super::due::DueRule;
use super::{Item, Runbook, RunbookSet};
use crate::domain::{DueBasis, IncidentFacts, Jurisdiction};

/// One obligation of the incident, as far as due times need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObligationClock {
    /// Regime id.
    pub regime: String,
    /// Recipient.
    pub recipient: String,
    /// Phase.
    pub phase: String,
    /// Statutory deadline, when it has one.
    pub due_at: Option<NaiveDateTime>,
    /// Target of a duty due without undue delay.
    pub target_at: Option<NaiveDateTime>,
    /// Why the deadline could not be computed.
    pub error: Option<String>,
}

impl ObligationClock {
    fn name(&self) -> String {
        format!("{}/{}/{}", self.regime, self.recipient, self.phase)
    }

    fn anchor(&self) -> Option<(NaiveDateTime, DueBasis)> {
        self.due_at
            .map(|t| (t, DueBasis::Deadline))
            .or(self.target_at.map(|t| (t, DueBasis::Target)))
    }
}

/// Everything the conditions and due times of runbooks are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    /// The tenant's slug.
    pub tenant: &'a str,
    /// The incident's facts and clocks.
    pub facts: &'a IncidentFacts,
    /// Where the affected people are (as counted for the obligations).
    pub jurisdictions: &'a [Jurisdiction],
    /// Whether the affected people include minors.
    pub minors: bool,
    /// The incident's obligations.
    pub obligations: &'a [ObligationClock],
}

/// When a task is due, what that rests on, and why there is no time when there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTime {
    /// The instant (naive UTC).
    pub at: Option<NaiveDateTime>,
    /// What the instant was computed from.
    pub basis: Option<DueBasis>,
    /// Why there is no instant (a clock not yet set, an obligation without deadline).
    pub note: Option<String>,
}

impl DueTime {
    fn none() -> Self {
        Self {
            at: None,
            basis: None,
            note: None,
        }
    }

    fn missing(note: String) -> Self {
        Self {
            note: Some(note),
            ..Self::none()
        }
    }
}

/// One item that applies, with its due time.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTask<'a> {
    /// The item.
    pub item: &'a Item,
    /// Its place in the runbook's checklist, from 0.
    pub position: usize,
    /// When it is due.
    pub due: DueTime,
}

/// A runbook whose conditions hold, with its items that apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment<'a> {
    /// The runbook.
    pub runbook: &'a Runbook,
    /// Its items that apply, in checklist order.
    pub tasks: Vec<PlannedTask<'a>>,
}

/// The runbooks of `set` whose conditions hold for the incident, in id order.
pub fn plan<'a>(set: &'a RunbookSet, s: &Situation<'_>) -> Vec<Attachment<'a>> {
    set.runbooks()
        .iter()
        .filter(|r| r.applies_to.holds(s))
        .map(|runbook| Attachment {
            runbook,
            tasks: runbook
                .items
                .iter()
                .enumerate()
                .filter_map(|(position, item)| {
                    due_time(item, s).map(|due| PlannedTask {
                        item,
                        position,
                        due,
                    })
                })
                .collect(),
        })
        .collect()
}

/// The item's due time, or `None` when the item does not apply.
fn due_time(item: &Item, s: &Situation<'_>) -> Option<DueTime> {
    match &item.due {
        None => Some(DueTime::none()),
        Some(DueRule::AfterClock { clock, after }) => Some(match clock.of(s.facts) {
            Some(start) => DueTime {
                at: Some(start + after.map(|a| a.delta()).unwrap_or_default()),
                basis: Some(DueBasis::Clock),
                note: None,
            },
            None => DueTime::missing(format!("{clock} is not set yet")),
        }),
        Some(DueRule::BeforeDuty { duty, lead }) => {
            let matching: Vec<&ObligationClock> = s
                .obligations
                .iter()
                .filter(|o| duty.matches(&o.regime, &o.recipient, &o.phase))
                .collect();
            if matching.is_empty() {
                return None;
            }
            let lead = lead.map(|a| a.delta()).unwrap_or_default();
            Some(
                match matching
                    .iter()
                    .filter_map(|o| o.anchor())
                    .min_by_key(|a| a.0)
                {
                    Some((at, basis)) => DueTime {
                        at: Some(at - lead),
                        basis: Some(basis),
                        note: None,
                    },
                    None => DueTime::missing(no_deadline(&matching)),
                },
            )
        }
    }
}

fn no_deadline(obligations: &[&ObligationClock]) -> String {
    let reasons: Vec<String> = obligations
        .iter()
        .map(|o| match &o.error {
            Some(error) => format!("{} has no deadline: {error}", o.name()),
            None => format!("{} has no deadline", o.name()),
        })
        .collect();
    reasons.join("; ")
}
