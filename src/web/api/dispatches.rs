//! Dispatches: create from the plan, approve (four eyes), follow progress.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::error::AppResult;
use crate::store::dispatches;
use crate::store::plans::NoticeService;
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/incidents/{id}/dispatches",
        web::post().to(create_dispatch),
    )
    .route(
        "/incidents/{id}/dispatches/{dispatch}",
        web::get().to(get_dispatch),
    )
    .route(
        "/incidents/{id}/dispatches/{dispatch}/approve",
        web::post().to(approve_dispatch),
    )
    .route(
        "/incidents/{id}/dispatches/{dispatch}/ledger",
        web::get().to(get_ledger),
    );
}

async fn create_dispatch(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_incidents(), "create dispatches")?;
    let view = db
        .write(move |conn| {
            let row = dispatches::create(conn, &service, &who.tenant_id, &id, &who.name)?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "dispatch.create",
                target: format!("dispatch:{}", row.id),
                details: json!({ "incident": id.as_str(), "recipients": row.recipients, "content_hash": row.content_hash }),
            })?;
            dispatches::progress(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

async fn approve_dispatch(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    who.require(
        who.role.can_approve(),
        "approve dispatches (approver role only)",
    )?;
    let (incident_id, dispatch_id) = path.into_inner();
    let service = service.into_inner();
    let view = db
        .write(move |conn| {
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            dispatches::approve(conn, service, &row, &who.name)?;
            audit::append(
                conn,
                &who.tenant_id,
                AuditEvent {
                    actor: who.actor(),
                    action: "dispatch.approve",
                    target: format!("dispatch:{dispatch_id}"),
                    details: json!({ "incident": incident_id, "content_hash": row.content_hash }),
                },
            )?;
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            dispatches::progress(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn get_dispatch(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (incident_id, dispatch_id) = path.into_inner();
    let view = db
        .read(move |conn| {
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            dispatches::progress(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

const LEDGER_PAGE: i64 = 2_000;

/// Every person with every attempt, streamed as CSV (for regulators and legal review).
async fn get_ledger(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    use futures_util::StreamExt;
    who.require(who.role.can_read_subjects(), "read the dispatch ledger")?;
    let (incident_id, dispatch_id) = path.into_inner();
    let tenant = who.tenant_id.clone();
    let d = dispatch_id.clone();
    db.read(move |conn| dispatches::get(conn, &tenant, &incident_id, &d))
        .await?;
    let header = super::affected::csv_lines(std::iter::once(
        dispatches::LEDGER_HEADER.map(str::to_owned),
    ))?;
    let pages = futures_util::stream::unfold(Some(String::new()), move |after| {
        let (db, dispatch_id) = (db.clone(), dispatch_id.clone());
        async move {
            let after = after?;
            let page = db
                .read(move |conn| dispatches::ledger_page(conn, &dispatch_id, &after, LEDGER_PAGE))
                .await;
            match page {
                Ok((lines, next)) if !lines.is_empty() => {
                    Some((super::affected::csv_lines(lines.into_iter()), next))
                }
                Ok(_) => None,
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    let body = futures_util::stream::once(async move { Ok::<_, crate::error::AppError>(header) })
        .chain(pages);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"ledger.csv\""))
        .streaming(body))
}
