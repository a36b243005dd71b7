//! Incidents and their timelines.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{JsonObject, page_limit};
use crate::audit::{self, AuditEvent};
use crate::db::{Db, DbConnection};
use crate::domain::{FactsChange, Field, IncidentStatus, Reader, apply_incident_input, now_micros};
use crate::error::{AppError, AppResult};
use crate::runbooks::Library;
use crate::store::{incidents, obligations, timeline};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents", web::post().to(create_incident))
        .route("/incidents", web::get().to(list_incidents))
        .route("/incidents/{id}", web::get().to(get_incident))
        .route("/incidents/{id}", web::patch().to(update_incident))
        .route(
            "/incidents/{id}/timeline",
            web::post().to(add_timeline_entry),
        )
        .route("/incidents/{id}/timeline", web::get().to(list_timeline));
}

async fn create_incident(
    who: Principal,
    db: web::Data<Db>,
    runbooks: web::Data<Library>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let row = create(who, &db, runbooks, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(row))
}

/// Validates and stores a new incident, computes its obligations, audits it: the
/// one way to file an incident, for the API and the web UI.
pub(crate) async fn create(
    who: Principal,
    db: &Db,
    runbooks: web::Data<Library>,
    body: Map<String, Value>,
) -> AppResult<Value> {
    who.require(who.role.can_edit_incidents(), "create incidents")?;
    let FactsChange { facts, .. } =
        apply_incident_input(None, &body).map_err(AppError::Validation)?;
    db.write(move |conn| {
        let row = incidents::insert(conn, &who.tenant_id, &facts, &who.name)?;
        obligations::refresh(conn, &runbooks, &who.tenant_id, &row.id)?;
        let view = row.to_json()?;
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "incident.create",
                target: format!("incident:{}", row.id),
                details: json!({ "incident": view }),
            },
        )?;
        Ok(view)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    before: Option<String>,
    limit: Option<i64>,
}

async fn list_incidents(
    who: Principal,
    db: web::Data<Db>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let limit = page_limit(query.limit)?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<IncidentStatus>)
        .transpose()
        .map_err(|reason| AppError::field("status", reason))?;
    let before = super::cursor("before", query.before.clone())?;
    let items = db
        .read(move |conn| {
            let rows = incidents::list(conn, &who.tenant_id, status, before.as_deref(), limit)?;
            rows.iter()
                .map(incidents::IncidentRow::to_json)
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    let next = super::next_cursor(&items, limit, "id");
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_before": next })))
}

async fn get_incident(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let view = db
        .read(move |conn| incidents::get(conn, &who.tenant_id, &id)?.to_json())
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn update_incident(
    who: Principal,
    db: web::Data<Db>,
    runbooks: web::Data<Library>,
    id: web::Path<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let view = update(who, &db, runbooks, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes an incident's facts or status (API and web UI).
pub(crate) async fn update(
    who: Principal,
    db: &Db,
    runbooks: web::Data<Library>,
    id: String,
    body: Map<String, Value>,
) -> AppResult<Value> {
    who.require(who.role.can_edit_incidents(), "change incidents")?;
    db.write(move |conn| apply_update(conn, &runbooks, &who, &id, &body))
        .await
}

/// Validates and stores a change, records a status change on the timeline, audits it.
fn apply_update(
    conn: &mut DbConnection,
    runbooks: &Library,
    who: &Principal,
    id: &str,
    body: &Map<String, Value>,
) -> AppResult<Value> {
    let row = incidents::get(conn, &who.tenant_id, id)?;
    let current = row.status()?;
    let FactsChange { mut facts, status } =
        apply_incident_input(Some(&row.facts()?), body).map_err(AppError::Validation)?;
    let status = status.filter(|s| *s != current);
    if let Some(next) = status {
        if !current.can_move_to(next) {
            return Err(AppError::Conflict(format!(
                "cannot move incident from {current} to {next}: allowed are {}",
                IncidentStatus::LIFE_CYCLE
            )));
        }
        if next == IncidentStatus::Assessed && facts.assessed_at.is_none() {
            facts.assessed_at = Some(now_micros());
        }
    }
    let before = row.to_json()?;
    let updated = incidents::update(conn, &who.tenant_id, id, &facts, status)?;
    // Refuses (and so rolls back) a closed incident with open obligations.
    obligations::refresh(conn, runbooks, &who.tenant_id, id)?;
    let after = updated.to_json()?;
    if let Some(next) = status {
        timeline::insert(
            conn,
            &who.tenant_id,
            id,
            now_micros(),
            "status",
            &format!("Status changed from {current} to {next}"),
            &who.name,
        )?;
    }
    audit::append(
        conn,
        &who.tenant_id,
        AuditEvent {
            actor: who.actor(),
            action: if status.is_some() {
                "incident.status"
            } else {
                "incident.update"
            },
            target: format!("incident:{id}"),
            details: json!({ "changes": changes(&before, &after) }),
        },
    )?;
    Ok(after)
}

/// `{field: {from, to}}` for every field whose value changed.
fn changes(before: &Value, after: &Value) -> Value {
    let mut out = Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (key, new) in a {
            let old = b.get(key).unwrap_or(&Value::Null);
            if key != "updated_at" && old != new {
                out.insert(key.clone(), json!({ "from": old, "to": new }));
            }
        }
    }
    Value::Object(out)
}

async fn add_timeline_entry(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let entry = add_timeline(who, &db, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(entry))
}

/// Adds an entry to an incident's timeline (API and web UI).
pub(crate) async fn add_timeline(
    who: Principal,
    db: &Db,
    id: String,
    body: Map<String, Value>,
) -> AppResult<Value> {
    who.require(who.role.can_edit_incidents(), "add timeline entries")?;
    let mut r = Reader::new(&body, &["at", "kind", "text"]);
    let at = r.instant("at").or_keep(None).unwrap_or_else(now_micros);
    let kind = r
        .text("kind", 40)
        .or_keep(None)
        .unwrap_or_else(|| "note".to_owned());
    if !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        r.reject(
            "kind",
            "use lower-case letters and underscores, e.g. note, detection, containment",
        );
    }
    let text = match r.prose("text", 10_000) {
        Field::Set(t) => t,
        _ => {
            if !r.has_error_for("text") {
                r.reject("text", "is required");
            }
            String::new()
        }
    };
    r.finish(()).map_err(AppError::Validation)?;
    db.write(move |conn| {
        incidents::get(conn, &who.tenant_id, &id)?;
        let entry = timeline::insert(conn, &who.tenant_id, &id, at, &kind, &text, &who.name)?;
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "timeline.add",
                target: format!("incident:{id}"),
                details: json!({ "entry": entry.id, "kind": entry.kind }),
            },
        )?;
        Ok(entry.to_json())
    })
    .await
}

async fn list_timeline(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let items = db
        .read(move |conn| {
            incidents::get(conn, &who.tenant_id, &id)?;
            Ok(timeline::list(conn, &who.tenant_id, &id)?
                .iter()
                .map(timeline::TimelineEntry::to_json)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
