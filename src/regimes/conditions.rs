//! Checking a regime's or rule's conditions against the incident's facts; a failed
//! check says why, in words for `not_triggered`.

use super::input::EvaluationInput;
use super::model::{Conditions, Threshold};
use crate::domain::Risk;

/// The facts conditions are checked against, with the people counted for one regime.
pub(crate) struct Facts<'a> {
    pub input: &'a EvaluationInput,
    pub people: u64,
}

impl Conditions {
    /// `Ok` when every given condition holds, else the first reason it does not.
    pub fn check(&self, facts: &Facts<'_>) -> Result<(), String> {
        let input = facts.input;
        if self.unless_encrypted && input.encrypted {
            return Err("data encrypted".into());
        }
        if let Some(excluded) = self.unless_risk {
            check_not_risk(excluded, input.risk)?;
        }
        if let Some(needed) = self.requires_risk {
            check_risk(needed, input.risk)?;
        }
        self.check_categories(input)?;
        self.check_causes(input)?;
        if let Some(threshold) = self.people {
            check_people(threshold, facts.people)?;
        }
        self.check_any_of(facts)
    }

    fn check_categories(&self, input: &EvaluationInput) -> Result<(), String> {
        let wanted = &self.any_categories;
        if wanted.is_empty() || wanted.iter().any(|c| input.data_categories.contains(c)) {
            return Ok(());
        }
        let names: Vec<&str> = wanted.iter().map(|c| c.as_str()).collect();
        Err(format!("no data of categories {}", names.join(", ")))
    }

    fn check_causes(&self, input: &EvaluationInput) -> Result<(), String> {
        let wanted = &self.any_causes;
        if wanted.is_empty() || wanted.contains(&input.cause) {
            return Ok(());
        }
        let names: Vec<&str> = wanted.iter().map(|c| c.as_str()).collect();
        Err(format!(
            "cause {} is not {}",
            input.cause,
            names.join(" or ")
        ))
    }

    fn check_any_of(&self, facts: &Facts<'_>) -> Result<(), String> {
        if self.any_of.is_empty() {
            return Ok(());
        }
        let mut reasons = Vec::new();
        for alternative in &self.any_of {
            match alternative.check(facts) {
                Ok(()) => return Ok(()),
                Err(reason) => reasons.push(reason),
            }
        }
        Err(format!("not reportable: {}", reasons.join("; ")))
    }
}

fn check_not_risk(excluded: Risk, risk: Option<Risk>) -> Result<(), String> {
    match risk {
        Some(r) if r == excluded => Err(format!("risk is {r}")),
        _ => Ok(()),
    }
}

fn check_risk(needed: Risk, risk: Option<Risk>) -> Result<(), String> {
    match risk {
        Some(r) if r == needed => Ok(()),
        Some(r) => Err(format!("risk is {r}, needs {needed}")),
        None => Err(format!("risk not assessed, needs {needed}")),
    }
}

fn check_people(threshold: Threshold, people: u64) -> Result<(), String> {
    if threshold.passes(people) {
        return Ok(());
    }
    Err(format!(
        "{} people counted, needs {}",
        thousands(people),
        threshold.describe()
    ))
}

/// `1500` → `1,500`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
