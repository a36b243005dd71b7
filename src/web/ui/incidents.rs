//! The incidents list, the new-incident form and the incident page with its forms.
//! Each form posts here, is turned into the API's JSON body and handed to the API's
//! own function (validation, role check, store, audit); an invalid form is shown
//! again with each error next to its field.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::fields::{Source, fields, other_errors};
use super::form::{self, FormData, Kind, Mode};
use super::session::{SignedIn, UiError, UiResult};
use super::view::{self, Pages};
use super::{page, see_other};
use crate::audit;
use crate::compose::{NoticeService, plan};
use crate::db::Db;
use crate::dispatch::progress;
use crate::dispatch::settings::ChannelSettings;
use crate::dispatch::worker::OutboxBell;
use crate::domain::{Channel, FieldError, IncidentStatus, TaskState, now_micros, parse_instant};
use crate::error::{AppError, AppResult};
use crate::reports::Reports;
use crate::runbooks::Library;
use crate::store::{
    affected, dispatches, incidents, notice_contents, obligations, overview, tasks, tenants,
    timeline,
};
use crate::web::api;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents", web::get().to(list_page))
        .route("/incidents", web::post().to(create_incident))
        .route("/incidents/new", web::get().to(new_page))
        .route("/incidents/{id}", web::get().to(incident_page))
        .route("/incidents/{id}/facts", web::post().to(update_facts))
        .route("/incidents/{id}/status", web::post().to(change_status))
        .route("/incidents/{id}/timeline", web::post().to(add_timeline))
        .route("/incidents/{id}/scope", web::post().to(set_scope))
        .route(
            "/incidents/{id}/obligations/{obligation}/met",
            web::post().to(mark_met),
        )
        .route(
            "/incidents/{id}/obligations/{obligation}/waive",
            web::post().to(waive),
        )
        .route(
            "/incidents/{id}/notice-content",
            web::post().to(save_content),
        )
        .route("/incidents/{id}/plan", web::post().to(make_plan))
        .route(
            "/incidents/{id}/dispatches",
            web::post().to(create_dispatch),
        )
        .route(
            "/incidents/{id}/dispatches/{dispatch}/approve",
            web::post().to(approve_dispatch),
        )
        .configure(super::reports::config)
        .configure(super::bulletins::config)
        .configure(super::tasks::config);
}

/// The fields of the facts forms (new incident and edit), in the API's names.
const FACT_FIELDS: &[(&str, Kind)] = &[
    ("title", Kind::Text),
    ("description", Kind::Text),
    ("occurred_at", Kind::Instant),
    ("discovered_at", Kind::Instant),
    ("aware_at", Kind::Instant),
    ("assessed_at", Kind::Instant),
    ("contained_at", Kind::Instant),
    ("cause", Kind::Text),
    ("breach_types", Kind::Words),
    ("data_categories", Kind::Words),
    ("systems", Kind::Lines),
    ("encrypted", Kind::Bool),
    ("risk", Kind::Text),
    ("estimated_affected", Kind::Count),
    ("severity", Kind::Text),
    ("owner", Kind::Text),
];

const TIMELINE_FIELDS: &[(&str, Kind)] = &[
    ("at", Kind::Instant),
    ("kind", Kind::Text),
    ("text", Kind::Text),
];

const SCOPE_FIELDS: &[(&str, Kind)] = &[
    ("systems", Kind::Lines),
    ("data_categories", Kind::Words),
    ("jurisdictions", Kind::Lines),
    ("subject_ids", Kind::Lines),
];

/// What the header of every signed-in page needs.
pub(super) fn chrome(signed: &SignedIn, back: &str) -> Value {
    json!({
        "user": { "email": signed.user.email, "role": signed.who.role.as_str(), "admin": signed.who.role.can_manage_users() },
        "csrf": signed.session.csrf_token,
        "zone": signed.tz.name(),
        "locale": signed.user.locale.clone().unwrap_or_default(),
        "back": back,
    })
}

fn render(
    signed: &SignedIn,
    status: StatusCode,
    name: &str,
    mut data: Value,
    back: &str,
) -> UiResult<HttpResponse> {
    if let Some(map) = data.as_object_mut() {
        map.insert("chrome".into(), chrome(signed, back));
    }
    Ok(page(status, Pages::get()?.render(name, signed.lang, data)?))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    sort: Option<String>,
}

async fn list_page(
    signed: SignedIn,
    db: web::Data<Db>,
    query: web::Query<ListQuery>,
) -> UiResult<HttpResponse> {
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<IncidentStatus>)
        .transpose()
        .map_err(|reason| AppError::field("status", reason))?;
    let by_deadline = query.sort.as_deref() != Some("newest");
    let tenant = signed.who.tenant_id.clone();
    let mut rows = db
        .read(move |conn| overview::list(conn, &tenant, status, 500))
        .await?;
    if by_deadline {
        rows.sort_by_key(|r| (r.earliest_due.is_none(), r.earliest_due));
    }
    let now = now_micros();
    let pages = Pages::get()?;
    let overdue = pages.word(signed.lang, "overdue");
    let items = rows
        .iter()
        .map(|r| {
            let facts = r.incident.facts()?;
            Ok(json!({
                "id": r.incident.id,
                "title": facts.title,
                "status": r.incident.status,
                "severity": facts.severity,
                "affected": r.affected,
                "open_obligations": r.open_obligations,
                "due": r.earliest_due.map(|d| view::deadline(d, signed.tz, signed.tz, now, &overdue)),
            }))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let statuses: Vec<Value> = IncidentStatus::ALL
        .iter()
        .map(|s| json!({ "value": s.as_str(), "selected": Some(*s) == status }))
        .collect();
    render(
        &signed,
        StatusCode::OK,
        "incidents",
        json!({
            "items": items,
            "statuses": statuses,
            "by_deadline": by_deadline,
            "can_create": signed.who.role.can_edit_incidents(),
        }),
        "/incidents",
    )
}

fn new_form(
    signed: &SignedIn,
    status: StatusCode,
    source: Source<'_>,
    errors: &[FieldError],
) -> UiResult<HttpResponse> {
    let data = json!({
        "fields": fields(signed, "new", FACT_FIELDS, &source, errors)?,
        "other_errors": other_errors(FACT_FIELDS, errors),
        "has_errors": !errors.is_empty(),
    });
    render(signed, status, "incident_new", data, "/incidents/new")
}

async fn new_page(signed: SignedIn) -> UiResult<HttpResponse> {
    let blank = json!({});
    new_form(&signed, StatusCode::OK, Source::Stored(&blank), &[])
}

async fn create_incident(
    signed: SignedIn,
    db: web::Data<Db>,
    runbooks: web::Data<Library>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let body = form::to_json(&form, FACT_FIELDS, signed.tz, Mode::Create);
    match api::incidents::create(signed.who.clone(), &db, runbooks, body).await {
        Ok(view) => Ok(see_other(&format!(
            "/incidents/{}",
            view["id"].as_str().unwrap_or_default()
        ))),
        Err(AppError::Validation(errors)) => new_form(
            &signed,
            StatusCode::UNPROCESSABLE_ENTITY,
            Source::Posted(&form),
            &errors,
        ),
        Err(other) => Err(other.into()),
    }
}

/// A form of the incident page shown again after the API refused it.
pub(super) struct Refused<'a> {
    /// Which form (`facts`, `timeline`, `scope`, `content`, `obligation-<id>`, …).
    pub(super) form: String,
    /// The API's field errors.
    pub(super) errors: Vec<FieldError>,
    /// A refusal that names no field (conflict, role).
    pub(super) message: Option<String>,
    /// The form as posted, to show again.
    pub(super) posted: Option<&'a FormData>,
    /// The status the API gives the refusal (422, 409, 403).
    pub(super) status: StatusCode,
}

#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    subject: Option<String>,
    add_locale: Option<String>,
}

struct Loaded {
    facts: Value,
    status: IncidentStatus,
    timeline: Vec<timeline::TimelineEntry>,
    scope: affected::ScopeState,
    obligations: Vec<obligations::ObligationRow>,
    content: Option<notice_contents::StoredContent>,
    plan: Option<plan::PlanSummary>,
    dispatches: Vec<progress::DispatchProgress>,
    audit: Vec<audit::AuditEntry>,
    tasks: Vec<tasks::TaskRow>,
    reports: Option<super::reports::Loaded>,
    bulletins: Vec<super::bulletins::Loaded>,
    tenant_slug: String,
}

/// Everything the incident page shows, in one read: summaries and small lists,
/// never the affected people themselves.
async fn load(db: &Db, signed: &SignedIn, id: String, deps: &Deps) -> AppResult<Loaded> {
    let channels = deps.channels.clone();
    let report_forms = deps.reports.clone();
    let who = signed.who.clone();
    let tenant = signed.who.tenant_id.clone();
    let may_read_plan = signed.who.role.can_read_subjects();
    let may_read_audit = signed.who.role.can_read_audit();
    let may_read_tasks = signed.who.role.can_read_tasks();
    db.read(move |conn| {
        let row = incidents::get(conn, &tenant, &id)?;
        let facts = row.to_json()?;
        let status = row.status()?;
        let timeline = timeline::list(conn, &tenant, &id)?;
        let scope = affected::get_scope(conn, &tenant, &id)?;
        let obligations = obligations::list(conn, &tenant, &id)?;
        let content = notice_contents::get(conn, &tenant, &id)?;
        let plan = match may_read_plan.then(|| plan::get(conn, &tenant, &id)) {
            Some(Ok(summary)) => Some(summary),
            Some(Err(AppError::NotFound(_))) | None => None,
            Some(Err(other)) => return Err(other),
        };
        let dispatch_rows = dispatches::list(conn, &tenant, &id, None, 20)?;
        let dispatches = dispatch_rows
            .iter()
            .map(|d| progress::progress(conn, &channels, d))
            .collect::<AppResult<Vec<_>>>()?;
        let audit = if may_read_audit {
            let mut targets = vec![format!("incident:{id}")];
            targets.extend(obligations.iter().map(|o| format!("obligation:{}", o.id)));
            targets.extend(dispatch_rows.iter().map(|d| format!("dispatch:{}", d.id)));
            audit::about(conn, &tenant, &targets, 100)?
        } else {
            Vec::new()
        };
        let tasks = if may_read_tasks {
            tasks::list(conn, &tenant, &id)?
        } else {
            Vec::new()
        };
        let reports = super::reports::load(conn, &who, &report_forms, &id, &obligations)?;
        let bulletins = super::bulletins::load(conn, &tenant, &id)?;
        let tenant_slug = tenants::get(conn, &tenant)?.slug;
        Ok(Loaded {
            tasks,
            reports,
            bulletins,
            tenant_slug,
            facts,
            status,
            timeline,
            scope,
            obligations,
            content,
            plan,
            dispatches,
            audit,
        })
    })
    .await
}

async fn show(
    signed: &SignedIn,
    deps: &Deps,
    id: String,
    query: PageQuery,
    refused: Option<Refused<'_>>,
) -> UiResult<HttpResponse> {
    let started = std::time::Instant::now();
    let db = &deps.db;
    let loaded = load(db, signed, id.clone(), deps).await?;
    let pages = Pages::get()?;
    let lang = signed.lang;
    let tz = signed.tz;
    let now = now_micros();
    let overdue = pages.word(lang, "overdue");
    let role = signed.who.role;
    let for_form = |name: &str| refused.as_ref().filter(|r| r.form == name);
    let errors_of = |name: &str| for_form(name).map(|r| r.errors.clone()).unwrap_or_default();
    let message_of = |name: &str| for_form(name).and_then(|r| r.message.clone());
    let source_of = |name: &str| match for_form(name).and_then(|r| r.posted) {
        Some(posted) => Source::Posted(posted),
        None => Source::Stored(&loaded.facts),
    };

    let facts_errors = errors_of("facts");
    let facts = json!({
        "fields": fields(signed, "facts", FACT_FIELDS, &source_of("facts"), &facts_errors)?,
        "other_errors": other_errors(FACT_FIELDS, &facts_errors),
        "message": message_of("facts"),
    });
    let statuses: Vec<Value> = IncidentStatus::ALL
        .iter()
        .map(|s| json!({ "value": s.as_str(), "selected": *s == loaded.status }))
        .collect();

    let timeline_errors = errors_of("timeline");
    let empty = json!({});
    let timeline_source = match for_form("timeline").and_then(|r| r.posted) {
        Some(p) => Source::Posted(p),
        None => Source::Stored(&empty),
    };
    let timeline = json!({
        "entries": loaded.timeline.iter().map(|e| json!({
            "at": view::instant(e.at, tz), "kind": e.kind, "text": e.text, "author": e.author,
        })).collect::<Vec<_>>(),
        "fields": fields(signed, "timeline", TIMELINE_FIELDS, &timeline_source, &timeline_errors)?,
        "other_errors": other_errors(TIMELINE_FIELDS, &timeline_errors),
    });

    let scope_errors = errors_of("scope");
    let scope_stored = loaded.scope.scope_json();
    let scope_source = match for_form("scope").and_then(|r| r.posted) {
        Some(p) => Source::Posted(p),
        None => Source::Stored(&scope_stored),
    };
    let summary = &loaded.scope.summary;
    let scope = json!({
        "fields": fields(signed, "scope", SCOPE_FIELDS, &scope_source, &scope_errors)?,
        "other_errors": other_errors(SCOPE_FIELDS, &scope_errors),
        "message": message_of("scope"),
        "subject_ids_count": loaded.scope.subject_ids_count,
        "computed": loaded.scope.computed_at.map(|t| view::instant(t, tz)),
        "frozen": loaded.scope.frozen_at.map(|t| view::instant(t, tz)),
        "total": summary.total,
        "minors": summary.minors,
        "uncontactable": summary.uncontactable,
        "jurisdiction_unknown": summary.jurisdiction_unknown,
        "by_jurisdiction": summary.by_jurisdiction.iter().map(|(k, v)| json!({
            "code": k, "count": v, "minors": summary.minors_by_jurisdiction.get(k).copied().unwrap_or(0),
        })).collect::<Vec<_>>(),
        "contactable": serde_json::to_value(&summary.contactable).map_err(|e| AppError::Unexpected(e.into()))?,
        "by_locale": summary.by_locale,
    });

    let obligation_views = loaded
        .obligations
        .iter()
        .map(|o| {
            let api = o.to_json(now);
            let form_id = format!("obligation-{}", o.id);
            let regime_tz = o.time_zone.parse::<Tz>().unwrap_or(Tz::UTC);
            let open = matches!(api["status"].as_str(), Some("open" | "missed"));
            json!({
                "id": o.id,
                "label": o.label(),
                "regime": o.regime,
                "recipient": o.recipient,
                "phase": o.phase,
                "kind": o.kind,
                "status": api["status"],
                "basis": o.basis,
                "due_date": o.due_date,
                "time_zone": o.time_zone,
                "due": o.due_at.map(|d| view::deadline(d, tz, regime_tz, now, &overdue)),
                "target": o.target_at.map(|d| view::deadline(d, tz, regime_tz, now, &overdue)),
                "evidence": o.evidence,
                "waived_reason": o.waived_reason,
                "resolved_by": o.resolved_by,
                "open": open && role.can_edit_incidents(),
                "errors": errors_of(&form_id).iter().map(|e| json!({"field": e.field, "reason": e.reason})).collect::<Vec<_>>(),
                "evidence_error": errors_of(&form_id).iter().find(|e| e.field == "evidence").map(|e| e.reason.clone()),
                "reason_error": errors_of(&form_id).iter().find(|e| e.field == "reason").map(|e| e.reason.clone()),
                "message": message_of(&form_id),
            })
        })
        .collect::<Vec<_>>();

    let content = content_view(
        signed,
        &loaded,
        &query,
        errors_of("content"),
        message_of("content"),
        for_form("content").and_then(|r| r.posted),
    )?;
    let previews = match query.subject.as_deref().filter(|s| !s.is_empty()) {
        Some(subject) if role.can_read_subjects() => {
            let mut out = Vec::new();
            for channel in Channel::ALL {
                let result = api::plans::preview(
                    signed.who.clone(),
                    db,
                    deps.service.clone(),
                    id.clone(),
                    Some(subject.to_owned()),
                    Some(channel.as_str().to_owned()),
                )
                .await;
                out.push(match result {
                    Ok(p) => json!({ "channel": channel.as_str(), "preview": p, "error": null }),
                    Err(e) => json!({ "channel": channel.as_str(), "preview": null, "error": e.to_string() }),
                });
            }
            Some(out)
        }
        _ => None,
    };

    let plan = loaded.plan.as_ref().map(|p| {
        json!({
            "summary": p,
            "finish": parse_instant(&p.estimate.finish_at).ok().map(|t| view::instant(t, tz)),
            "deadline": p.estimate.earliest_deadline.as_ref().and_then(|d| parse_instant(&d.due_at).ok()).map(|t| view::deadline(t, tz, tz, now, &overdue)),
            "deadline_regime": p.estimate.earliest_deadline.as_ref().map(|d| d.regime.clone()),
        })
    });
    let dispatch_views = loaded
        .dispatches
        .iter()
        .map(|d| {
            let awaiting = d.status == crate::domain::DispatchStatus::AwaitingApproval;
            let mine = d.created_by == signed.who.name;
            let at = |s: &Option<String>| s.as_deref().and_then(|s| parse_instant(s).ok()).map(|t| view::instant(t, tz));
            json!({
                "id": d.id,
                "progress": d,
                "api": format!("/api/v1/incidents/{}/dispatches/{}", d.incident_id, d.id),
                "ledger": format!("/api/v1/incidents/{}/dispatches/{}/ledger", d.incident_id, d.id),
                "awaiting": awaiting,
                "waiting_for_other": awaiting && mine,
                "can_approve": awaiting && !mine && role.can_approve(),
                "live": !matches!(d.status, crate::domain::DispatchStatus::Completed | crate::domain::DispatchStatus::Cancelled),
                "eta": at(&d.eta_at),
                "deadline": at(&d.deadline_at),
                "by_channel": d.by_channel.iter().map(|(c, counts)| json!({"channel": c.as_str(), "counts": counts})).collect::<Vec<_>>(),
                "message": message_of(&format!("dispatch-{}", d.id)),
            })
        })
        .collect::<Vec<_>>();
    let audit_views = loaded
        .audit
        .iter()
        .map(|e| json!({ "at": view::instant(e.at, tz), "actor": e.actor, "action": e.action, "target": e.target }))
        .collect::<Vec<_>>();

    let data = json!({
        "id": id,
        "title": loaded.facts["title"],
        "status": loaded.status.as_str(),
        "created": {
            "by": loaded.facts["created_by"],
            "at": loaded.facts["created_at"].as_str().and_then(|s| parse_instant(s).ok()).map(|t| view::instant(t, tz)),
        },
        "aware": loaded.facts["aware_at"].as_str().and_then(|s| parse_instant(s).ok()).map(|t| view::instant(t, tz)),
        "statuses": statuses,
        "status_message": message_of("status"),
        "facts": facts,
        "timeline": timeline,
        "scope": scope,
        "csv": format!("/api/v1/incidents/{id}/affected?format=csv"),
        "obligations": obligation_views,
        "content": content,
        "previews": previews,
        "preview_subject": query.subject.clone().unwrap_or_default(),
        "plan": plan,
        "plan_message": message_of("plan"),
        "dispatches": dispatch_views,
        "dispatch_message": message_of("dispatch"),
        "audit": audit_views,
        "bulletin_list": super::bulletins::view(signed, &deps.service, &loaded.tenant_slug, &loaded.bulletins, refused.as_ref())?,
        "can_work_tasks": role.can_work_tasks(),
        "tasks": loaded.tasks.iter().map(|t| { let state = t.state()?; Ok(json!({
            "id": t.id, "open": state == TaskState::Open, "closed": matches!(state, TaskState::Done | TaskState::Skipped),
            "message": message_of(&format!("task-{}", t.id)),
            "evidence_error": errors_of(&format!("task-{}", t.id)).iter().find(|e| e.field == "evidence").map(|e| e.reason.clone()),
            "skipped_reason_error": errors_of(&format!("task-{}", t.id)).iter().find(|e| e.field == "skipped_reason").map(|e| e.reason.clone()),
            "evidence": t.evidence, "skipped_reason": t.skipped_reason, "resolved_by": t.resolved_by,
            "section": t.section, "text": t.text, "role": t.role, "state": t.state,
            "assignee": t.assignee,
            "due": t.due_at.map(|d| view::deadline(d, tz, tz, now, &overdue)),
        })) }).collect::<AppResult<Vec<_>>>()?,
        "tasks_api": format!("/api/v1/incidents/{id}/tasks"),
        "reports": loaded.reports.as_ref().map(|r| super::reports::view(signed, &deps.reports, r, &loaded.obligations, refused.as_ref())).transpose()?,
        "bulletins": format!("/b/{}", loaded.tenant_slug),
        "can_edit": role.can_edit_incidents(),
        "can_read_subjects": role.can_read_subjects(),
        "can_read_audit": role.can_read_audit(),
    });
    let status = refused.as_ref().map_or(StatusCode::OK, |r| r.status);
    let response = render(
        signed,
        status,
        "incident",
        data,
        &format!("/incidents/{id}"),
    );
    tracing::debug!(
        page.server_ms = started.elapsed().as_secs_f64() * 1e3,
        "incident page"
    );
    response
}

const CONTENT_TEXTS: [&str; 5] = [
    "summary",
    "likely_impact",
    "measures_taken",
    "advice",
    "remedies",
];
const CONTACT_FIELDS: [&str; 4] = ["name", "email", "phone", "url"];

/// The notice content editor: one section per locale written (plus the one asked
/// for with `?add_locale=`), field names being the API's paths (`locales.en.summary`).
fn content_view(
    signed: &SignedIn,
    loaded: &Loaded,
    query: &PageQuery,
    errors: Vec<FieldError>,
    message: Option<String>,
    posted: Option<&FormData>,
) -> AppResult<Value> {
    let pages = Pages::get()?;
    let stored = loaded.content.as_ref().map(|c| c.content.clone());
    let mut locales: Vec<String> = stored
        .as_ref()
        .map(|c| c.locales.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(p) = posted {
        for (name, _) in &p.0 {
            if let Some(locale) = name
                .strip_prefix("locales.")
                .and_then(|r| r.split('.').next())
                && !locales.iter().any(|l| l == locale)
            {
                locales.push(locale.to_owned());
            }
        }
    }
    if let Some(add) = query
        .add_locale
        .as_deref()
        .filter(|a| crate::domain::is_locale(a))
        && !locales.iter().any(|l| l == add)
    {
        locales.push(add.to_owned());
    }
    if locales.is_empty() {
        locales.push("en".to_owned());
    }
    let stored_json = stored
        .as_ref()
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let value_of = |path: &str| -> String {
        match posted {
            Some(p) => p.get(path).unwrap_or_default().to_owned(),
            None => {
                let mut node = &stored_json;
                for part in path.split('.') {
                    node = &node[part];
                }
                node.as_str().unwrap_or_default().to_owned()
            }
        }
    };
    let error_of = |path: &str| {
        errors
            .iter()
            .find(|e| e.field == path)
            .map(|e| e.reason.clone())
    };
    let sections = locales
        .iter()
        .map(|locale| {
            let mut items: Vec<Value> = CONTENT_TEXTS
                .iter()
                .map(|key| {
                    let path = format!("locales.{locale}.{key}");
                    json!({ "name": path, "id": format!("content-{locale}-{key}"), "label": pages.word(signed.lang, key),
                            "value": value_of(&path), "error": error_of(&path), "textarea": true })
                })
                .collect();
            items.extend(CONTACT_FIELDS.iter().map(|key| {
                let path = format!("locales.{locale}.contact.{key}");
                json!({ "name": path, "id": format!("content-{locale}-contact-{key}"), "label": pages.word(signed.lang, &format!("contact_{key}")),
                        "value": value_of(&path), "error": error_of(&path), "textarea": false })
            }));
            let path = format!("locales.{locale}.dpo_contact");
            items.push(json!({ "name": path, "id": format!("content-{locale}-dpo_contact"), "label": pages.word(signed.lang, "dpo_contact"),
                               "value": value_of(&path), "error": error_of(&path), "textarea": false }));
            json!({ "locale": locale, "items": items, "error": error_of(&format!("locales.{locale}")) })
        })
        .collect::<Vec<_>>();
    let default_locale = match posted {
        Some(p) => p.get("default_locale").unwrap_or_default().to_owned(),
        None => stored
            .as_ref()
            .map(|c| c.default_locale.clone())
            .unwrap_or_else(|| locales[0].clone()),
    };
    let known: Vec<String> = sections
        .iter()
        .filter_map(|s| s["locale"].as_str().map(|l| format!("locales.{l}")))
        .collect();
    let other: Vec<String> = errors
        .iter()
        .filter(|e| {
            e.field != "default_locale" && !known.iter().any(|k| e.field.starts_with(k.as_str()))
        })
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect();
    Ok(json!({
        "sections": sections,
        "default_locale": default_locale,
        "default_locale_error": error_of("default_locale"),
        "locales": locales,
        "other_errors": other,
        "message": message,
        "updated": loaded.content.as_ref().map(|c| json!({ "by": c.updated_by, "at": view::instant(c.updated_at, signed.tz) })),
    }))
}

type Incident = web::Path<String>;

async fn incident_page(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    query: web::Query<PageQuery>,
) -> UiResult<HttpResponse> {
    show(&signed, &deps, id.into_inner(), query.into_inner(), None).await
}

/// After a form: on success back to the page's section; on a refusal the page
/// again, with the form's errors or the refusal next to the form.
pub(super) async fn after(
    signed: &SignedIn,
    deps: &Deps,
    id: String,
    form_name: String,
    posted: Option<&FormData>,
    result: AppResult<()>,
    anchor: &str,
) -> UiResult<HttpResponse> {
    let refused = match result {
        Ok(()) => return Ok(see_other(&format!("/incidents/{id}#{anchor}"))),
        Err(AppError::Validation(errors)) => Refused {
            form: form_name,
            errors,
            message: None,
            posted,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        },
        Err(e @ (AppError::Conflict(_) | AppError::Blocked { .. } | AppError::Forbidden(_))) => {
            let mut message = e.to_string();
            if let AppError::Blocked { errors, .. } = &e {
                for err in errors {
                    message.push_str(&format!("; {}: {}", err.field, err.reason));
                }
            }
            Refused {
                form: form_name,
                errors: Vec::new(),
                message: Some(message),
                posted,
                status: e.status_code(),
            }
        }
        Err(other) => return Err(UiError::App(other)),
    };
    show(signed, deps, id, PageQuery::default(), Some(refused)).await
}

/// The extractors every form of the incident page takes.
#[derive(Clone)]
pub(super) struct Deps {
    pub(super) db: web::Data<Db>,
    pub(super) runbooks: web::Data<Library>,
    pub(super) service: web::Data<NoticeService>,
    pub(super) channels: web::Data<ChannelSettings>,
    pub(super) reports: web::Data<Reports>,
    pub(super) bell: web::Data<OutboxBell>,
}

impl actix_web::FromRequest for Deps {
    type Error = UiError;
    type Future = std::future::Ready<Result<Self, UiError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let missing = || UiError::App(AppError::Unexpected(anyhow::anyhow!("app data missing")));
        std::future::ready((|| {
            Ok(Deps {
                db: req
                    .app_data::<web::Data<Db>>()
                    .cloned()
                    .ok_or_else(missing)?,
                runbooks: req
                    .app_data::<web::Data<Library>>()
                    .cloned()
                    .ok_or_else(missing)?,
                service: req
                    .app_data::<web::Data<NoticeService>>()
                    .cloned()
                    .ok_or_else(missing)?,
                channels: req
                    .app_data::<web::Data<ChannelSettings>>()
                    .cloned()
                    .ok_or_else(missing)?,
                reports: req
                    .app_data::<web::Data<Reports>>()
                    .cloned()
                    .ok_or_else(missing)?,
                bell: req
                    .app_data::<web::Data<OutboxBell>>()
                    .cloned()
                    .ok_or_else(missing)?,
            })
        })())
    }
}

async fn update_facts(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let body = form::to_json(&form, FACT_FIELDS, signed.tz, Mode::Edit);
    let result = api::incidents::update(
        signed.who.clone(),
        &deps.db,
        deps.runbooks.clone(),
        id.clone(),
        body,
    )
    .await
    .map(drop);
    after(
        &signed,
        &deps,
        id,
        "facts".into(),
        Some(&form),
        result,
        "facts",
    )
    .await
}

async fn change_status(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let body = form::to_json(&form, &[("status", Kind::Text)], signed.tz, Mode::Create);
    let result = api::incidents::update(
        signed.who.clone(),
        &deps.db,
        deps.runbooks.clone(),
        id.clone(),
        body,
    )
    .await
    .map(drop);
    after(&signed, &deps, id, "status".into(), None, result, "facts").await
}

async fn add_timeline(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let body = form::to_json(&form, TIMELINE_FIELDS, signed.tz, Mode::Create);
    let result = api::incidents::add_timeline(signed.who.clone(), &deps.db, id.clone(), body)
        .await
        .map(drop);
    after(
        &signed,
        &deps,
        id,
        "timeline".into(),
        Some(&form),
        result,
        "timeline",
    )
    .await
}

async fn set_scope(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let body = form::to_json(&form, SCOPE_FIELDS, signed.tz, Mode::Create);
    let result = api::affected::set_scope(
        signed.who.clone(),
        &deps.db,
        deps.runbooks.clone(),
        id.clone(),
        body,
    )
    .await
    .map(drop);
    after(
        &signed,
        &deps,
        id,
        "scope".into(),
        Some(&form),
        result,
        "scope",
    )
    .await
}

type ObligationPath = web::Path<(String, String)>;

async fn mark_met(
    signed: SignedIn,
    deps: Deps,
    path: ObligationPath,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let (id, obligation) = path.into_inner();
    let body = form::to_json(&form, &[("evidence", Kind::Text)], signed.tz, Mode::Create);
    let result = api::obligations::mark_met(
        signed.who.clone(),
        &deps.db,
        id.clone(),
        obligation.clone(),
        body,
    )
    .await
    .map(drop);
    after(
        &signed,
        &deps,
        id,
        format!("obligation-{obligation}"),
        Some(&form),
        result,
        "obligations",
    )
    .await
}

async fn waive(
    signed: SignedIn,
    deps: Deps,
    path: ObligationPath,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let (id, obligation) = path.into_inner();
    let body = form::to_json(&form, &[("reason", Kind::Text)], signed.tz, Mode::Create);
    let result = api::obligations::waive(
        signed.who.clone(),
        &deps.db,
        id.clone(),
        obligation.clone(),
        body,
    )
    .await
    .map(drop);
    after(
        &signed,
        &deps,
        id,
        format!("obligation-{obligation}"),
        Some(&form),
        result,
        "obligations",
    )
    .await
}

async fn save_content(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let body = form::localized(&form);
    let result = api::notices::put_content(signed.who.clone(), &deps.db, id.clone(), body)
        .await
        .map(drop);
    after(
        &signed,
        &deps,
        id,
        "content".into(),
        Some(&form),
        result,
        "notice",
    )
    .await
}

async fn make_plan(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let result = api::plans::create(
        signed.who.clone(),
        &deps.db,
        deps.service.clone(),
        id.clone(),
    )
    .await
    .map(drop);
    after(&signed, &deps, id, "plan".into(), None, result, "plan").await
}

async fn create_dispatch(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let result = api::dispatches::create(
        signed.who.clone(),
        &deps.db,
        deps.service.clone(),
        deps.channels.clone(),
        id.clone(),
    )
    .await
    .map(drop);
    after(
        &signed,
        &deps,
        id,
        "dispatch".into(),
        None,
        result,
        "dispatch",
    )
    .await
}

async fn approve_dispatch(
    signed: SignedIn,
    deps: Deps,
    path: ObligationPath,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let (id, dispatch) = path.into_inner();
    let result = api::dispatches::approve(
        signed.who.clone(),
        &deps.db,
        deps.service.clone(),
        deps.channels.clone(),
        &deps.bell,
        id.clone(),
        dispatch.clone(),
    )
    .await
    .map(drop);
    after(
        &signed,
        &deps,
        id,
        format!("dispatch-{dispatch}"),
        None,
        result,
        "dispatch",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_field_has_a_label_in_every_language() {
        let pages = Pages::get().unwrap();
        for lang in super::super::i18n::Lang::ALL {
            for (name, _) in FACT_FIELDS
                .iter()
                .chain(TIMELINE_FIELDS)
                .chain(SCOPE_FIELDS)
            {
                assert_ne!(pages.word(lang, name), *name, "{name} in {}", lang.tag());
            }
        }
    }
}
