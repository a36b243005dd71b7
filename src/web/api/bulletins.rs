//! Substitute notice and bulletins: the decision per regime, drafts, four-eyes
//! publication, updates, withdrawal, the press statement and the operator's checklist.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::JsonObject;
use crate::audit::{self, AuditEvent};
use crate::bulletin::content::BulletinContent;
use crate::compose::NoticeService;
use crate::db::{Db, DbConnection};
use crate::domain::{FieldError, Reader, RequirementKind, format_instant};
use crate::error::{AppError, AppResult};
use crate::store::bulletins::{self, BulletinRow, Publication, VersionRow};
use crate::store::{coverage, tenants};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/incidents/{id}/substitute-notice",
        web::get().to(get_substitute_notice),
    )
    .route("/incidents/{id}/bulletins", web::post().to(create_bulletin))
    .route("/incidents/{id}/bulletins", web::get().to(list_bulletins))
    .route("/incidents/{id}/bulletins/{b}", web::get().to(get_bulletin))
    .route(
        "/incidents/{id}/bulletins/{b}",
        web::put().to(update_bulletin),
    )
    .route(
        "/incidents/{id}/bulletins/{b}/approve",
        web::post().to(approve_bulletin),
    )
    .route(
        "/incidents/{id}/bulletins/{b}/withdraw",
        web::post().to(withdraw_bulletin),
    )
    .route(
        "/incidents/{id}/bulletins/{b}/press-statement",
        web::get().to(get_press_statement),
    )
    .route(
        "/incidents/{id}/bulletins/{b}/checklist/{kind}",
        web::post().to(mark_requirement_done),
    );
}

/// The public page of a bulletin.
pub fn public_url(service: &NoticeService, slug: &str, id: &str) -> String {
    service.bulletin_url(slug, id)
}

async fn get_substitute_notice(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let view = db
        .read(move |conn| bulletins::substitute_notice(conn, &who.tenant_id, &id))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The tenant's slug and authoritative locale.
fn tenant_of(conn: &mut DbConnection, tenant_id: &str) -> AppResult<(String, Option<String>)> {
    let tenant = tenants::get(conn, tenant_id)?;
    let settings = tenants::notice_settings(&tenant)?;
    Ok((tenant.slug, settings.authoritative_locale))
}

async fn create_bulletin(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    id: web::Path<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let view = create(who, &db, service, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Drafts a bulletin for an incident and audits it: the one way to draft a
/// bulletin, for the API and the web UI.
pub(crate) async fn create(
    who: Principal,
    db: &Db,
    service: web::Data<NoticeService>,
    id: String,
    body: Map<String, Value>,
) -> AppResult<Value> {
    who.require(who.role.can_edit_incidents(), "write bulletins")?;
    db.write(move |conn| {
        let (slug, authoritative) = tenant_of(conn, &who.tenant_id)?;
        let content = BulletinContent::parse(&body, authoritative.as_deref())
            .map_err(AppError::Validation)?;
        let (row, version) = bulletins::create(conn, &who.tenant_id, &id, &content, &who.name)?;
        audit::append(conn, &who.tenant_id, AuditEvent {
            actor: who.actor(),
            action: "bulletin.create",
            target: format!("bulletin:{}", row.id),
            details: json!({ "incident": id.as_str(), "version": version.version, "sha256": version.sha256 }),
        })?;
        Ok(json!({
            "id": row.id,
            "status": row.status,
            "version": version.version,
            "sha256": version.sha256,
            "url": public_url(&service, &slug, &row.id),
        }))
    })
    .await
}

async fn list_bulletins(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let view = db
        .read(move |conn| {
            let (slug, _) = tenant_of(conn, &who.tenant_id)?;
            let rows = bulletins::list(conn, &who.tenant_id, &id)?;
            let items = rows
                .iter()
                .map(|row| bulletin_view(conn, &service, &slug, row, false))
                .collect::<AppResult<Vec<Value>>>()?;
            Ok(json!({ "items": items }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn get_bulletin(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (incident_id, bulletin_id) = path.into_inner();
    let view = db
        .read(move |conn| {
            let (slug, _) = tenant_of(conn, &who.tenant_id)?;
            let row = bulletins::get(conn, &who.tenant_id, &incident_id, &bulletin_id)?;
            bulletin_view(conn, &service, &slug, &row, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A bulletin with its state, checklist and (when `full`) every version's content.
fn bulletin_view(
    conn: &mut DbConnection,
    service: &NoticeService,
    slug: &str,
    row: &BulletinRow,
    full: bool,
) -> AppResult<Value> {
    let versions = bulletins::versions(conn, row)?;
    let pending = bulletins::pending_version(conn, row)?.map(|v| v.version);
    let lines = versions
        .iter()
        .map(|v| version_view(v, full))
        .collect::<AppResult<Vec<Value>>>()?;
    Ok(json!({
        "id": row.id,
        "incident_id": row.incident_id,
        "status": row.status()?,
        "url": public_url(service, slug, &row.id),
        "published_version": row.published_version,
        "pending_version": pending,
        "first_published_at": row.first_published_at.map(format_instant),
        "updated_at": row.updated_at.map(format_instant),
        "posting_until": row.posting_until.map(format_instant),
        "posting_basis": row.posting_basis,
        "withdrawn_at": row.withdrawn_at.map(format_instant),
        "inquiries": row.inquiries,
        "inquiries_matched": row.inquiries_matched,
        "created_by": row.created_by,
        "created_at": format_instant(row.created_at),
        "checklist": bulletins::checklist(conn, row)?,
        "versions": lines,
    }))
}

fn version_view(v: &VersionRow, full: bool) -> AppResult<Value> {
    let mut line = json!({
        "version": v.version,
        "kind": v.kind()?,
        "sha256": v.sha256,
        "author": v.author,
        "created_at": format_instant(v.created_at),
        "approved_by": v.approved_by,
        "published_at": v.published_at.map(format_instant),
        "entry_id": v.entry_id,
    });
    if let Some(reason) = v.withdrawal_reason()? {
        line["reason"] = json!(reason);
    }
    if full && let Some(content) = v.bulletin_content()? {
        line["content"] =
            serde_json::to_value(content).map_err(|e| AppError::Unexpected(e.into()))?;
    }
    Ok(line)
}

async fn update_bulletin(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    path: web::Path<(String, String)>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_incidents(), "write bulletins")?;
    let (incident_id, bulletin_id) = path.into_inner();
    let view = db
        .write(move |conn| {
            let (slug, authoritative) = tenant_of(conn, &who.tenant_id)?;
            let content = BulletinContent::parse(&body, authoritative.as_deref())
                .map_err(AppError::Validation)?;
            let row = bulletins::get(conn, &who.tenant_id, &incident_id, &bulletin_id)?;
            let version = bulletins::update(conn, &row, &content, &who.name)?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "bulletin.update",
                target: format!("bulletin:{bulletin_id}"),
                details: json!({ "incident": incident_id, "version": version.version, "sha256": version.sha256 }),
            })?;
            Ok(json!({
                "id": row.id,
                "status": "awaiting_approval",
                "version": version.version,
                "sha256": version.sha256,
                "published_version": row.published_version,
                "url": public_url(&service, &slug, &row.id),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn approve_bulletin(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (incident_id, bulletin_id) = path.into_inner();
    let view = approve(who, &db, service, incident_id, bulletin_id).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Approves a bulletin's pending version as the second person, which publishes it,
/// and audits the approval and the coverage it gives: the one way to publish a
/// bulletin, for the API and the web UI.
pub(crate) async fn approve(
    who: Principal,
    db: &Db,
    service: web::Data<NoticeService>,
    incident_id: String,
    bulletin_id: String,
) -> AppResult<Value> {
    who.require(
        who.role.can_approve(),
        "approve bulletins (approver role only)",
    )?;
    db.write(move |conn| {
            let (slug, _) = tenant_of(conn, &who.tenant_id)?;
            let row = bulletins::get(conn, &who.tenant_id, &incident_id, &bulletin_id)?;
            let publication = publication(conn, &row)?;
            let version = bulletins::approve(conn, &row, &who.name, publication)?;
            let row = bulletins::get(conn, &who.tenant_id, &incident_id, &bulletin_id)?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "bulletin.approve",
                target: format!("bulletin:{bulletin_id}"),
                details: json!({ "incident": incident_id, "version": version.version, "sha256": version.sha256,
                    "author": version.author, "posting_until": row.posting_until.map(format_instant) }),
            })?;
            let coverage = coverage::apply_bulletin(conn, &row)?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "bulletin.cover",
                target: format!("bulletin:{bulletin_id}"),
                details: json!({ "incident": incident_id, "coverage": &coverage }),
            })?;
            Ok(json!({
                "id": row.id,
                "status": row.status()?,
                "version": version.version,
                "sha256": version.sha256,
                "published_at": version.published_at.map(format_instant),
                "posting_until": row.posting_until.map(format_instant),
                "url": public_url(&service, &slug, &row.id),
                "coverage": coverage,
            }))
        })
        .await
}

/// The lint's findings on the pending version and the posting period the laws ask for.
fn publication(conn: &mut DbConnection, row: &BulletinRow) -> AppResult<Publication> {
    let Some(pending) = bulletins::pending_version(conn, row)? else {
        return Ok(Publication {
            problems: Vec::new(),
            posting: None,
        });
    };
    let content = pending.bulletin_content()?.ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!("pending bulletin version without content"))
    })?;
    let mut problems = content.blanks(false);
    problems.extend(bulletins::personal_data(conn, &row.incident_id, &content)?);
    let notice = bulletins::substitute_notice(conn, &row.tenant_id, &row.incident_id)?;
    Ok(Publication {
        problems,
        posting: bulletins::posting_period(&notice),
    })
}

async fn withdraw_bulletin(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_incidents(), "withdraw bulletins")?;
    let (incident_id, bulletin_id) = path.into_inner();
    let reason = required_text(&body, "reason", 2_000)?;
    let view = db
        .write(move |conn| {
            let row = bulletins::get(conn, &who.tenant_id, &incident_id, &bulletin_id)?;
            let version = bulletins::withdraw(conn, &row, &reason, &who.name)?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "bulletin.withdraw",
                target: format!("bulletin:{bulletin_id}"),
                details: json!({ "incident": incident_id, "version": version.version, "reason": reason }),
            })?;
            let row = bulletins::get(conn, &who.tenant_id, &incident_id, &bulletin_id)?;
            Ok(json!({
                "id": row.id,
                "status": row.status()?,
                "version": version.version,
                "withdrawn_at": row.withdrawn_at.map(format_instant),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// One required, trimmed string field of a JSON body (no other fields).
fn required_text(
    body: &serde_json::Map<String, Value>,
    key: &str,
    max: usize,
) -> AppResult<String> {
    let mut r = Reader::new(body, &[key]);
    let value = r.text(key, max).or_keep(None);
    if value.is_none() && !r.has_error_for(key) {
        r.reject(key, "is required");
    }
    r.finish(value.unwrap_or_default())
        .map_err(AppError::Validation)
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn get_press_statement(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    path: web::Path<(String, String)>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let (incident_id, bulletin_id) = path.into_inner();
    let lang = query.into_inner().lang;
    let view = db
        .read(move |conn| {
            let tenant = tenants::get(conn, &who.tenant_id)?;
            let row = bulletins::get(conn, &who.tenant_id, &incident_id, &bulletin_id)?;
            let notice = bulletins::substitute_notice(conn, &who.tenant_id, &incident_id)?;
            let required_by: Vec<String> = notice
                .regimes
                .iter()
                .filter(|d| {
                    d.requirements
                        .iter()
                        .any(|r| r.kind == RequirementKind::MediaNotice)
                })
                .map(|d| d.regime.clone())
                .collect();
            let statements = crate::web::bulletins::press_statements(
                conn,
                &service,
                &tenant,
                &row,
                lang.as_deref(),
            )?;
            Ok(json!({ "bulletin": row.id, "required_by": required_by, "locales": statements }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn mark_requirement_done(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String, String)>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    who.require(
        who.role.can_edit_incidents(),
        "mark bulletin requirements done",
    )?;
    let (incident_id, bulletin_id, kind) = path.into_inner();
    let kind: RequirementKind = kind
        .parse()
        .map_err(|reason: String| AppError::Validation(vec![FieldError::new("kind", reason)]))?;
    let evidence = required_text(&body, "evidence", 5_000)?;
    let view = db
        .write(move |conn| {
            let row = bulletins::get(conn, &who.tenant_id, &incident_id, &bulletin_id)?;
            let done = bulletins::mark_done(conn, &row, kind, &evidence, &who.name)?;
            audit::append(
                conn,
                &who.tenant_id,
                AuditEvent {
                    actor: who.actor(),
                    action: "bulletin.checklist",
                    target: format!("bulletin:{bulletin_id}"),
                    details: json!({ "incident": incident_id, "kind": kind, "evidence": evidence }),
                },
            )?;
            serde_json::to_value(done).map_err(|e| AppError::Unexpected(e.into()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
