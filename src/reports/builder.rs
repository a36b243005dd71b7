//! The pure builder: a definition, a phase and the input in, the filled report out.
//!
//! Each item takes the first non-empty of: its source's value (for `from = "team"`: the
//! team's text, then the `fallback` source), then the team's text. Data never yields to a
//! typed answer: the team fills only what the data leave empty.
//!
//! `missing` rules: an item is required in the phases its definition lists (and, with
//! `when_late`, only when the report is made after the obligation's deadline). A required
//! item without a value is missing, unless the phase is phased (the law lets information
//! follow later) and the team answered "not yet known" with a reason and a follow-up
//! date. A final report is never phased (checked when the definitions load), so a final
//! report with anything missing is never complete.

use super::ReportError;
use super::definition::{Definition, ItemDefinition, ItemSource, ReportPhase, ValueSource};
use super::document::{ItemValue, ReportDocument, ReportItem};
use super::input::{Answer, ObligationClock, ReportInput};
use super::values::Reading;

/// Builds the report of `definition`'s regime for `phase` from `input`.
pub fn build(
    definition: &Definition,
    phase: ReportPhase,
    input: &ReportInput,
) -> Result<ReportDocument, ReportError> {
    let report = definition
        .phase(phase)
        .ok_or_else(|| ReportError::NoSuchPhase {
            regime: definition.regime.clone(),
            phase,
            expected: phase_list(definition),
        })?;
    let deadlines: Vec<ObligationClock> = input
        .obligations
        .iter()
        .filter(|o| o.regime == definition.regime)
        .cloned()
        .collect();
    let obligation = deadlines.iter().find(|o| o.key() == report.obligation);
    let late = obligation
        .and_then(ObligationClock::deadline)
        .is_some_and(|deadline| input.prepared_at > deadline);
    let reading = Reading {
        input,
        definition,
        obligation,
    };
    let items: Vec<ReportItem> = definition
        .items
        .iter()
        .map(|item| fill(item, &reading, phase, late))
        .collect();
    let missing = items
        .iter()
        .filter(|item| is_missing(item, report.phased))
        .map(|item| item.key.clone())
        .collect();
    Ok(ReportDocument {
        regime: definition.regime.clone(),
        phase,
        language: definition.language.clone(),
        title: report.title.clone(),
        title_en: report.title_en.clone(),
        regulator: definition.regulator.clone(),
        regulator_en: definition.regulator_en.clone(),
        citation: report.citation.clone(),
        time_zone: definition.time_zone.name().to_owned(),
        organisation: input.tenant_name.clone(),
        incident_reference: input.incident_reference.clone(),
        incident_title: input.incident.title.clone(),
        prepared_at: input.prepared_at,
        obligation: obligation.cloned(),
        late,
        phased: report.phased,
        items,
        missing,
        deadlines: deadlines.clone(),
        proof: input.proof.clone(),
    })
}

fn fill(
    item: &ItemDefinition,
    reading: &Reading<'_>,
    phase: ReportPhase,
    late: bool,
) -> ReportItem {
    let answer = reading.input.answers.get(&item.key);
    let typed = match answer {
        Some(Answer::Text(text)) if !text.trim().is_empty() => {
            Some(ItemValue::Text(text.trim().to_owned()))
        }
        _ => None,
    };
    let candidates = match item.from {
        ValueSource::Team => [Some(ValueSource::Team), item.fallback],
        from => [Some(from), Some(ValueSource::Team)],
    };
    let found = candidates.into_iter().flatten().find_map(|source| {
        let value = match source {
            ValueSource::Team => typed.clone(),
            data => reading.read(data),
        };
        value.map(|v| (v, source.source()))
    });
    let not_yet_known = match (answer, &found) {
        (Some(Answer::NotYetKnown(n)), None) if !n.reason.trim().is_empty() => Some(n.clone()),
        _ => None,
    };
    let (value, source) = match found {
        Some((value, source)) => (Some(value), source),
        None => (None, item.from.source()),
    };
    ReportItem {
        key: item.key.clone(),
        number: item.number.clone(),
        label: item.label.clone(),
        label_en: item.label_en.clone(),
        value,
        source: if not_yet_known.is_some() {
            ItemSource::Team
        } else {
            source
        },
        required: item.required_in(phase) && (!item.when_late || late),
        not_yet_known,
    }
}

fn is_missing(item: &ReportItem, phased: bool) -> bool {
    let deferred = phased && item.not_yet_known.is_some();
    item.required && item.value.is_none() && !deferred
}

fn phase_list(definition: &Definition) -> String {
    definition
        .phases
        .iter()
        .map(|p| p.phase.as_str())
        .collect::<Vec<_>>()
        .join("|")
}
