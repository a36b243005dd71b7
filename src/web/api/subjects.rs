//! The subject registry: bulk import, listing, reading, changing, deleting.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::upload::Uploads;
use super::{JsonObject, page_limit};
use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::domain::{Jurisdiction, SubjectParser, system_name};
use crate::error::{AppError, AppResult};
use crate::import::{self, ImportFormat, ImportJob, ImportMode, ImportOutcome};
use crate::store::subjects::{self, SubjectFilter};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/subjects/import", web::post().to(import_subjects))
        .route("/subjects", web::get().to(list_subjects))
        .route("/subjects/{external_id}", web::get().to(get_subject))
        .route("/subjects/{external_id}", web::patch().to(update_subject))
        .route("/subjects/{external_id}", web::delete().to(delete_subject));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    mode: Option<String>,
}

async fn import_subjects(
    who: Principal,
    req: HttpRequest,
    db: web::Data<Db>,
    uploads: web::Data<Uploads>,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_subjects(), "import subjects")?;
    let format = ImportFormat::from_media_type(&super::upload::media_type(&req))
        .ok_or_else(|| AppError::UnsupportedMediaType(ImportFormat::MEDIA_TYPES.into()))?;
    let mode = query
        .mode
        .as_deref()
        .map(str::parse::<ImportMode>)
        .transpose()
        .map_err(|reason| AppError::field("mode", reason))?
        .unwrap_or_default();
    let file = uploads.spool(&req, payload).await?;
    let db = db.into_inner();
    let outcome = web::block(move || {
        let job = ImportJob {
            tenant_id: &who.tenant_id,
            actor: who.actor(),
            path: file.path(),
            format,
            mode,
        };
        import::run(&db, &job, &mut |_| ())
    })
    .await
    .map_err(|e| AppError::Unexpected(anyhow::anyhow!("import task failed: {e}")))??;
    Ok(match outcome {
        ImportOutcome::Imported(report) => HttpResponse::Ok().json(report),
        ImportOutcome::Rejected(report) => HttpResponse::UnprocessableEntity()
            .content_type("application/problem+json")
            .json(report.problem()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    jurisdiction: Option<String>,
    system: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
}

async fn list_subjects(
    who: Principal,
    db: web::Data<Db>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_read_subjects(), "read subjects")?;
    let limit = page_limit(query.limit)?;
    let query = query.into_inner();
    let filter = SubjectFilter {
        jurisdiction: query
            .jurisdiction
            .as_deref()
            .map(|j| Jurisdiction::parse(j).map(|j| j.as_str().to_owned()))
            .transpose()
            .map_err(|reason| AppError::field("jurisdiction", reason))?,
        system: query
            .system
            .map(|s| system_name(s.trim()).map(str::to_owned))
            .transpose()
            .map_err(|reason| AppError::field("system", reason))?,
        after: super::cursor("after", query.after)?,
    };
    let items = db
        .read(move |conn| {
            subjects::list(conn, &who.tenant_id, &filter, limit)?
                .iter()
                .map(subjects::SubjectRow::to_json)
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    let next = super::next_cursor(&items, limit, "external_id");
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_after": next })))
}

async fn get_subject(
    who: Principal,
    db: web::Data<Db>,
    external_id: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_read_subjects(), "read subjects")?;
    let view = db
        .read(move |conn| subjects::get(conn, &who.tenant_id, &external_id)?.to_json())
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn update_subject(
    who: Principal,
    db: web::Data<Db>,
    external_id: web::Path<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_subjects(), "change subjects")?;
    let view = db
        .write(move |conn| {
            let current = subjects::get(conn, &who.tenant_id, &external_id)?.subject()?;
            let today = chrono::Utc::now().date_naive();
            let next = SubjectParser::new(today)
                .apply_patch(&current, &body)
                .map_err(AppError::Validation)?;
            let row = subjects::replace(conn, &who.tenant_id, next)?;
            audit::append(
                conn,
                &who.tenant_id,
                AuditEvent {
                    actor: who.actor(),
                    action: "subject.update",
                    target: format!("subject:{external_id}"),
                    // Field names only: the values are personal data.
                    details: json!({ "fields": body.keys().collect::<Vec<_>>() }),
                },
            )?;
            row.to_json()
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn delete_subject(
    who: Principal,
    db: web::Data<Db>,
    external_id: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_subjects(), "delete subjects")?;
    db.write(move |conn| {
        subjects::delete(conn, &who.tenant_id, &external_id)?;
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "subject.delete",
                target: format!("subject:{external_id}"),
                details: json!({}),
            },
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
