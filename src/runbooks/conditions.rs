//! `applies_to`: when a runbook applies to an incident. Every key given must hold
//! (a list holds when any of its entries does); `any_of` holds when one of its
//! alternatives does; `{}` applies to every incident.

use std::fmt;

use serde::Deserialize;

use super::attach::Situation;
use crate::domain::{BreachType, Cause, DataCategory, Jurisdiction, Risk};

/// The conditions of a runbook (or of one `any_of` alternative).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Any of these security properties was broken.
    #[serde(default)]
    pub breach_types: Vec<BreachType>,
    /// The cause is one of these.
    #[serde(default)]
    pub causes: Vec<Cause>,
    /// Data of any of these categories is involved.
    #[serde(default)]
    pub data_categories: Vec<DataCategory>,
    /// Any of these regimes puts an obligation on the incident (`appi`, `commitment:jc-task`).
    #[serde(default)]
    pub regimes: Vec<String>,
    /// People in any of these places are affected (`US` covers every `US-XX`).
    #[serde(default)]
    pub jurisdictions: Vec<Jurisdiction>,
    /// The incident is one of these tenants' (slugs).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// The assessed risk is one of these.
    #[serde(default)]
    pub risk: Vec<Risk>,
    /// `true`: the affected people include minors; `false`: they include none.
    #[serde(default)]
    pub minors: Option<bool>,
    /// At least one of these alternatives holds.
    #[serde(default)]
    pub any_of: Vec<Conditions>,
}

impl Conditions {
    /// Whether every given condition holds for the incident.
    pub fn holds(&self, s: &Situation<'_>) -> bool {
        let facts = s.facts;
        any_or_empty(&self.breach_types, |t| facts.breach_types.contains(t))
            && any_or_empty(&self.causes, |c| facts.cause == Some(*c))
            && any_or_empty(&self.data_categories, |c| facts.data_categories.contains(c))
            && any_or_empty(&self.regimes, |r| {
                s.obligations.iter().any(|o| o.regime == *r)
            })
            && any_or_empty(&self.jurisdictions, |j| {
                s.jurisdictions.iter().any(|have| covers(j, have))
            })
            && any_or_empty(&self.tenants, |t| t == s.tenant)
            && any_or_empty(&self.risk, |r| facts.risk == Some(*r))
            && self.minors.is_none_or(|wanted| wanted == s.minors)
            && any_or_empty(&self.any_of, |alternative| alternative.holds(s))
    }

    /// Whether no condition is given (the runbook applies to every incident).
    pub fn is_always(&self) -> bool {
        *self == Conditions::default()
    }
}

fn any_or_empty<T>(wanted: &[T], holds: impl Fn(&T) -> bool) -> bool {
    wanted.is_empty() || wanted.iter().any(holds)
}

/// `US` covers `US-CA`; any other code covers only itself.
fn covers(condition: &Jurisdiction, place: &Jurisdiction) -> bool {
    condition == place
        || (!condition.as_str().contains('-') && condition.as_str() == place.country())
}

impl fmt::Display for Conditions {
    /// `causes: malicious; breach_types: availability`, or `always`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_always() {
            return f.write_str("always");
        }
        let mut parts = Vec::new();
        let mut list = |key: &str, words: Vec<String>| {
            if !words.is_empty() {
                parts.push(format!("{key}: {}", words.join(", ")));
            }
        };
        list("breach_types", words(&self.breach_types));
        list("causes", words(&self.causes));
        list("data_categories", words(&self.data_categories));
        list("regimes", words(&self.regimes));
        list("jurisdictions", words(&self.jurisdictions));
        list("tenants", words(&self.tenants));
        list("risk", words(&self.risk));
        if let Some(minors) = self.minors {
            parts.push(format!("minors: {minors}"));
        }
        if !self.any_of.is_empty() {
            let alternatives: Vec<String> = self.any_of.iter().map(|c| format!("({c})")).collect();
            parts.push(format!("any of {}", alternatives.join(" or ")));
        }
        f.write_str(&parts.join("; "))
    }
}

fn words<T: fmt::Display>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}
