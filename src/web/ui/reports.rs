//! The incident page's regulator reports: the versions generated so far with their
//! HTML, PDF and JSON links, generating the next version of a regime's report,
//! the team's answers to the items only people can give, and recording a
//! submission. Each form calls the API's own function (`api::reports::generate`,
//! `fill_answers`, `submit`).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::form::{self, FormData, Kind, Mode};
use super::incidents::{Deps, Refused, after};
use super::session::{SignedIn, UiResult};
use super::view;
use crate::db::DbConnection;
use crate::domain::SubmissionChannel;
use crate::error::AppResult;
use crate::reports::{Answer, ReportPhase, Reports, ValueSource};
use crate::store::obligations::ObligationRow;
use crate::store::reports::{self as stored, StoredAnswer, VersionRow};
use crate::web::api;
use crate::web::auth::Principal;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{id}/reports", web::post().to(generate))
        .route("/incidents/{id}/reports/answers", web::post().to(answer))
        .route("/incidents/{id}/reports/{r}/submit", web::post().to(submit));
}

/// The fields of the submission form, in the API's names.
const SUBMIT_FIELDS: &[(&str, Kind)] = &[
    ("submitted_at", Kind::Instant),
    ("channel", Kind::Text),
    ("reference", Kind::Text),
];

/// What the page shows of the reports: the versions, and the team's answers per
/// regime that has a report form.
pub(super) struct Loaded {
    versions: Vec<VersionRow>,
    answers: BTreeMap<String, BTreeMap<String, StoredAnswer>>,
}

/// The regimes of the incident's obligations that have a report form.
fn regimes(reports: &Reports, obligations: &[ObligationRow]) -> Vec<String> {
    let mut out: Vec<String> = obligations
        .iter()
        .map(|o| o.regime.clone())
        .filter(|r| reports.definition(r).is_ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Reads the reports for the page; `None` for roles that do not work on them here
/// (a notifier reads none; a regulator reads only what is shared, on the portal).
pub(super) fn load(
    conn: &mut DbConnection,
    who: &Principal,
    reports: &Reports,
    incident_id: &str,
    obligations: &[ObligationRow],
) -> AppResult<Option<Loaded>> {
    if !who.role.can_read_reports() || who.role.reads_only_shared_reports() {
        return Ok(None);
    }
    let versions = stored::list(conn, &who.tenant_id, incident_id)?;
    let mut answers = BTreeMap::new();
    if who.role.can_write_reports() {
        for regime in regimes(reports, obligations) {
            let stored = stored::answers(conn, &who.tenant_id, incident_id, &regime)?;
            answers.insert(regime, stored);
        }
    }
    Ok(Some(Loaded { versions, answers }))
}

/// The reports section of the incident page.
pub(super) fn view(
    signed: &SignedIn,
    reports: &Reports,
    loaded: &Loaded,
    obligations: &[ObligationRow],
    refused: Option<&Refused<'_>>,
) -> AppResult<Value> {
    let tz = signed.tz;
    let can_write = signed.who.role.can_write_reports();
    let for_form = |name: &str| refused.filter(|r| r.form == name);
    let error_of = |form: &str, field: &str| {
        for_form(form)
            .and_then(|r| r.errors.iter().find(|e| e.field == field))
            .map(|e| e.reason.clone())
    };
    let posted_of = |form: &str, field: &str| {
        for_form(form)
            .and_then(|r| r.posted)
            .and_then(|p| p.get(field))
            .map(str::to_owned)
    };
    let versions = loaded
        .versions
        .iter()
        .map(|row| {
            let form_id = format!("report-submit-{}", row.id);
            let base = format!("/api/v1/incidents/{}/reports/{}", row.incident_id, row.id);
            let missing = row.missing()?;
            let submission = row.submission()?;
            let status = match (&submission, missing.is_empty()) {
                (Some(_), _) => "submitted",
                (None, true) => "complete",
                (None, false) => "incomplete",
            };
            let channel = posted_of(&form_id, "channel").unwrap_or_default();
            Ok(json!({
                "id": row.id,
                "regime": row.regime,
                "phase": row.phase,
                "version": row.version,
                "status": status,
                "missing": missing,
                "created_by": row.created_by,
                "created": view::instant(row.created_at, tz),
                "html": format!("{base}.html"),
                "pdf": format!("{base}.pdf"),
                "json": format!("{base}.json"),
                "submission": submission.map(|s| json!({
                    "at": view::instant(s.submitted_at, tz), "channel": s.channel, "reference": s.reference,
                })),
                "can_submit": can_write && row.submitted_at.is_none(),
                "submitted_at": posted_of(&form_id, "submitted_at").unwrap_or_default(),
                "reference": posted_of(&form_id, "reference").unwrap_or_default(),
                "channels": SubmissionChannel::ALL.iter().map(|c| json!({
                    "value": c.as_str(), "selected": c.as_str() == channel,
                })).collect::<Vec<_>>(),
                "submitted_at_error": error_of(&form_id, "submitted_at"),
                "channel_error": error_of(&form_id, "channel"),
                "reference_error": error_of(&form_id, "reference"),
                "message": for_form(&form_id).and_then(|r| r.message.clone()),
            }))
        })
        .collect::<AppResult<Vec<Value>>>()?;
    let applicable = regimes(reports, obligations);
    let mut phases: Vec<&str> = applicable
        .iter()
        .filter_map(|r| reports.definition(r).ok())
        .flat_map(|d| d.phases.iter().map(|p| p.phase.as_str()))
        .collect();
    phases.sort_by_key(|p| ReportPhase::ALL.iter().position(|q| q.as_str() == *p));
    phases.dedup();
    let chosen = |field: &str| posted_of("report-generate", field).unwrap_or_default();
    let answers = loaded
        .answers
        .iter()
        .filter_map(|(regime, stored)| {
            let definition = reports.definition(regime).ok()?;
            let form_id = format!("report-answers-{regime}");
            let own_language = signed.lang.tag().starts_with(definition.language.as_str());
            let items = definition
                .items
                .iter()
                .filter(|item| item.from == ValueSource::Team)
                .map(|item| {
                    let name = format!("answers.{}", item.key);
                    let stored_text = match stored.get(&item.key).map(|a| &a.answer) {
                        Some(Answer::Text(text)) => text.clone(),
                        _ => String::new(),
                    };
                    let not_yet_known = match stored.get(&item.key).map(|a| &a.answer) {
                        Some(Answer::NotYetKnown(n)) => Some(n.reason.clone()),
                        _ => None,
                    };
                    json!({
                        "name": name,
                        "id": format!("answers-{regime}-{}", item.key),
                        "label": if own_language { &item.label } else { &item.label_en },
                        "number": item.number,
                        "value": posted_of(&form_id, &name).unwrap_or(stored_text),
                        "not_yet_known": not_yet_known,
                        "error": error_of(&form_id, &name),
                    })
                })
                .collect::<Vec<_>>();
            let other_errors: Vec<String> = for_form(&form_id)
                .map(|r| r.errors.as_slice())
                .unwrap_or_default()
                .iter()
                .filter(|e| !items.iter().any(|i| i["name"] == e.field.as_str()))
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect();
            Some(json!({
                "regime": regime,
                "regulator": if own_language { &definition.regulator } else { &definition.regulator_en },
                "items": items,
                "message": for_form(&form_id).and_then(|r| r.message.clone()),
                "other_errors": other_errors,
            }))
        })
        .collect::<Vec<_>>();
    Ok(json!({
        "versions": versions,
        "can_write": can_write,
        "regimes": applicable.iter().map(|r| json!({ "value": r, "selected": *r == chosen("regime") })).collect::<Vec<_>>(),
        "phases": phases.iter().map(|p| json!({ "value": p, "selected": *p == chosen("phase") })).collect::<Vec<_>>(),
        "regime_error": error_of("report-generate", "regime"),
        "phase_error": error_of("report-generate", "phase"),
        "message": for_form("report-generate").and_then(|r| r.message.clone()),
        "answers": answers,
    }))
}

type Incident = web::Path<String>;

/// Generates the next version of a regime's report.
async fn generate(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let body = api::reports::CreateBody {
        regime: form.get("regime").map(str::to_owned),
        phase: form.get("phase").map(str::to_owned),
    };
    let result = api::reports::generate(
        signed.who.clone(),
        &deps.db,
        deps.service.clone(),
        deps.reports.clone(),
        id.clone(),
        body,
    )
    .await
    .map(drop);
    let form_name = "report-generate".to_owned();
    after(
        &signed,
        &deps,
        id,
        form_name,
        Some(&form),
        result,
        "reports",
    )
    .await
}

/// Stores the team's answers to one regime's items (a blank item is left as it is).
async fn answer(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let regime = form.get("regime").unwrap_or_default().to_owned();
    let names: Vec<String> = form
        .values()
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("answers."))
        .collect();
    let fields: Vec<(&str, Kind)> = std::iter::once(("regime", Kind::Text))
        .chain(names.iter().map(|n| (n.as_str(), Kind::Text)))
        .collect();
    let mut body = form::to_json(&form, &fields, signed.tz, Mode::Create);
    body.entry("answers").or_insert_with(|| json!({}));
    let result = api::reports::fill_answers(
        signed.who.clone(),
        &deps.db,
        &deps.reports,
        id.clone(),
        body,
    )
    .await
    .map(drop);
    let form_name = format!("report-answers-{regime}");
    after(
        &signed,
        &deps,
        id,
        form_name,
        Some(&form),
        result,
        "reports",
    )
    .await
}

/// Records that a version was submitted to the regulator.
async fn submit(
    signed: SignedIn,
    deps: Deps,
    path: web::Path<(String, String)>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let (id, report) = path.into_inner();
    let body = form::to_json(&form, SUBMIT_FIELDS, signed.tz, Mode::Create);
    let result = api::reports::submit(
        signed.who.clone(),
        &deps.db,
        deps.reports.clone(),
        id.clone(),
        report.clone(),
        body,
    )
    .await
    .map(drop);
    let form_name = format!("report-submit-{report}");
    after(
        &signed,
        &deps,
        id,
        form_name,
        Some(&form),
        result,
        "reports",
    )
    .await
}
