//! Regulator reports: generate a version from the incident's data, list and read
//! versions (JSON, print-friendly HTML, PDF), fill the team's items, compare two
//! versions, record a submission (which meets the obligation it answers), and share
//! reports with a regulator through a read-only link.
//!
//! A `regulator` token reads only reports shared by a link that is still live, and
//! each of its views is audited, as the portal's are (`web::portal`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::Deserialize;
use serde_json::{Value, json};

use super::JsonObject;
use crate::audit::{self, AuditEvent};
use crate::compose::NoticeService;
use crate::compose::reports::{self as service, Filed, report_error};
use crate::db::{Db, DbConnection};
use crate::domain::{Reader, SubmissionChannel, format_instant, now_micros};
use crate::error::{AppError, AppResult};
use crate::reports::{ReportDocument, ReportPhase, Reports, VersionStamp};
use crate::store::reports::{self as stored, NewShare, ShareRow, Submission, VersionRow};
use crate::web::auth::Principal;

/// The only API routes a `regulator` principal reaches: reading the reports shared
/// with regulators (filtered to those by [`readable`]). Every other route refuses a
/// regulator before its handler runs ([`Principal`]'s extractor), so no route can
/// forget to.
pub const REGULATOR_ROUTES: &[&str] = &[
    "/api/v1/incidents/{id}/reports",
    "/api/v1/incidents/{id}/reports/{r}",
    "/api/v1/incidents/{id}/reports/{r}/diff",
];

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{id}/reports", web::post().to(create_report))
        .route("/incidents/{id}/reports", web::get().to(list_reports))
        .route(
            "/incidents/{id}/reports/answers",
            web::get().to(get_answers),
        )
        .route(
            "/incidents/{id}/reports/answers",
            web::patch().to(update_answers),
        )
        .route("/incidents/{id}/reports/shares", web::get().to(list_shares))
        .route(
            "/incidents/{id}/reports/shares",
            web::post().to(share_incident_reports),
        )
        .route(
            "/incidents/{id}/reports/shares/{s}/revoke",
            web::post().to(revoke_share),
        )
        .route("/incidents/{id}/reports/{r}", web::get().to(get_report))
        .route(
            "/incidents/{id}/reports/{r}/diff",
            web::get().to(diff_report),
        )
        .route(
            "/incidents/{id}/reports/{r}/submit",
            web::post().to(submit_report),
        )
        .route(
            "/incidents/{id}/reports/{r}/shares",
            web::post().to(share_report),
        );
}

/// How a report version is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// Print-friendly `text/html`.
    Html,
    /// `application/pdf`.
    Pdf,
}

impl Format {
    /// The format a path segment's suffix (`{r}.html`, `{r}.pdf`) or else the
    /// `Accept` header asks for (JSON by default); returns the bare id too.
    pub fn of<'a>(req: &HttpRequest, segment: &'a str) -> (&'a str, Format) {
        if let Some(id) = segment.strip_suffix(".pdf") {
            return (id, Format::Pdf);
        }
        if let Some(id) = segment.strip_suffix(".html") {
            return (id, Format::Html);
        }
        if let Some(id) = segment.strip_suffix(".json") {
            return (id, Format::Json);
        }
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let format = if accept.contains("application/pdf") {
            Format::Pdf
        } else if accept.contains("text/html") {
            Format::Html
        } else {
            Format::Json
        };
        (segment, format)
    }
}

/// A rendered report version.
pub enum Rendered {
    /// The version as JSON.
    Json(Value),
    /// The HTML page.
    Html(String),
    /// The PDF file, with its file name.
    Pdf(Vec<u8>, String),
}

/// Renders `row` in `format` (call off the executor: the PDF takes a while).
pub fn render(reports: &Reports, row: &VersionRow, format: Format) -> AppResult<Rendered> {
    let doc = service::document(row)?;
    let stamp = VersionStamp {
        version: i64::from(row.version),
        sha256: row.sha256.clone(),
    };
    Ok(match format {
        Format::Json => Rendered::Json(version_view(row, &doc)?),
        Format::Html => Rendered::Html(reports.html(&doc, &stamp)?),
        Format::Pdf => Rendered::Pdf(
            reports.pdf(&doc, &stamp)?,
            format!("{}-{}-v{}.pdf", row.regime, row.phase, row.version),
        ),
    })
}

impl Rendered {
    /// The HTTP response: no caching, no framing, inline styles only.
    pub fn response(self) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header(("X-Robots-Tag", "noindex"));
        match self {
            Rendered::Json(value) => response.json(value),
            Rendered::Html(html) => response
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ))
                .content_type("text/html; charset=utf-8")
                .body(html),
            Rendered::Pdf(pdf, name) => response
                .content_type("application/pdf")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{name}\""),
                ))
                .body(pdf),
        }
    }
}

/// A version as JSON: the report (items, missing, proof, deadlines, …) with the
/// version's id, number, hash, author and submission.
pub fn version_view(row: &VersionRow, doc: &ReportDocument) -> AppResult<Value> {
    let mut view = serde_json::to_value(doc).map_err(|e| AppError::Unexpected(e.into()))?;
    let submitted = submission_view(row)?;
    if let Some(map) = view.as_object_mut() {
        map.insert("id".into(), json!(row.id));
        map.insert("incident_id".into(), json!(row.incident_id));
        map.insert("version".into(), json!(row.version));
        map.insert("sha256".into(), json!(row.sha256));
        map.insert("created_at".into(), json!(format_instant(row.created_at)));
        map.insert("created_by".into(), json!(row.created_by));
        map.insert("complete".into(), json!(doc.complete()));
        map.insert("submitted".into(), submitted);
    }
    Ok(view)
}

/// One line of a version list (no items).
pub fn summary_view(row: &VersionRow) -> AppResult<Value> {
    Ok(json!({
        "id": row.id,
        "incident_id": row.incident_id,
        "regime": row.regime,
        "phase": row.phase,
        "version": row.version,
        "sha256": row.sha256,
        "created_at": format_instant(row.created_at),
        "created_by": row.created_by,
        "missing": row.missing()?,
        "complete": row.missing()?.is_empty(),
        "submitted": submission_view(row)?,
    }))
}

fn submission_view(row: &VersionRow) -> AppResult<Value> {
    Ok(match row.submission()? {
        None => Value::Null,
        Some(s) => json!({
            "submitted_at": format_instant(s.submitted_at),
            "channel": s.channel,
            "reference": s.reference,
            "recorded_by": row.submitted_by,
            "recorded_at": row.submission_recorded_at.map(format_instant),
        }),
    })
}

fn require_read(who: &Principal) -> AppResult<()> {
    who.require(who.role.can_read_reports(), "read regulator reports")
}

/// Keeps the versions `who` may read: all of them, or for a regulator token only
/// those a live link shares.
fn readable(
    conn: &mut DbConnection,
    who: &Principal,
    incident_id: &str,
    rows: Vec<VersionRow>,
) -> AppResult<Vec<VersionRow>> {
    if !who.role.reads_only_shared_reports() {
        return Ok(rows);
    }
    let shares = stored::live_shares(conn, &who.tenant_id, incident_id)?;
    Ok(rows
        .into_iter()
        .filter(|row| shares.iter().any(|s| s.covers(row)))
        .collect())
}

/// One version `who` may read (404 otherwise); a regulator's view is audited.
fn readable_version(
    conn: &mut DbConnection,
    who: &Principal,
    incident_id: &str,
    id: &str,
) -> AppResult<VersionRow> {
    let row = stored::get(conn, &who.tenant_id, incident_id, id)?;
    let row = readable(conn, who, incident_id, vec![row])?
        .pop()
        .ok_or_else(|| AppError::NotFound(format!("report {id}")))?;
    if who.role.reads_only_shared_reports() {
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "report.view",
                target: format!("report:{}", row.id),
                details: json!({ "incident": incident_id, "regime": row.regime, "phase": row.phase, "version": row.version }),
            },
        )?;
    }
    Ok(row)
}

/// The body of a report generation: which regime's report, which phase.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    /// Regime id, e.g. `appi`.
    pub(crate) regime: Option<String>,
    /// Report phase, e.g. `preliminary`.
    pub(crate) phase: Option<String>,
}

async fn create_report(
    who: Principal,
    db: web::Data<Db>,
    notices: web::Data<NoticeService>,
    reports: web::Data<Reports>,
    id: web::Path<String>,
    body: web::Json<CreateBody>,
) -> AppResult<HttpResponse> {
    let view = generate(
        who,
        &db,
        notices,
        reports,
        id.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Builds the next version of a regime's report from the incident's data now and
/// audits it: the one way to generate a report, for the API and the web UI.
pub(crate) async fn generate(
    who: Principal,
    db: &Db,
    notices: web::Data<NoticeService>,
    reports: web::Data<Reports>,
    id: String,
    body: CreateBody,
) -> AppResult<Value> {
    who.require(who.role.can_write_reports(), "generate regulator reports")?;
    let regime = body
        .regime
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| AppError::field("regime", "is required, e.g. \"appi\""))?;
    let phase: ReportPhase = body
        .phase
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            AppError::field(
                "phase",
                format!("is required: one of {}", ReportPhase::expected()),
            )
        })?
        .parse()
        .map_err(|reason: String| AppError::field("phase", reason))?;
    let notices = notices.into_inner();
    db.write(move |conn| {
        let (row, doc) = service::generate(
            conn,
            &notices,
            &reports,
            &who.tenant_id,
            &id,
            &regime,
            phase,
            &who.name,
        )?;
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "report.generate",
                target: format!("report:{}", row.id),
                details: json!({ "incident": id.as_str(), "regime": row.regime, "phase": row.phase,
                "version": row.version, "sha256": row.sha256, "missing": doc.missing }),
            },
        )?;
        version_view(&row, &doc)
    })
    .await
}

async fn list_reports(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    require_read(&who)?;
    let view = db
        .read(move |conn| {
            let rows = stored::list(conn, &who.tenant_id, &id)?;
            let items = readable(conn, &who, &id, rows)?
                .iter()
                .map(summary_view)
                .collect::<AppResult<Vec<Value>>>()?;
            Ok(json!({ "items": items }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn get_report(
    req: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    reports: web::Data<Reports>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    require_read(&who)?;
    let (incident_id, segment) = path.into_inner();
    let (report_id, format) = Format::of(&req, &segment);
    let report_id = report_id.to_owned();
    let rendered = if who.role.reads_only_shared_reports() {
        db.write(move |conn| {
            let row = readable_version(conn, &who, &incident_id, &report_id)?;
            render(&reports, &row, format)
        })
        .await?
    } else {
        db.read(move |conn| {
            let row = readable_version(conn, &who, &incident_id, &report_id)?;
            render(&reports, &row, format)
        })
        .await?
    };
    Ok(rendered.response())
}

#[derive(Deserialize)]
struct DiffQuery {
    against: Option<String>,
}

async fn diff_report(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    query: web::Query<DiffQuery>,
) -> AppResult<HttpResponse> {
    require_read(&who)?;
    let (incident_id, report_id) = path.into_inner();
    let against = query
        .into_inner()
        .against
        .ok_or_else(|| AppError::field("against", "is required: the id of an earlier version"))?;
    let work = move |conn: &mut DbConnection| {
        let new = readable_version(conn, &who, &incident_id, &report_id)?;
        let old = stored::get(conn, &who.tenant_id, &incident_id, &against)
            .and_then(|row| {
                readable(conn, &who, &incident_id, vec![row])?
                    .pop()
                    .ok_or_else(|| AppError::NotFound(format!("report {against}")))
            })
            .map_err(|e| match e {
                AppError::NotFound(_) => AppError::field(
                    "against",
                    format!("no version {against} of this incident's reports"),
                ),
                other => other,
            })?;
        let diff = crate::reports::diff(&service::document(&old)?, &service::document(&new)?)
            .map_err(|e| report_error("against", e))?;
        Ok(json!({
            "report": new.id, "version": new.version,
            "against": old.id, "against_version": old.version,
            "regime": new.regime, "phase": new.phase,
            "changed": diff.changed, "resolved": diff.resolved, "newly_missing": diff.newly_missing,
        }))
    };
    let view = db.write(work).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
struct RegimeQuery {
    regime: Option<String>,
}

async fn get_answers(
    who: Principal,
    db: web::Data<Db>,
    reports: web::Data<Reports>,
    id: web::Path<String>,
    query: web::Query<RegimeQuery>,
) -> AppResult<HttpResponse> {
    who.require(
        who.role.can_write_reports(),
        "read the team's report answers",
    )?;
    let regime = query
        .into_inner()
        .regime
        .ok_or_else(|| AppError::field("regime", "is required, e.g. ?regime=appi"))?;
    reports
        .definition(&regime)
        .map_err(|e| report_error("regime", e))?;
    let view = db
        .read(move |conn| {
            crate::store::incidents::get(conn, &who.tenant_id, &id)?;
            let answers = stored::answers(conn, &who.tenant_id, &id, &regime)?;
            Ok(json!({ "regime": regime, "answers": service::answers_view(&answers)? }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn update_answers(
    who: Principal,
    db: web::Data<Db>,
    reports: web::Data<Reports>,
    id: web::Path<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let view = fill_answers(who, &db, &reports, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Stores the team's answers to a regime's report items and audits them: the one
/// way to fill report items, for the API and the web UI.
pub(crate) async fn fill_answers(
    who: Principal,
    db: &Db,
    reports: &Reports,
    id: String,
    body: serde_json::Map<String, Value>,
) -> AppResult<Value> {
    who.require(who.role.can_write_reports(), "fill regulator report items")?;
    let mut r = Reader::new(&body, &["regime", "answers"]);
    let regime = r.text("regime", 40).or_keep(None);
    if regime.is_none() && !r.has_error_for("regime") {
        r.reject("regime", "is required, e.g. \"appi\"");
    }
    let answers = match body.get("answers") {
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => {
            r.reject("answers", "must be an object of item key → answer");
            None
        }
        None => {
            r.reject("answers", "is required");
            None
        }
    };
    let (regime, answers) = r.finish((regime, answers)).map_err(AppError::Validation)?;
    let (Some(regime), Some(answers)) = (regime, answers) else {
        return Err(AppError::field("answers", "is required"));
    };
    let changes = service::parse_answers(reports, &regime, &answers)?;
    db.write(move |conn| {
        stored::put_answers(conn, &who.tenant_id, &id, &regime, &changes, &who.name)?;
        let keys: Vec<&String> = changes.iter().map(|(k, _)| k).collect();
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "report.answers",
                target: format!("incident:{id}"),
                details: json!({ "regime": regime, "items": keys }),
            },
        )?;
        let answers = stored::answers(conn, &who.tenant_id, &id, &regime)?;
        Ok(json!({ "regime": regime, "answers": service::answers_view(&answers)? }))
    })
    .await
}

/// Submission time may run ahead of our clock by this much.
const CLOCK_SKEW_MINUTES: i64 = 5;

async fn submit_report(
    who: Principal,
    db: web::Data<Db>,
    reports: web::Data<Reports>,
    path: web::Path<(String, String)>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let (incident_id, report_id) = path.into_inner();
    let view = submit(who, &db, reports, incident_id, report_id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Records that a report version was submitted (which meets the obligation it
/// answers) and audits it: the one way to record a submission, for the API and
/// the web UI.
pub(crate) async fn submit(
    who: Principal,
    db: &Db,
    reports: web::Data<Reports>,
    incident_id: String,
    report_id: String,
    body: serde_json::Map<String, Value>,
) -> AppResult<Value> {
    who.require(who.role.can_write_reports(), "record report submissions")?;
    let mut r = Reader::new(&body, &["submitted_at", "channel", "reference"]);
    let submitted_at = r.instant("submitted_at").or_keep(None);
    let channel = r.word::<SubmissionChannel>("channel").or_keep(None);
    let reference = r.text("reference", 500).or_keep(None);
    for (key, given) in [
        ("submitted_at", submitted_at.is_some()),
        ("channel", channel.is_some()),
        ("reference", reference.is_some()),
    ] {
        if !given && !r.has_error_for(key) {
            r.reject(
                key,
                match key {
                    "channel" => format!("is required: one of {}", SubmissionChannel::expected()),
                    "reference" => {
                        "is required: the regulator's reference or receipt number".to_owned()
                    }
                    _ => "is required (RFC 3339)".to_owned(),
                },
            );
        }
    }
    if submitted_at.is_some_and(|at| at > now_micros() + Duration::minutes(CLOCK_SKEW_MINUTES)) {
        r.reject("submitted_at", "is in the future");
    }
    let (Some(submitted_at), Some(channel), Some(reference)) = r
        .finish((submitted_at, channel, reference))
        .map_err(AppError::Validation)?
    else {
        return Err(AppError::field("submitted_at", "is required"));
    };
    let submission = Submission {
        submitted_at,
        channel,
        reference,
    };
    db.write(move |conn| {
            let row = stored::get(conn, &who.tenant_id, &incident_id, &report_id)?;
            let Filed { version, obligation, marked_met } =
                service::submit(conn, &reports, &row, &submission, &who.name)?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "report.submit",
                target: format!("report:{}", row.id),
                details: json!({ "incident": incident_id, "regime": row.regime, "phase": row.phase,
                    "version": row.version, "sha256": row.sha256,
                    "submitted_at": format_instant(submission.submitted_at),
                    "channel": submission.channel, "reference": submission.reference,
                    "obligation": obligation.as_ref().map(|o| o.id.clone()), "marked_met": marked_met }),
            })?;
            let mut view = version_view(&version, &service::document(&version)?)?;
            view["obligation"] = match &obligation {
                Some(o) => json!({ "id": o.id, "status": o.status, "met_at": o.met_at.map(format_instant),
                    "evidence": o.evidence, "marked_met": marked_met }),
                None => Value::Null,
            };
            Ok(view)
        })
        .await
}

/// Longest a share link may live.
const SHARE_MAX_DAYS: i64 = 366;

fn share_body(body: &serde_json::Map<String, Value>) -> AppResult<(String, chrono::NaiveDateTime)> {
    let mut r = Reader::new(body, &["regulator", "expires_at"]);
    let regulator = r.text("regulator", 200).or_keep(None);
    let expires_at = r.expiry("expires_at").or_keep(None);
    if regulator.is_none() && !r.has_error_for("regulator") {
        r.reject(
            "regulator",
            "is required: who the link is for, e.g. \"PPC\"",
        );
    }
    let now = now_micros();
    match expires_at {
        None if !r.has_error_for("expires_at") => r.reject("expires_at", "is required (RFC 3339)"),
        Some(at) if at <= now => r.reject("expires_at", "must be in the future"),
        Some(at) if at > now + Duration::days(SHARE_MAX_DAYS) => r.reject(
            "expires_at",
            format!("must be within {SHARE_MAX_DAYS} days"),
        ),
        _ => {}
    }
    match r
        .finish((regulator, expires_at))
        .map_err(AppError::Validation)?
    {
        (Some(regulator), Some(expires_at)) => Ok((regulator, expires_at)),
        _ => Err(AppError::field("expires_at", "is required")),
    }
}

fn share_view(row: &ShareRow, now: chrono::NaiveDateTime) -> Value {
    json!({
        "id": row.id,
        "incident_id": row.incident_id,
        "regime": row.regime,
        "phase": row.phase,
        "scope": if row.regime.is_some() { "report" } else { "incident" },
        "regulator": row.regulator,
        "expires_at": format_instant(row.expires_at),
        "created_by": row.created_by,
        "created_at": format_instant(row.created_at),
        "revoked_at": row.revoked_at.map(format_instant),
        "revoked_by": row.revoked_by,
        "live": row.is_live(now),
        "views": row.views,
        "last_viewed_at": row.last_viewed_at.map(format_instant),
    })
}

async fn share_report(
    who: Principal,
    db: web::Data<Db>,
    notices: web::Data<NoticeService>,
    path: web::Path<(String, String)>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let (incident_id, report_id) = path.into_inner();
    share(who, db, notices, incident_id, Some(report_id), body).await
}

async fn share_incident_reports(
    who: Principal,
    db: web::Data<Db>,
    notices: web::Data<NoticeService>,
    id: web::Path<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    share(who, db, notices, id.into_inner(), None, body).await
}

async fn share(
    who: Principal,
    db: web::Data<Db>,
    notices: web::Data<NoticeService>,
    incident_id: String,
    report_id: Option<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    who.require(
        who.role.can_share_reports(),
        "share reports with a regulator (admin only)",
    )?;
    let (regulator, expires_at) = share_body(&body)?;
    let view = db
        .write(move |conn| {
            crate::store::incidents::get(conn, &who.tenant_id, &incident_id)?;
            let report = match &report_id {
                Some(r) => Some(stored::get(conn, &who.tenant_id, &incident_id, r)?),
                None => None,
            };
            let (row, token) = stored::create_share(conn, &NewShare {
                tenant_id: &who.tenant_id,
                incident_id: &incident_id,
                report: report.as_ref().map(|r| (r.regime.as_str(), r.phase.as_str())),
                regulator: &regulator,
                expires_at,
                created_by: &who.name,
            })?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "report.share",
                target: format!("share:{}", row.id),
                details: json!({ "incident": incident_id, "regime": row.regime, "phase": row.phase,
                    "regulator": row.regulator, "expires_at": format_instant(row.expires_at) }),
            })?;
            let mut view = share_view(&row, now_micros());
            view["url"] = json!(notices.portal_url(&token));
            view["token"] = json!(token);
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

async fn list_shares(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(
        who.role.can_share_reports(),
        "see report links (admin only)",
    )?;
    let view = db
        .read(move |conn| {
            let now = now_micros();
            let items: Vec<Value> = stored::list_shares(conn, &who.tenant_id, &id)?
                .iter()
                .map(|s| share_view(s, now))
                .collect();
            Ok(json!({ "items": items }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn revoke_share(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    who.require(
        who.role.can_share_reports(),
        "revoke report links (admin only)",
    )?;
    let (incident_id, share_id) = path.into_inner();
    let view = db
        .write(move |conn| {
            let row = stored::get_share(conn, &who.tenant_id, &incident_id, &share_id)?;
            let row = stored::revoke_share(conn, &row, &who.name)?;
            audit::append(
                conn,
                &who.tenant_id,
                AuditEvent {
                    actor: who.actor(),
                    action: "report.share_revoke",
                    target: format!("share:{}", row.id),
                    details: json!({ "incident": incident_id, "regulator": row.regulator }),
                },
            )?;
            Ok(share_view(&row, now_micros()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
