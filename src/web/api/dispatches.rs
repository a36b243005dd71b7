//! Dispatches: create from the plan, list, approve (four eyes), cancel, release
//! rows held by the send window, follow progress, download the ledger.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::compose::NoticeService;
use crate::compose::dispatch as composed;
use crate::db::Db;
use crate::dispatch::progress::{self, DispatchProgress};
use crate::dispatch::settings::ChannelSettings;
use crate::dispatch::worker::OutboxBell;
use crate::domain::{Channel, Reader, now_micros};
use crate::error::{AppError, AppResult};
use crate::store::{dispatches, outbox};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/incidents/{id}/dispatches",
        web::post().to(create_dispatch),
    )
    .route("/incidents/{id}/dispatches", web::get().to(list_dispatches))
    .route(
        "/incidents/{id}/dispatches/{dispatch}",
        web::get().to(get_dispatch),
    )
    .route(
        "/incidents/{id}/dispatches/{dispatch}/approve",
        web::post().to(approve_dispatch),
    )
    .route(
        "/incidents/{id}/dispatches/{dispatch}/cancel",
        web::post().to(cancel_dispatch),
    )
    .route(
        "/incidents/{id}/dispatches/{dispatch}/release-held",
        web::post().to(release_held),
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
    channels: web::Data<ChannelSettings>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let view = create(who, &db, service, channels, id.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Creates a dispatch from the plan, awaiting approval (API and web UI).
pub(crate) async fn create(
    who: Principal,
    db: &Db,
    service: web::Data<NoticeService>,
    channels: web::Data<ChannelSettings>,
    id: String,
) -> AppResult<DispatchProgress> {
    who.require(who.role.can_edit_incidents(), "create dispatches")?;
    db
        .write(move |conn| {
            let row = composed::create(conn, &service, &who.tenant_id, &id, &who.name)?;
            audit::append(conn, &who.tenant_id, AuditEvent {
                actor: who.actor(),
                action: "dispatch.create",
                target: format!("dispatch:{}", row.id),
                details: json!({ "incident": id.as_str(), "recipients": row.recipients, "content_hash": row.content_hash }),
            })?;
            progress::progress(conn, &channels, &row)
        })
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    before: Option<String>,
    limit: Option<i64>,
}

/// The incident's dispatches, newest first, with their progress.
async fn list_dispatches(
    who: Principal,
    db: web::Data<Db>,
    channels: web::Data<ChannelSettings>,
    id: web::Path<String>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let ListQuery { before, limit } = query.into_inner();
    let before = super::cursor("before", before)?;
    let limit = super::page_limit(limit)?;
    let items = db
        .read(move |conn| {
            crate::store::incidents::get(conn, &who.tenant_id, &id)?;
            dispatches::list(conn, &who.tenant_id, &id, before.as_deref(), limit)?
                .iter()
                .map(|row| progress::progress(conn, &channels, row))
                .collect::<AppResult<Vec<DispatchProgress>>>()
        })
        .await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|d| d.id.clone()))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": next })))
}

async fn approve_dispatch(
    who: Principal,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    channels: web::Data<ChannelSettings>,
    bell: web::Data<OutboxBell>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (incident_id, dispatch_id) = path.into_inner();
    let view = approve(who, &db, service, channels, &bell, incident_id, dispatch_id).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Approves a dispatch: an approver who did not create it (API and web UI); rings
/// the worker's bell so the first notices go out at once.
pub(crate) async fn approve(
    who: Principal,
    db: &Db,
    service: web::Data<NoticeService>,
    channels: web::Data<ChannelSettings>,
    bell: &OutboxBell,
    incident_id: String,
    dispatch_id: String,
) -> AppResult<DispatchProgress> {
    who.require(
        who.role.can_approve(),
        "approve dispatches (approver role only)",
    )?;
    let service = service.into_inner();
    let view = db
        .write(move |conn| {
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            composed::approve(conn, service, &row, &who.name)?;
            audit::append(
                conn,
                &who.tenant_id,
                AuditEvent {
                    actor: who.actor(),
                    action: "dispatch.approve",
                    target: format!("dispatch:{dispatch_id}"),
                    details: json!({ "incident": incident_id, "content_hash": row.content_hash, "warnings": row.warnings }),
                },
            )?;
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            progress::progress(conn, &channels, &row)
        })
        .await?;
    bell.ring();
    Ok(view)
}

/// Cancels a dispatch awaiting approval (a stale one, or one made by mistake).
async fn cancel_dispatch(
    who: Principal,
    db: web::Data<Db>,
    channels: web::Data<ChannelSettings>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_incidents(), "cancel dispatches")?;
    let (incident_id, dispatch_id) = path.into_inner();
    let view = db
        .write(move |conn| {
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            dispatches::cancel(conn, &row, &who.name)?;
            audit::append(
                conn,
                &who.tenant_id,
                AuditEvent {
                    actor: who.actor(),
                    action: "dispatch.cancel",
                    target: format!("dispatch:{dispatch_id}"),
                    details: json!({ "incident": incident_id, "recipients": row.recipients }),
                },
            )?;
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            progress::progress(conn, &channels, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The channel a release names: none for an empty body (all channels), else the
/// body must be one JSON object `{"channel"?}`; anything else is refused, never
/// read as "release everything".
fn release_channel(body: &[u8]) -> AppResult<Option<Channel>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| AppError::Malformed(format!("body must be one JSON object: {e}")))?;
    let mut r = Reader::new(&map, &["channel"]);
    let channel = r.word::<Channel>("channel").or_keep(None);
    r.finish(channel).map_err(AppError::Validation)
}

/// "Send now": releases the messages the tenant's send window holds back (one
/// channel, or all), by an approver, audited.
async fn release_held(
    who: Principal,
    db: web::Data<Db>,
    channels: web::Data<ChannelSettings>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    who.require(
        who.role.can_approve(),
        "release messages held by the send window (approver role only)",
    )?;
    let channel = release_channel(&body)?;
    let (incident_id, dispatch_id) = path.into_inner();
    let view = db
        .write(move |conn| {
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            if row.approved_at.is_none() {
                return Err(AppError::Conflict(format!(
                    "dispatch is {}: approve it before releasing anything",
                    row.status
                )));
            }
            let released = outbox::release_held(conn, &row.id, channel, now_micros())?;
            audit::append(
                conn,
                &who.tenant_id,
                AuditEvent {
                    actor: who.actor(),
                    action: "dispatch.release_held",
                    target: format!("dispatch:{dispatch_id}"),
                    details: json!({ "incident": incident_id, "channel": channel, "released": released }),
                },
            )?;
            let progress = progress::progress(conn, &channels, &row)?;
            Ok(json!({ "released": released, "dispatch": progress }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn get_dispatch(
    who: Principal,
    db: web::Data<Db>,
    channels: web::Data<ChannelSettings>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (incident_id, dispatch_id) = path.into_inner();
    let view = db
        .read(move |conn| {
            let row = dispatches::get(conn, &who.tenant_id, &incident_id, &dispatch_id)?;
            progress::progress(conn, &channels, &row)
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
    let body = futures_util::stream::once(async move { Ok::<_, AppError>(header) }).chain(pages);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"ledger.csv\""))
        .streaming(body))
}
