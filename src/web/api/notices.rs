//! Notice content of an incident.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::JsonObject;
use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::domain::format_instant;
use crate::error::{AppError, AppResult};
use crate::notices::content::NoticeContent;
use crate::store::{incidents, notice_contents};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/incidents/{id}/notice-content",
        web::put().to(put_notice_content),
    )
    .route(
        "/incidents/{id}/notice-content",
        web::get().to(get_notice_content),
    );
}

async fn put_notice_content(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let view = put_content(who, &db, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Replaces an incident's notice content after checking it (API and web UI).
pub(crate) async fn put_content(
    who: Principal,
    db: &Db,
    id: String,
    body: Map<String, Value>,
) -> AppResult<Value> {
    who.require(who.role.can_edit_incidents(), "write notice content")?;
    let content = NoticeContent::parse(&body).map_err(AppError::Validation)?;
    db.write(move |conn| {
        incidents::get(conn, &who.tenant_id, &id)?;
        notice_contents::put(conn, &who.tenant_id, &id, &content, &who.name)?;
        let view = serde_json::to_value(&content).map_err(|e| AppError::Unexpected(e.into()))?;
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "notice_content.update",
                target: format!("incident:{id}"),
                details: json!({ "content": view }),
            },
        )?;
        Ok(view)
    })
    .await
}

async fn get_notice_content(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let view = db
        .read(move |conn| {
            incidents::get(conn, &who.tenant_id, &id)?;
            let stored = notice_contents::get(conn, &who.tenant_id, &id)?
                .ok_or_else(|| AppError::NotFound(format!("notice content of incident {id}")))?;
            Ok(json!({
                "default_locale": stored.content.default_locale,
                "locales": stored.content.locales,
                "updated_by": stored.updated_by,
                "updated_at": format_instant(stored.updated_at),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
