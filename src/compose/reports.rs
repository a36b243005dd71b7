//! Regulator reports, the service part: gathers a report's input through `store`
//! (the incident's facts, the affected set's counts, the obligations' clocks, the
//! dispatch ledger's figures, the bulletin, the approvals, a sample of the notice as
//! sent and the team's answers), builds it with the pure `reports` module, stores
//! the version, and records its submission against the obligation it answers.
//!
//! The proof of notification is read with the same store queries as the dispatch
//! progress (`dispatches::message_counts`, `dispatches::people_counts`), so the
//! figures a regulator sees are the ones the team saw, never re-typed.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{IncidentNotices, LINK_TOKEN_LEN, NoticeService};
use crate::db::DbConnection;
use crate::domain::{
    Audience, BulletinStatus, Channel, OutboxStatus, RecipientState, VersionKind, now_micros,
};
use crate::error::{AppError, AppResult};
use crate::notices::render::Person;
use crate::reports::{
    AffectedCounts, Answer, Approval, BulletinRef, ObligationClock, OutcomeCounts, Proof,
    ReportDocument, ReportError, ReportInput, ReportPhase, Reports, SampleNotice,
};
use crate::store::dispatches::{self, DispatchRow};
use crate::store::obligations::{self, ObligationRow, Resolution};
use crate::store::reports::{self as stored, NewVersion, Submission, VersionRow};
use crate::store::{affected, bulletins, incidents, tenants};

/// A report error as the API shows it: the field it is about and why.
pub fn report_error(field: &str, err: ReportError) -> AppError {
    AppError::field(field, err.to_string())
}

/// Everything `regime`'s reports are built from, as of `prepared_at`.
pub fn input(
    conn: &mut DbConnection,
    service: &Arc<NoticeService>,
    tenant_id: &str,
    incident_id: &str,
    regime: &str,
    language: &str,
    prepared_at: DateTime<Utc>,
) -> AppResult<ReportInput> {
    let incident = incidents::get(conn, tenant_id, incident_id)?;
    let tenant = tenants::get(conn, tenant_id)?;
    let scope = affected::get_scope(conn, tenant_id, incident_id)?;
    let affected = match scope.set_id {
        Some(set_id) => Some(AffectedCounts {
            summary: scope.summary.clone(),
            by_category: stored::people_by_category(conn, set_id)?,
        }),
        None => None,
    };
    let obligations = obligations::list(conn, tenant_id, incident_id)?
        .iter()
        .map(clock)
        .collect();
    let sent = dispatches::approved_of_incident(conn, tenant_id, incident_id)?;
    let proof = proof(conn, service, &tenant.slug, tenant_id, incident_id, &sent)?;
    let sample_notice = match sent.last() {
        Some(dispatch) => sample_notice(conn, service, dispatch, &proof, language)?,
        None => None,
    };
    let answers = stored::answers(conn, tenant_id, incident_id, regime)?
        .into_iter()
        .map(|(key, a)| (key, a.answer))
        .collect();
    Ok(ReportInput {
        incident_reference: incident.id.clone(),
        incident: incident.facts()?,
        tenant_name: tenant.name,
        affected,
        obligations,
        proof,
        sample_notice,
        answers,
        prepared_at,
    })
}

/// Builds `regime`'s `phase` report from the incident's data now and stores it as
/// the next version of that report.
#[allow(clippy::too_many_arguments)]
pub fn generate(
    conn: &mut DbConnection,
    service: &Arc<NoticeService>,
    reports: &Reports,
    tenant_id: &str,
    incident_id: &str,
    regime: &str,
    phase: ReportPhase,
    by: &str,
) -> AppResult<(VersionRow, ReportDocument)> {
    let definition = reports
        .definition(regime)
        .map_err(|e| report_error("regime", e))?;
    let prepared_at = now_micros().and_utc();
    let input = input(
        conn,
        service,
        tenant_id,
        incident_id,
        regime,
        &definition.language,
        prepared_at,
    )?;
    let document = reports
        .build(regime, phase, &input)
        .map_err(|e| report_error("phase", e))?;
    let json = serde_json::to_string(&document).map_err(|e| AppError::Unexpected(e.into()))?;
    let sha256 = document
        .sha256()
        .map_err(|e| AppError::Unexpected(e.into()))?;
    let row = stored::insert_version(
        conn,
        &NewVersion {
            tenant_id,
            incident_id,
            regime,
            phase,
            document: &json,
            sha256: &sha256,
            missing: &document.missing,
            created_by: by,
            created_at: prepared_at.naive_utc(),
        },
    )?;
    Ok((row, document))
}

/// The stored report of a version.
pub fn document(row: &VersionRow) -> AppResult<ReportDocument> {
    serde_json::from_str(&row.document).map_err(|e| {
        AppError::Unexpected(anyhow::anyhow!(
            "stored report {} cannot be read: {e}",
            row.id
        ))
    })
}

/// What recording a submission did to the obligation the report answers.
#[derive(Debug, Clone)]
pub struct Filed {
    /// The version, now submitted.
    pub version: VersionRow,
    /// The obligation it answers, if the incident has it (after the change).
    pub obligation: Option<ObligationRow>,
    /// Whether this submission marked it met (it was open).
    pub marked_met: bool,
}

/// Records that `row` was filed and marks the obligation it answers met with the
/// submission as evidence. Refused while a required item is missing (a phased
/// report's "not yet known" items with a reason and date are not missing).
pub fn submit(
    conn: &mut DbConnection,
    reports: &Reports,
    row: &VersionRow,
    submission: &Submission,
    by: &str,
) -> AppResult<Filed> {
    let missing = row.missing()?;
    if !missing.is_empty() {
        return Err(AppError::Blocked {
            detail: format!(
                "version {} of the {} {} report cannot be submitted: {} required item(s) are empty; fill them and generate a new version",
                row.version,
                row.regime,
                row.phase,
                missing.len()
            ),
            errors: missing
                .iter()
                .map(|key| {
                    crate::domain::FieldError::new(
                        format!("items.{key}"),
                        format!("is required in a {} report and has no value", row.phase),
                    )
                })
                .collect(),
        });
    }
    let answered = reports
        .definition(&row.regime)
        .ok()
        .and_then(|d| d.phase(row.phase().ok()?))
        .map(|p| p.obligation.clone());
    let version = stored::record_submission(conn, row, submission, by)?;
    let obligation = match answered {
        Some(key) => obligations::list(conn, &row.tenant_id, &row.incident_id)?
            .into_iter()
            .find(|o| o.regime == row.regime && format!("{}.{}", o.recipient, o.phase) == key),
        None => None,
    };
    let mut marked_met = false;
    let obligation = match obligation {
        Some(o) if o.status == "open" => {
            let evidence = format!(
                "report {} {} v{} (sha256 {}) filed by {} on {}, reference {}",
                row.regime,
                row.phase,
                row.version,
                row.sha256,
                submission.channel,
                crate::domain::format_instant(submission.submitted_at),
                submission.reference
            );
            obligations::resolve(
                conn,
                &o,
                &Resolution::Met {
                    evidence,
                    at: submission.submitted_at,
                },
                by,
            )?;
            marked_met = true;
            Some(obligations::get(
                conn,
                &row.tenant_id,
                &row.incident_id,
                &o.id,
            )?)
        }
        other => other,
    };
    Ok(Filed {
        version,
        obligation,
        marked_met,
    })
}

fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

fn clock(o: &ObligationRow) -> ObligationClock {
    ObligationClock {
        regime: o.regime.clone(),
        recipient: o.recipient.clone(),
        phase: o.phase.clone(),
        basis: o.basis.clone(),
        due_at: o.due_at.map(utc),
        target_at: o.target_at.map(utc),
        limit_at: o.limit_at.map(utc),
        met_at: o.met_at.map(utc),
    }
}

/// Proof of notification from the ledger of every approved dispatch, the bulletin
/// in force and the approvals of what was sent.
fn proof(
    conn: &mut DbConnection,
    service: &NoticeService,
    tenant_slug: &str,
    tenant_id: &str,
    incident_id: &str,
    sent: &[DispatchRow],
) -> AppResult<Proof> {
    let mut proof = Proof::default();
    for dispatch in sent {
        for m in dispatches::message_counts(conn, &dispatch.id)? {
            let counts = proof.by_channel.entry(m.channel).or_default();
            add(counts, m.status, m.n);
        }
        for (state, n) in dispatches::people_counts(conn, &dispatch.id)? {
            if state.is_notified() {
                proof.people_notified += n;
            }
            match state {
                RecipientState::Unreachable => proof.unreachable += n,
                RecipientState::Covered => proof.covered_by_bulletin += n,
                _ => {}
            }
        }
        if let (Some(who), Some(when)) = (&dispatch.approved_by, dispatch.approved_at) {
            proof.approvals.push(Approval {
                who: who.clone(),
                when: utc(when),
                content_hash: dispatch.content_hash.clone(),
            });
        }
    }
    let (first, last) = stored::sending_span(conn, tenant_id, incident_id)?;
    proof.first_sent_at = first.map(utc);
    proof.last_sent_at = last.map(utc);
    for row in bulletins::list(conn, tenant_id, incident_id)? {
        let versions = bulletins::versions(conn, &row)?;
        for v in &versions {
            if let (VersionKind::Content, Some(who), Some(when)) =
                (v.kind()?, &v.approved_by, v.published_at)
            {
                proof.approvals.push(Approval {
                    who: who.clone(),
                    when: utc(when),
                    content_hash: v.sha256.clone(),
                });
            }
        }
        if row.status()? != BulletinStatus::Published {
            continue;
        }
        let shown = versions
            .iter()
            .find(|v| Some(v.version) == row.published_version);
        if let Some(v) = shown
            && let Some(published_at) = v.published_at
        {
            proof.bulletin = Some(BulletinRef {
                url: service.bulletin_url(tenant_slug, &row.id),
                version: i64::from(v.version),
                sha256: v.sha256.clone(),
                published_at: utc(published_at),
            });
        }
    }
    proof.approvals.sort_by_key(|a| a.when);
    Ok(proof)
}

fn add(counts: &mut OutcomeCounts, status: OutboxStatus, n: i64) {
    let slot = match status {
        OutboxStatus::Queued => &mut counts.queued,
        OutboxStatus::Sending => &mut counts.sending,
        OutboxStatus::Sent => &mut counts.sent,
        OutboxStatus::Delivered => &mut counts.delivered,
        OutboxStatus::HandedOff => &mut counts.handed_off,
        OutboxStatus::Failed => &mut counts.failed,
        OutboxStatus::Bounced => &mut counts.bounced,
        OutboxStatus::Cancelled => return,
    };
    *slot += n;
}

/// The notice of the last dispatch as its people got it, rendered from the content
/// it was approved with, with placeholders where a person's own details go (no
/// personal data): on e-mail when e-mail was used, else the channel most notices
/// left on; in the report's language when the content has it, else the tenant's.
fn sample_notice(
    conn: &mut DbConnection,
    service: &Arc<NoticeService>,
    dispatch: &DispatchRow,
    proof: &Proof,
    language: &str,
) -> AppResult<Option<SampleNotice>> {
    let notices = IncidentNotices::load(
        conn,
        service.clone(),
        &dispatch.tenant_id,
        &dispatch.incident_id,
    )?
    .with_content(dispatch.content()?);
    let left = |c: &OutcomeCounts| c.sent + c.delivered + c.handed_off + c.bounced;
    let channel = if proof
        .by_channel
        .get(&Channel::Email)
        .is_some_and(|c| left(c) > 0)
    {
        Some(Channel::Email)
    } else {
        proof
            .by_channel
            .iter()
            .filter(|(_, c)| left(c) > 0)
            .max_by_key(|(_, c)| left(c))
            .map(|(channel, _)| *channel)
    };
    let Some(channel) = channel else {
        return Ok(None);
    };
    let locales = notices.locales();
    let locale = [language, notices.tenant_locale()]
        .into_iter()
        .find_map(|wanted| crate::notices::locale::best_match(wanted, locales))
        .or_else(|| locales.first().map(String::as_str));
    let Some(locale) = locale.map(str::to_owned) else {
        return Ok(None);
    };
    let categories = incidents::get(conn, &dispatch.tenant_id, &dispatch.incident_id)?
        .facts()?
        .data_categories;
    let person = Person {
        recipient_name: Some("[name]".into()),
        subject_name: Some("[name]".into()),
        notice_url: Some(notices.notice_url(&"0".repeat(LINK_TOKEN_LEN))),
        postal_address: (channel == Channel::Letter).then(|| "[postal address]".into()),
        categories,
    };
    let rendered = notices
        .renderer()
        .render(&locale, channel, Audience::Subject, &person)
        .map_err(AppError::Unexpected)?;
    Ok(Some(SampleNotice {
        channel,
        locale,
        subject: rendered.subject,
        text: rendered.text.unwrap_or_default(),
        content_hash: dispatch.content_hash.clone(),
    }))
}

/// The team's answers as the API takes them: a text, `{"not_yet_known": {"reason",
/// "follow_up_on"}}`, or `null` to clear. Keys must be items of the regime's report.
pub fn parse_answers(
    reports: &Reports,
    regime: &str,
    body: &serde_json::Map<String, serde_json::Value>,
) -> AppResult<Vec<(String, Option<Answer>)>> {
    use crate::domain::FieldError;
    use serde_json::Value;
    const TEXT_MAX: usize = 20_000;
    let definition = reports
        .definition(regime)
        .map_err(|e| report_error("regime", e))?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in body {
        let field = format!("answers.{key}");
        if !definition.items.iter().any(|i| i.key == *key) {
            errors.push(FieldError::new(
                field,
                format!(
                    "the {regime} report has no item '{key}'; its items are {}",
                    definition
                        .items
                        .iter()
                        .map(|i| i.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            continue;
        }
        let answer = match value {
            Value::Null => None,
            Value::String(text) if text.trim().is_empty() => None,
            Value::String(text) if text.chars().count() > TEXT_MAX => {
                errors.push(FieldError::new(
                    field,
                    format!("must be at most {TEXT_MAX} characters"),
                ));
                continue;
            }
            Value::String(text) => Some(Answer::Text(text.trim().to_owned())),
            Value::Object(_) => match serde_json::from_value::<Answer>(value.clone()) {
                Ok(Answer::NotYetKnown(n)) if n.reason.trim().is_empty() => {
                    errors.push(FieldError::new(
                        format!("{field}.not_yet_known.reason"),
                        "must say why the item is not known yet",
                    ));
                    continue;
                }
                Ok(answer) => Some(answer),
                Err(e) => {
                    errors.push(FieldError::new(
                        field,
                        format!(
                            "must be a text, null, or {{\"not_yet_known\": {{\"reason\": text, \"follow_up_on\": \"YYYY-MM-DD\"}}}} ({e})"
                        ),
                    ));
                    continue;
                }
            },
            _ => {
                errors.push(FieldError::new(
                    field,
                    "must be a text, null, or {\"not_yet_known\": {\"reason\", \"follow_up_on\"}}",
                ));
                continue;
            }
        };
        out.push((key.clone(), answer));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The answers as the API shows them, by item key.
pub fn answers_view(
    answers: &BTreeMap<String, stored::StoredAnswer>,
) -> AppResult<serde_json::Value> {
    let mut out = serde_json::Map::new();
    for (key, a) in answers {
        let value = match &a.answer {
            Answer::Text(text) => serde_json::json!(text),
            other => serde_json::to_value(other).map_err(|e| AppError::Unexpected(e.into()))?,
        };
        out.insert(
            key.clone(),
            serde_json::json!({
                "value": value,
                "updated_by": a.updated_by,
                "updated_at": crate::domain::format_instant(a.updated_at),
            }),
        );
    }
    Ok(serde_json::Value::Object(out))
}
