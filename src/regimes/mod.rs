//! Regimes as data: one TOML file per regime in `data/` (territory, civil time zone,
//! conditions, and rules with citation and `effective_from`), evaluated by a small pure
//! engine into obligations with deadlines (design.md §4).
//!
//! Output order: regimes in file order (gdpr, uk-gdpr, appi, pipl, cn-cac, tw-pdpa,
//! ru-152fz, us-ca, us-ny, us-tx, us-fl, us-co, us-wa, sg-pdpa, kr-pipa, au-ndb, br-lgpd,
//! in-dpdp, ca-pipeda), each regime's duties in rule order, tenant commitments last in
//! input order. `not_triggered` follows the same order.

mod commitment;
mod conditions;
mod deadline;
mod engine;
mod input;
mod model;
mod substitute;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::calendar::CalendarError;
use crate::domain::FieldError;

pub(crate) use conditions::thousands;
pub use deadline::DeadlineKind;
pub use input::{
    AffectedGroup, Commitment, CommitmentPeriod, EvaluationInput, TenantProfile, parse,
    parse_tenant_profile,
};
pub use model::{Comparison, Threshold};
pub use substitute::{
    PublicAnnouncement, Requirement, Substitute, SubstituteCondition, SubstitutePolicy,
};

/// The embedded regime data could not be read (a build defect, caught by unit tests).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid embedded regime data: {0}")]
pub struct RegimeDataError(String);

/// The result of evaluating every regime and commitment for one incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Duties that apply, with their deadlines.
    pub obligations: Vec<Obligation>,
    /// Regimes (or single duties of a regime) that do not apply, with the reason.
    pub not_triggered: Vec<NotTriggered>,
}

/// One duty: who must be told, by when, on what legal basis, and why it applies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Obligation {
    /// Regime id, e.g. `appi` or `commitment:jc-task`.
    pub regime: String,
    /// `regulator`, `subjects`, `attorney_general`, …
    pub recipient: String,
    /// `initial`, `preliminary`, `final`, `followup`, `notice`.
    pub phase: String,
    /// `fixed` (a computed `due_at`) or `asap`.
    pub kind: DeadlineKind,
    /// The instant the duty is due (RFC 3339 UTC); `None` for asap or on error.
    pub due_at: Option<DateTime<Utc>>,
    /// The local due date for day-based deadlines.
    pub due_date: Option<NaiveDate>,
    /// The civil time zone the deadline is counted in (IANA name).
    pub time_zone: String,
    /// For asap duties: the target instant (default 72 h after the clock start).
    pub target_at: Option<DateTime<Utc>>,
    /// For asap duties with an outer statutory or assessment limit: that limit.
    pub limit_at: Option<DateTime<Utc>>,
    /// Legal citation (or the tenant's promise).
    pub basis: String,
    /// Why it applies, e.g. `1,500 people in JP; cause malicious`.
    pub trigger: String,
    /// Why the deadline could not be computed, e.g. `no holiday data for JP 2028`.
    pub error: Option<String>,
}

/// A regime, or one duty of a regime, that does not apply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotTriggered {
    /// Regime id.
    pub regime: String,
    /// The skipped duty (`recipient.phase`) when the regime has other obligations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obligation: Option<String>,
    /// Why, e.g. `risk is low, needs high`.
    pub reason: String,
}

impl Obligation {
    fn new(
        regime: String,
        recipient: String,
        phase: String,
        tz: Tz,
        basis: String,
        trigger: String,
        due: Result<deadline::Due, CalendarError>,
    ) -> Self {
        let (due, error) = match due {
            Ok(due) => (Some(due), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Obligation {
            regime,
            recipient,
            phase,
            kind: due.as_ref().map_or(DeadlineKind::Fixed, |d| d.kind),
            due_at: due.as_ref().and_then(|d| d.due_at),
            due_date: due.as_ref().and_then(|d| d.due_date),
            time_zone: tz.name().to_string(),
            target_at: due.as_ref().and_then(|d| d.target_at),
            limit_at: due.as_ref().and_then(|d| d.limit_at),
            basis,
            trigger,
            error,
        }
    }
}

impl Evaluation {
    fn skip(&mut self, regime: &str, obligation: Option<String>, reason: String) {
        self.not_triggered.push(NotTriggered {
            regime: regime.to_string(),
            obligation,
            reason,
        });
    }
}

/// Evaluates every regime and tenant commitment for one incident.
pub fn evaluate(input: &EvaluationInput) -> Result<Evaluation, RegimeDataError> {
    let regimes = model::regimes().map_err(RegimeDataError)?;
    let mut out = Evaluation::default();
    for regime in regimes {
        engine::evaluate_regime(regime, input, &mut out);
    }
    for promise in &input.tenant.commitments {
        let closures = &input.tenant.closures;
        out.obligations
            .push(commitment::obligation(promise, input.aware_at, closures));
    }
    Ok(out)
}

/// The content a notice to people must carry under `regime` (a regime id such as
/// `appi`; tenant commitments and unknown ids add nothing): the base items every
/// notice carries plus what that law names, e.g. the kinds of data involved.
pub fn notice_items(regime: &str) -> Result<Vec<crate::domain::NoticeItem>, RegimeDataError> {
    let regimes = model::regimes().map_err(RegimeDataError)?;
    let mut items = crate::domain::NoticeItem::BASE.to_vec();
    if let Some(r) = regimes.iter().find(|r| r.id == regime) {
        items.extend(
            r.notice_items
                .iter()
                .filter(|i| !items.contains(i))
                .copied()
                .collect::<Vec<_>>(),
        );
    }
    Ok(items)
}

/// Whom an obligation of `regime` is about: `None` for everyone (the tenant is
/// established in the regime's territory, or the regime is a tenant's own
/// commitment), else the residents of these jurisdictions — the same rule the
/// evaluator counts people by.
pub fn people_of(
    regime: &str,
    establishments: &[crate::domain::Jurisdiction],
) -> Result<Option<Vec<crate::domain::Jurisdiction>>, RegimeDataError> {
    let regimes = model::regimes().map_err(RegimeDataError)?;
    Ok(regimes.iter().find(|r| r.id == regime).and_then(|r| {
        let established = establishments.iter().any(|e| r.territory.contains(e));
        (!established).then(|| r.territory.clone())
    }))
}

/// The civil time zone of a tenant's home: that of the first regime whose territory
/// holds its first establishment (`None` when no regime covers it).
pub fn home_zone(establishments: &[crate::domain::Jurisdiction]) -> Option<chrono_tz::Tz> {
    let home = establishments.first()?;
    let regimes = model::regimes().ok()?;
    regimes
        .iter()
        .find(|r| r.territory.contains(home))
        .map(|r| r.time_zone)
}

/// Every regime's substitute-notice rule, in file order.
pub fn substitute_policies() -> Result<Vec<SubstitutePolicy<'static>>, RegimeDataError> {
    let regimes = model::regimes().map_err(RegimeDataError)?;
    Ok(regimes
        .iter()
        .map(|r| SubstitutePolicy {
            regime: &r.id,
            territory: Some(&r.territory),
            territory_name: &r.territory_name,
            substitute: &r.substitute,
        })
        .collect())
}

/// Every duty the regime files can create, as `(regime, recipient, phase)`: the
/// names runbook due times refer to (tenant commitments name their own).
pub fn duties() -> Result<Vec<(String, String, String)>, RegimeDataError> {
    let regimes = model::regimes().map_err(RegimeDataError)?;
    Ok(regimes
        .iter()
        .flat_map(|r| {
            r.rules
                .iter()
                .map(|rule| (r.id.clone(), rule.recipient.clone(), rule.phase.clone()))
        })
        .collect())
}

/// `breachline obligations`: JSON input in, pretty JSON `{obligations, not_triggered}` out.
pub fn run_cli(json: &str) -> Result<String, Vec<FieldError>> {
    let input = parse(json)?;
    let evaluation =
        evaluate(&input).map_err(|e| vec![FieldError::new("regimes", e.to_string())])?;
    serde_json::to_string_pretty(&evaluation)
        .map_err(|e| vec![FieldError::new("output", e.to_string())])
}
