//! The OpenAPI document states the closed vocabularies the server checks: report
//! regimes with their phases and items, time zones, calendars, data categories.
//! These tests compare the document with the code, so that neither drifts (a
//! fuzzer sending a schema-valid value the server refuses is the symptom).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::OPENAPI;
use crate::domain::DataCategory;
use crate::reports::Reports;

fn document() -> Value {
    serde_json::from_str(OPENAPI).unwrap()
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let found = &doc["components"]["schemas"][name];
    assert!(found.is_object(), "components.schemas.{name} is missing");
    found
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// `oneOf` branches keyed by their one-value `regime` enum.
fn per_regime<'a>(doc: &'a Value, name: &str) -> BTreeMap<String, &'a Value> {
    schema(doc, name)["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} has no oneOf"))
        .iter()
        .map(|branch| {
            let regime = strings(&branch["properties"]["regime"]["enum"]);
            assert_eq!(regime.len(), 1, "{name}: one regime per branch");
            (regime[0].clone(), branch)
        })
        .collect()
}

#[test]
fn report_requests_name_each_regime_with_its_phases() {
    let reports = Reports::embedded().unwrap();
    let doc = document();
    let branches = per_regime(&doc, "ReportRequest");
    let expected: BTreeMap<String, Vec<String>> = reports
        .definitions()
        .iter()
        .map(|d| {
            let phases = d.phases.iter().map(|p| p.phase.as_str().to_owned());
            (d.regime.clone(), phases.collect())
        })
        .collect();
    let documented: BTreeMap<String, Vec<String>> = branches
        .iter()
        .map(|(regime, b)| (regime.clone(), strings(&b["properties"]["phase"]["enum"])))
        .collect();
    assert_eq!(
        documented,
        expected,
        "ReportRequest should be {}",
        serde_json::to_string(&expected).unwrap()
    );
    let regimes = strings(&schema(&doc, "ReportRegime")["enum"]);
    assert_eq!(
        regimes.iter().collect::<BTreeSet<_>>(),
        expected.keys().collect()
    );
}

#[test]
fn report_answers_name_each_regime_with_its_items() {
    let reports = Reports::embedded().unwrap();
    let doc = document();
    let expected: BTreeMap<String, Vec<String>> = reports
        .definitions()
        .iter()
        .map(|d| {
            let mut keys: Vec<String> = d.items.iter().map(|i| i.key.clone()).collect();
            keys.sort();
            (d.regime.clone(), keys)
        })
        .collect();
    let documented: BTreeMap<String, Vec<String>> = per_regime(&doc, "ReportAnswersChange")
        .iter()
        .map(|(regime, b)| {
            let items = b["properties"]["answers"]["properties"]
                .as_object()
                .unwrap();
            (regime.clone(), items.keys().cloned().collect())
        })
        .collect();
    assert_eq!(
        documented,
        expected,
        "ReportAnswersChange should be {}",
        serde_json::to_string(&expected).unwrap()
    );
}

#[test]
fn time_zones_are_the_servers_iana_names() {
    let doc = document();
    let expected: Vec<String> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name().to_owned())
        .collect();
    assert_eq!(
        strings(&schema(&doc, "TimeZone")["enum"]),
        expected,
        "TimeZone should be {}",
        serde_json::to_string(&expected).unwrap()
    );
}

#[test]
fn calendars_and_data_categories_match() {
    let doc = document();
    let calendars: Vec<String> = crate::calendar::all()
        .unwrap()
        .iter()
        .map(|c| c.id().to_owned())
        .collect();
    assert_eq!(strings(&schema(&doc, "CalendarId")["enum"]), calendars);
    let categories: Vec<String> = DataCategory::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let documented = &schema(&doc, "IncidentInput")["properties"]["data_categories"]["items"];
    assert_eq!(strings(&documented["enum"]), categories);
}
