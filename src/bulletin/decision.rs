//! The substitute-notice decision: for each regime that applies, whether a public
//! notice may stand in for individual notice, why, for how many people, and what
//! it then requires (each marked done or not). Pure: counts and settings in,
//! decisions out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::{Channel, Jurisdiction, RequirementKind};
use crate::notices::settings::UnitCosts;
use crate::regimes::{SubstituteCondition, SubstitutePolicy};

/// The affected people of one jurisdiction, as the plan and the ledger see them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeopleCounts {
    /// Affected people.
    pub people: u64,
    /// People with no usable contact on record (the plan's unreachable).
    pub no_contact: u64,
    /// People whose every planned channel failed during dispatch.
    pub channels_failed: u64,
    /// Reachable people by the first channel their notice goes out on.
    pub by_first_channel: BTreeMap<Channel, u64>,
}

impl PeopleCounts {
    fn add(&mut self, other: &PeopleCounts) {
        self.people += other.people;
        self.no_contact += other.no_contact;
        self.channels_failed += other.channels_failed;
        for (channel, n) in &other.by_first_channel {
            *self.by_first_channel.entry(*channel).or_default() += n;
        }
    }

    /// People who cannot be told one by one.
    pub fn unreachable(&self) -> u64 {
        self.no_contact + self.channels_failed
    }
}

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Money {
    /// The amount, rounded to cents.
    pub amount: f64,
    /// ISO 4217 code.
    pub currency: String,
}

/// What is counted for one regime: its people and the cost of telling each of them.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimeFacts {
    /// The people the regime counts, with their reachability.
    pub counts: PeopleCounts,
    /// The estimated cost of individual notice to the reachable ones.
    pub estimated_cost: Money,
}

impl RegimeFacts {
    /// Counts the people of `policy`'s territory (everyone when the tenant is
    /// established there, or for a tenant promise) and prices their notices.
    pub fn count(
        policy: &SubstitutePolicy<'_>,
        by_jurisdiction: &BTreeMap<String, PeopleCounts>,
        establishments: &[Jurisdiction],
        costs: &UnitCosts,
    ) -> Self {
        let everyone = policy
            .territory
            .is_none_or(|t| establishments.iter().any(|e| t.contains(e)));
        let mut counts = PeopleCounts::default();
        for (code, group) in by_jurisdiction {
            let inside = policy
                .territory
                .is_some_and(|t| t.iter().any(|j| j.as_str() == code));
            if everyone || inside {
                counts.add(group);
            }
        }
        Self {
            estimated_cost: cost_of(&counts, costs),
            counts,
        }
    }
}

/// The estimated cost of individual notice: each reachable person at the unit
/// cost of the first channel their notice goes out on.
pub fn cost_of(counts: &PeopleCounts, costs: &UnitCosts) -> Money {
    let amount: f64 = counts
        .by_first_channel
        .iter()
        .map(|(channel, n)| *n as f64 * costs.of(*channel))
        .sum();
    Money {
        amount: (amount * 100.0).round() / 100.0,
        currency: costs.currency.clone(),
    }
}

/// What has been done so far, seen in Breachline's records or marked by an operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// A bulletin of the incident is published and not withdrawn.
    pub bulletin_live: bool,
    /// Its published version names an inquiry desk (phone or e-mail).
    pub inquiry_desk_live: bool,
    /// Individual notices were approved for sending (e-mail goes to everyone with an address).
    pub individual_notices_sent: bool,
    /// Requirements an operator marked done, with evidence, on a live bulletin.
    pub confirmed: Vec<RequirementKind>,
}

/// One requirement and whether it is met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementStatus {
    /// What kind of thing.
    pub kind: RequirementKind,
    /// For how many days, where the law names a period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// The law's words.
    pub detail: String,
    /// Whether it is done.
    pub done: bool,
    /// Whether an operator marks it done (with evidence) rather than Breachline seeing it.
    pub confirmed_by_operator: bool,
}

/// The decision for one regime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Regime id.
    pub regime: String,
    /// The legal basis.
    pub basis: String,
    /// Whether a public notice may stand in for individual notice now.
    pub allowed: bool,
    /// Why (the conditions that hold), or why not (each that fails).
    pub reasons: Vec<String>,
    /// What the public notice must include, when allowed.
    pub requirements: Vec<RequirementStatus>,
    /// People the regime counts.
    pub people: u64,
    /// Of them, with no usable contact.
    pub no_contact: u64,
    /// Of them, whose every channel failed.
    pub channels_failed: u64,
    /// People the public notice stands in for: everyone when a cost or size limb
    /// holds, else those who cannot be told one by one.
    pub people_covered: u64,
    /// The estimated cost of individual notice to this regime's people.
    pub estimated_cost: Money,
}

/// How one condition came out.
enum Outcome {
    /// Holds for every person the regime counts.
    Everyone(String),
    /// Holds for the people who cannot be told one by one.
    Unreachable(String),
    /// Does not hold.
    No(String),
}

/// Decides one regime.
pub fn decide(policy: &SubstitutePolicy<'_>, facts: &RegimeFacts, progress: &Progress) -> Decision {
    let rule = policy.substitute;
    let mut decision = Decision {
        regime: policy.regime.to_owned(),
        basis: rule.citation.clone(),
        allowed: false,
        reasons: Vec::new(),
        requirements: Vec::new(),
        people: facts.counts.people,
        no_contact: facts.counts.no_contact,
        channels_failed: facts.counts.channels_failed,
        people_covered: 0,
        estimated_cost: facts.estimated_cost.clone(),
    };
    if let Some(reason) = &rule.not_allowed {
        decision.reasons.push(format!("not allowed: {reason}"));
        return decision;
    }
    let outcomes: Vec<Outcome> = rule
        .when
        .iter()
        .map(|c| check(c, policy.territory_name, facts))
        .collect();
    let everyone = outcomes.iter().any(|o| matches!(o, Outcome::Everyone(_)));
    let unreachable = outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Unreachable(_)));
    decision.allowed = everyone || unreachable;
    decision.people_covered = if everyone {
        facts.counts.people
    } else if unreachable {
        facts.counts.unreachable()
    } else {
        0
    };
    decision.reasons = outcomes
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Everyone(r) | Outcome::Unreachable(r) => Some(r),
            Outcome::No(r) => (!decision.allowed).then_some(r),
        })
        .collect();
    if decision.allowed {
        decision.requirements = rule
            .requires
            .iter()
            .map(|r| RequirementStatus {
                kind: r.kind,
                days: r.days,
                detail: r.detail.clone(),
                done: is_done(r.kind, progress),
                confirmed_by_operator: r.kind.confirmed_by_operator(),
            })
            .collect();
    }
    decision
}

fn check(condition: &SubstituteCondition, territory: &str, facts: &RegimeFacts) -> Outcome {
    let counts = &facts.counts;
    match condition {
        SubstituteCondition::CostAbove { amount, currency } => {
            cost_above(&facts.estimated_cost, *amount, currency)
        }
        SubstituteCondition::People { .. } => {
            let Some(threshold) = condition.threshold() else {
                return Outcome::No("no threshold".into());
            };
            let people = format!("{} people in {territory}", thousands(counts.people));
            if threshold.passes(counts.people) {
                Outcome::Everyone(format!("{people}: {}", threshold.describe()))
            } else {
                Outcome::No(format!("{people}, needs {}", threshold.describe()))
            }
        }
        SubstituteCondition::NoContact { at_least } => no_contact(counts, at_least.unwrap_or(1)),
        SubstituteCondition::Assessment { text } => Outcome::No(format!(
            "also allowed if {text} (your assessment; not computed)"
        )),
    }
}

fn cost_above(cost: &Money, amount: f64, currency: &str) -> Outcome {
    let threshold = format!("{} {currency}", money(amount));
    if cost.currency != currency {
        return Outcome::No(format!(
            "the estimated cost is in {}; the threshold is {threshold}: set notices.unit_costs in {currency} to compare",
            cost.currency
        ));
    }
    let estimate = format!(
        "estimated cost of individual notice {} {}",
        money(cost.amount),
        cost.currency
    );
    if cost.amount > amount {
        Outcome::Everyone(format!("{estimate} is above {threshold}"))
    } else {
        Outcome::No(format!("{estimate} is not above {threshold}"))
    }
}

fn no_contact(counts: &PeopleCounts, at_least: u64) -> Outcome {
    let n = counts.unreachable();
    let detail = format!(
        "{} with no usable contact, {} whose every channel failed",
        thousands(counts.no_contact),
        thousands(counts.channels_failed)
    );
    let who = match n {
        1 => "1 person cannot".to_owned(),
        n => format!("{} people cannot", thousands(n)),
    };
    let needs = if at_least > 1 {
        format!(", needs at least {}", thousands(at_least))
    } else {
        String::new()
    };
    if n >= at_least {
        Outcome::Unreachable(format!("{who} be told one by one ({detail})"))
    } else if n == 0 {
        Outcome::No(
            "everyone can be told one by one: all have a usable contact and no channel failed"
                .into(),
        )
    } else {
        Outcome::No(format!("{who} be told one by one ({detail}){needs}"))
    }
}

fn is_done(kind: RequirementKind, progress: &Progress) -> bool {
    match kind {
        RequirementKind::WebsitePosting => progress.bulletin_live,
        RequirementKind::InquiryDesk => progress.bulletin_live && progress.inquiry_desk_live,
        RequirementKind::EmailWhereKnown => {
            progress.individual_notices_sent || progress.confirmed.contains(&kind)
        }
        RequirementKind::HomePageLink
        | RequirementKind::MediaNotice
        | RequirementKind::Publicise => {
            progress.bulletin_live && progress.confirmed.contains(&kind)
        }
    }
}

fn thousands(n: u64) -> String {
    crate::regimes::thousands(n)
}

/// `250000.5` → `250,000.50`; whole amounts without cents.
fn money(amount: f64) -> String {
    let cents = (amount * 100.0).round() as u64;
    let whole = thousands(cents / 100);
    match cents % 100 {
        0 => whole,
        c => format!("{whole}.{c:02}"),
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
