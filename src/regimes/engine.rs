//! Evaluating one regime: does it apply, whom are we counting, which duties trigger,
//! and when each is due.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::conditions::{Facts, thousands};
use super::deadline::{self, Due};
use super::input::EvaluationInput;
use super::model::{Clock, Deadline, Regime, Rule};
use super::{Evaluation, Obligation};
use crate::calendar::{self, CalendarError};
use crate::domain::Jurisdiction;

/// Who counts for a regime: everyone when the tenant is established in its territory,
/// else the residents of the territory.
struct Scope<'a> {
    established: Vec<&'a Jurisdiction>,
    people: u64,
    minors: u64,
}

impl<'a> Scope<'a> {
    fn of(regime: &Regime, input: &'a EvaluationInput) -> Self {
        let established: Vec<&Jurisdiction> = input
            .tenant
            .establishments
            .iter()
            .filter(|e| regime.territory.contains(e))
            .collect();
        let counted = input
            .affected
            .iter()
            .filter(|g| !established.is_empty() || regime.territory.contains(&g.jurisdiction));
        let (people, minors) = counted.fold((0u64, 0u64), |(p, m), g| {
            (p.saturating_add(g.count), m.saturating_add(g.minors))
        });
        Scope {
            established,
            people,
            minors,
        }
    }

    fn applies(&self) -> bool {
        self.people > 0 || !self.established.is_empty()
    }
}

/// The duty found for one `recipient.phase`: the rule version in force and the deadline
/// and citation that apply (a variant's, when one matches).
struct Duty<'r> {
    rule: &'r Rule,
    deadline: &'r Deadline,
    citation: &'r str,
}

/// Adds the regime's obligations, or the reasons it has none, to `out`.
pub(crate) fn evaluate_regime(regime: &Regime, input: &EvaluationInput, out: &mut Evaluation) {
    let scope = Scope::of(regime, input);
    if !scope.applies() {
        let reason = format!(
            "no affected people in {} and no establishment there",
            regime.territory_name
        );
        return out.skip(&regime.id, None, reason);
    }
    let facts = Facts {
        input,
        people: scope.people,
    };
    if let Err(reason) = regime.when.check(&facts) {
        return out.skip(&regime.id, None, reason);
    }
    let trigger = trigger_sentence(regime, &scope, input);
    let mut obligations = Vec::new();
    let mut skipped = Vec::new();
    for key in duty_keys(regime) {
        match find_duty(regime, &key, &facts) {
            Ok(duty) => obligations.push(obligation(regime, &duty, input, &trigger)),
            Err(reason) => skipped.push((key, reason)),
        }
    }
    record(out, &regime.id, obligations, skipped);
}

/// A regime with no obligation gets one `not_triggered` entry; otherwise each skipped
/// duty gets its own.
fn record(
    out: &mut Evaluation,
    regime: &str,
    obligations: Vec<Obligation>,
    skipped: Vec<(String, String)>,
) {
    if obligations.is_empty() {
        return out.skip(regime, None, combined_reason(&skipped));
    }
    out.obligations.extend(obligations);
    for (key, reason) in skipped {
        out.skip(regime, Some(key), reason);
    }
}

/// One reason for all skipped duties: the shared reason, or each duty's own.
fn combined_reason(skipped: &[(String, String)]) -> String {
    let same = skipped.windows(2).all(|pair| pair[0].1 == pair[1].1);
    match skipped {
        [(_, reason), ..] if same => reason.clone(),
        _ => {
            let each: Vec<String> = skipped
                .iter()
                .map(|(key, reason)| format!("{key}: {reason}"))
                .collect();
            each.join("; ")
        }
    }
}

/// Each `recipient.phase` once, in rule order.
fn duty_keys(regime: &Regime) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for rule in &regime.rules {
        if !keys.contains(&rule.key()) {
            keys.push(rule.key());
        }
    }
    keys
}

fn find_duty<'r>(regime: &'r Regime, key: &str, facts: &Facts<'_>) -> Result<Duty<'r>, String> {
    let versions: Vec<&Rule> = regime.rules.iter().filter(|r| r.key() == key).collect();
    let in_force = versions
        .iter()
        .find(|r| in_force(r, regime.time_zone, clock_start(r.clock, facts.input)));
    let Some(rule) = in_force else {
        return Err(not_in_force(&versions, regime.time_zone, facts.input));
    };
    rule.when.check(facts)?;
    let variant = rule.variants.iter().find(|v| v.when.check(facts).is_ok());
    Ok(match variant {
        Some(v) => Duty {
            rule,
            deadline: &v.deadline,
            citation: &v.citation,
        },
        None => Duty {
            rule,
            deadline: &rule.deadline,
            citation: &rule.citation,
        },
    })
}

/// When a rule's clock starts: `aware_at`, or `assessed_at` (defaulting to `aware_at`).
fn clock_start(clock: Clock, input: &EvaluationInput) -> DateTime<Utc> {
    match clock {
        Clock::AwareAt => input.aware_at,
        Clock::AssessedAt => input.assessed_at.unwrap_or(input.aware_at),
    }
}

/// Whether `start` falls in the rule's effective window (dates read in the regime's zone).
fn in_force(rule: &Rule, tz: Tz, start: DateTime<Utc>) -> bool {
    let from = deadline::start_of_day(tz, rule.effective_from);
    let until = rule.effective_until.map(|d| deadline::start_of_day(tz, d));
    start >= from && until.is_none_or(|u| start < u)
}

fn not_in_force(versions: &[&Rule], tz: Tz, input: &EvaluationInput) -> String {
    let first = versions.iter().min_by_key(|r| r.effective_from);
    match first {
        Some(rule)
            if clock_start(rule.clock, input) < deadline::start_of_day(tz, rule.effective_from) =>
        {
            format!(
                "in force only for clock starts on or after {}",
                rule.effective_from
            )
        }
        _ => "not in force for this clock start".into(),
    }
}

fn obligation(
    regime: &Regime,
    duty: &Duty<'_>,
    input: &EvaluationInput,
    trigger: &str,
) -> Obligation {
    let start = clock_start(duty.rule.clock, input);
    let due = compute(duty.deadline, start, regime.time_zone);
    Obligation::new(
        regime.id.clone(),
        duty.rule.recipient.clone(),
        duty.rule.phase.clone(),
        regime.time_zone,
        duty.citation.to_string(),
        trigger.to_string(),
        due,
    )
}

fn compute(deadline: &Deadline, start: DateTime<Utc>, tz: Tz) -> Result<Due, CalendarError> {
    match deadline {
        Deadline::Hours { amount } => Ok(deadline::hours(start, *amount)),
        Deadline::CalendarDays {
            amount,
            count_start_day,
            roll,
        } => {
            let roll = roll.as_deref().map(calendar::get).transpose()?;
            deadline::calendar_days(start, tz, *amount, *count_start_day, roll)
        }
        Deadline::WorkingDays { amount, calendar } => {
            deadline::working_days(start, tz, *amount, calendar::get(calendar)?)
        }
        Deadline::Asap {
            target_hours,
            limit_days,
        } => Ok(deadline::asap(start, tz, *target_hours, *limit_days)),
    }
}

/// Why the regime applies, e.g. `1,500 people in JP; cause malicious; categories: credentials`.
fn trigger_sentence(regime: &Regime, scope: &Scope<'_>, input: &EvaluationInput) -> String {
    let mut parts = vec![who_counts(regime, scope), format!("cause {}", input.cause)];
    if !input.data_categories.is_empty() {
        let names: Vec<&str> = input.data_categories.iter().map(|c| c.as_str()).collect();
        parts.push(format!("categories: {}", names.join(", ")));
    }
    if let Some(risk) = input.risk {
        parts.push(format!("risk {risk}"));
    }
    if input.encrypted {
        parts.push("data encrypted".into());
    }
    parts.join("; ")
}

/// E.g. `1,500 people incl. 3 minors in JP` or `20 people in all (tenant established in DE)`.
fn who_counts(regime: &Regime, scope: &Scope<'_>) -> String {
    let mut people = match scope.people {
        1 => "1 person".to_string(),
        n => format!("{} people", thousands(n)),
    };
    if scope.minors > 0 {
        people.push_str(&format!(" incl. {} minors", thousands(scope.minors)));
    }
    if scope.established.is_empty() {
        return format!("{people} in {}", regime.territory_name);
    }
    let codes: Vec<&str> = scope.established.iter().map(|j| j.as_str()).collect();
    format!(
        "{people} in all (tenant established in {})",
        codes.join(", ")
    )
}
