//! An incident's obligations: list, mark met, waive, reopen.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::JsonObject;
use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::domain::{Field, Reader, now_micros};
use crate::error::{AppError, AppResult};
use crate::store::incidents;
use crate::store::obligations::{self, Resolution};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/incidents/{id}/obligations",
        web::get().to(list_obligations),
    )
    .route(
        "/incidents/{id}/obligations/{obligation}/met",
        web::post().to(mark_obligation_met),
    )
    .route(
        "/incidents/{id}/obligations/{obligation}/waive",
        web::post().to(waive_obligation),
    )
    .route(
        "/incidents/{id}/obligations/{obligation}/reopen",
        web::post().to(reopen_obligation),
    );
}

async fn list_obligations(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let body = db
        .read(move |conn| {
            incidents::get(conn, &who.tenant_id, &id)?;
            let now = now_micros();
            let rows = obligations::list(conn, &who.tenant_id, &id)?;
            let (input, not_triggered, evaluated_at) =
                obligations::evaluation(conn, &who.tenant_id, &id)?;
            Ok(json!({
                "obligations": rows.iter().map(|r| r.to_json(now)).collect::<Vec<_>>(),
                "not_triggered": not_triggered,
                "evaluated_at": evaluated_at,
                "input": input,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

fn read_required_text(r: &mut Reader<'_>, key: &str, max: usize) -> String {
    match r.prose(key, max) {
        Field::Set(text) => text,
        _ => {
            if !r.has_error_for(key) {
                r.reject(key, "is required");
            }
            String::new()
        }
    }
}

async fn mark_obligation_met(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let (incident, obligation) = path.into_inner();
    let view = mark_met(who, &db, incident, obligation, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Marks an obligation met with its evidence (API and web UI).
pub(crate) async fn mark_met(
    who: Principal,
    db: &Db,
    incident: String,
    obligation: String,
    body: Map<String, Value>,
) -> AppResult<Value> {
    let mut r = Reader::new(&body, &["evidence", "met_at"]);
    let evidence = read_required_text(&mut r, "evidence", 5_000);
    let at = r.instant("met_at").or_keep(None).unwrap_or_else(now_micros);
    let resolution = r
        .finish(Resolution::Met { evidence, at })
        .map_err(AppError::Validation)?;
    resolve(who, db, (incident, obligation), resolution).await
}

async fn waive_obligation(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let (incident, obligation) = path.into_inner();
    let view = waive(who, &db, incident, obligation, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Waives an obligation with a reason (API and web UI).
pub(crate) async fn waive(
    who: Principal,
    db: &Db,
    incident: String,
    obligation: String,
    body: Map<String, Value>,
) -> AppResult<Value> {
    let mut r = Reader::new(&body, &["reason"]);
    let reason = read_required_text(&mut r, "reason", 5_000);
    let resolution = r
        .finish(Resolution::Waived { reason })
        .map_err(AppError::Validation)?;
    resolve(who, db, (incident, obligation), resolution).await
}

async fn reopen_obligation(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let view = resolve(who, &db, path.into_inner(), Resolution::Reopened).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn resolve(
    who: Principal,
    db: &Db,
    (incident_id, obligation_id): (String, String),
    resolution: Resolution,
) -> AppResult<Value> {
    who.require(who.role.can_edit_incidents(), "resolve obligations")?;
    db.write(move |conn| {
        let row = obligations::get(conn, &who.tenant_id, &incident_id, &obligation_id)?;
        obligations::resolve(conn, &row, &resolution, &who.name)?;
        let updated = obligations::get(conn, &who.tenant_id, &incident_id, &obligation_id)?;
        let view = updated.to_json(now_micros());
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: match resolution {
                    Resolution::Met { .. } => "obligation.met",
                    Resolution::Waived { .. } => "obligation.waive",
                    Resolution::Reopened => "obligation.reopen",
                },
                target: format!("obligation:{obligation_id}"),
                details: json!({
                    "incident": incident_id,
                    "obligation": format!("{}:{}.{}", row.regime, row.recipient, row.phase),
                    "status": view["status"],
                    "evidence": view["evidence"],
                    "waived_reason": view["waived_reason"],
                }),
            },
        )?;
        Ok(view)
    })
    .await
}
