//! The notice plan and the preview of one person's notice.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::compose::{self, IncidentNotices, NoticeService, plan};
use crate::db::Db;
use crate::domain::Channel;
use crate::error::{AppError, AppResult};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{id}/plan", web::post().to(create_plan))
        .route("/incidents/{id}/plan", web::get().to(get_plan))
        .route(
            "/incidents/{id}/notices/preview",
            web::get().to(preview_notice),
        );
}

async fn create_plan(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let summary = create(who, &db, service, id.into_inner()).await?;
    Ok(HttpResponse::Created().json(summary))
}

/// Plans who gets which notice on which channel (API and web UI).
pub(crate) async fn create(
    who: Principal,
    db: &Db,
    service: web::Data<NoticeService>,
    id: String,
) -> AppResult<plan::PlanSummary> {
    who.require(who.role.can_edit_incidents(), "plan notices")?;
    db
        .write(move |conn| {
            let summary = plan::build(conn, service.into_inner(), &who.tenant_id, &id, &who.name)?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "plan.create",
                target: format!("incident:{id}"),
                details: json!({ "total": summary.total, "unreachable": summary.unreachable, "by_channel": summary.by_channel }),
            })?;
            Ok(summary)
        })
        .await
}

async fn get_plan(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_read_subjects(), "read notice plans")?;
    let summary = db
        .read(move |conn| plan::get(conn, &who.tenant_id, &id))
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    subject: Option<String>,
    channel: Option<String>,
}

async fn preview_notice(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    id: web::Path<String>,
    query: web::Query<PreviewQuery>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_read_subjects(), "preview notices")?;
    let query = query.into_inner();
    let view = preview(
        who,
        &db,
        service,
        id.into_inner(),
        query.subject,
        query.channel,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// One person's notice on one channel, rendered as it would be sent (API and web UI).
pub(crate) async fn preview(
    who: Principal,
    db: &Db,
    service: web::Data<NoticeService>,
    id: String,
    subject: Option<String>,
    channel: Option<String>,
) -> AppResult<compose::Preview> {
    who.require(who.role.can_read_subjects(), "preview notices")?;
    let mut errors = Vec::new();
    let subject = subject.filter(|s| !s.is_empty());
    if subject.is_none() {
        errors.push(crate::domain::FieldError::new(
            "subject",
            "is required: the external_id of an affected person",
        ));
    }
    let channel = match channel.as_deref().map(str::parse::<Channel>) {
        Some(Ok(c)) => Some(c),
        Some(Err(reason)) => {
            errors.push(crate::domain::FieldError::new("channel", reason));
            None
        }
        None => {
            errors.push(crate::domain::FieldError::new(
                "channel",
                format!("is required: {}", Channel::expected()),
            ));
            None
        }
    };
    let (Some(subject), Some(channel), true) = (subject, channel, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    db.read(move |conn| {
        let notices = IncidentNotices::load(conn, service.into_inner(), &who.tenant_id, &id)?;
        let row = compose::affected_row(conn, &who.tenant_id, &id, &subject)?;
        notices.preview(&row, channel)
    })
    .await
}
