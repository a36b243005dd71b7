//! An incident's scope and affected set: set the scope, upload an id list,
//! recompute, read the summary, page through or export the set.

use std::io::BufRead;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::upload::{Uploads, line_problem};
use super::{JsonObject, page_limit};
use crate::audit::{self, AuditEvent};
use crate::db::{Db, DbConnection};
use crate::domain::{ScopeChange, external_id, parse_scope};
use crate::error::{AppError, AppResult};
use crate::import::{LineError, MAX_LISTED_ERRORS};
use crate::runbooks::Library;
use crate::store::affected::{self, CSV_HEADER, ScopeState};
use crate::web::auth::Principal;

/// Rows per database read while exporting CSV.
const EXPORT_PAGE: i64 = 5_000;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{id}/scope", web::put().to(put_scope))
        .route("/incidents/{id}/scope", web::get().to(get_scope))
        .route(
            "/incidents/{id}/scope/subject-ids",
            web::put().to(put_scope_subject_ids),
        )
        .route(
            "/incidents/{id}/affected/recompute",
            web::post().to(recompute_affected),
        )
        .route(
            "/incidents/{id}/affected/summary",
            web::get().to(get_affected_summary),
        )
        .route("/incidents/{id}/affected", web::get().to(list_affected));
}

/// `{scope, summary}`, the answer of every change.
fn scope_view(state: &ScopeState) -> Value {
    json!({ "scope": state.scope_json(), "summary": state.summary_json() })
}

/// Recomputes after a scope change, then the obligations the new counts drive, and
/// audits both, in the caller's transaction.
fn recompute_audited(
    conn: &mut DbConnection,
    runbooks: &Library,
    who: &Principal,
    incident_id: &str,
    action: &'static str,
) -> AppResult<ScopeState> {
    let state = affected::recompute(conn, &who.tenant_id, incident_id)?;
    crate::store::obligations::refresh(conn, runbooks, &who.tenant_id, incident_id)?;
    audit::append(
        conn,
        &who.tenant_id,
        AuditEvent {
            actor: who.actor(),
            action,
            target: format!("incident:{incident_id}"),
            details: json!({ "scope": state.scope_json(), "affected": state.summary.total }),
        },
    )?;
    Ok(state)
}

/// Deletes the incident's superseded affected set after the answer: a
/// recompute only writes, and the old rows (up to millions) go in a
/// transaction of their own. A purge that fails is retried by the next one.
fn purge_later(db: &Db, incident_id: String) {
    let db = db.clone();
    actix_web::rt::spawn(async move {
        let id = incident_id.clone();
        if let Err(e) = db
            .write(move |conn| affected::purge_superseded(conn, &id))
            .await
        {
            tracing::warn!(incident.id = %incident_id, error = %e, "cannot purge superseded affected sets");
        }
    });
}

async fn put_scope(
    who: Principal,
    db: web::Data<Db>,
    runbooks: web::Data<Library>,
    id: web::Path<String>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let view = set_scope(who, &db, runbooks, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Replaces an incident's scope and recomputes its affected set (API and web UI).
pub(crate) async fn set_scope(
    who: Principal,
    db: &Db,
    runbooks: web::Data<Library>,
    id: String,
    body: Map<String, Value>,
) -> AppResult<Value> {
    who.require(who.role.can_edit_subjects(), "set incident scopes")?;
    let ScopeChange { scope, subject_ids } = parse_scope(&body).map_err(AppError::Validation)?;
    let incident_id = id.clone();
    let state = db
        .write(move |conn| {
            affected::put_scope(conn, &who.tenant_id, &id, &scope, &subject_ids)?;
            recompute_audited(conn, &runbooks, &who, &id, "incident.scope")
        })
        .await?;
    purge_later(db, incident_id);
    Ok(scope_view(&state))
}

async fn get_scope(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let state = db
        .read(move |conn| affected::get_scope(conn, &who.tenant_id, &id))
        .await?;
    Ok(HttpResponse::Ok().json(scope_view(&state)))
}

async fn put_scope_subject_ids(
    who: Principal,
    req: HttpRequest,
    db: web::Data<Db>,
    runbooks: web::Data<Library>,
    uploads: web::Data<Uploads>,
    id: web::Path<String>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_subjects(), "set incident scopes")?;
    if !super::upload::media_type(&req).starts_with("text/plain") {
        return Err(AppError::UnsupportedMediaType(
            "text/plain (one external_id per line)".into(),
        ));
    }
    let file = uploads.spool(&req, payload).await?;
    let incident_id = id.to_string();
    let db = db.into_inner();
    let background = Db::clone(&db);
    let outcome = web::block(move || -> AppResult<Result<ScopeState, InvalidLines>> {
        let file = file.reopen().map_err(|e| AppError::Unexpected(e.into()))?;
        let ids = match read_id_list(std::io::BufReader::with_capacity(1 << 20, file))? {
            Ok(ids) => ids,
            Err(errors) => return Ok(Err(errors)),
        };
        db.write_blocking(|conn| {
            affected::replace_subject_ids(
                conn,
                &who.tenant_id,
                &id,
                ids.iter().map(String::as_str),
            )?;
            recompute_audited(conn, &runbooks, &who, &id, "incident.scope")
        })
        .map(Ok)
    })
    .await
    .map_err(|e| AppError::Unexpected(anyhow::anyhow!("upload task failed: {e}")))??;
    Ok(match outcome {
        Ok(state) => {
            purge_later(&background, incident_id);
            HttpResponse::Ok().json(scope_view(&state))
        }
        Err(InvalidLines { errors, total }) => line_problem(
            format!("{total} line(s) are not valid external ids; the scope is unchanged"),
            &errors,
            total,
        ),
    })
}

/// The rejected lines of an id list: the first [`MAX_LISTED_ERRORS`], and how many.
struct InvalidLines {
    errors: Vec<LineError>,
    total: u64,
}

/// One external id per line (blank lines skipped), sorted and without
/// repeats; or the invalid lines. Lines end in LF, CRLF or a lone CR (the
/// "CSV (Macintosh)" export), so a CR is never part of an id.
fn read_id_list(mut reader: impl BufRead) -> AppResult<Result<Vec<String>, InvalidLines>> {
    let (mut ids, mut errors, mut total) = (Vec::new(), Vec::new(), 0u64);
    let mut chunk = Vec::new();
    let mut number = 0u64;
    loop {
        chunk.clear();
        let n = reader
            .read_until(b'\n', &mut chunk)
            .map_err(|e| AppError::Unexpected(e.into()))?;
        if n == 0 {
            break;
        }
        let body = chunk.strip_suffix(b"\n").unwrap_or(&chunk);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        // UTF-8 never uses the byte 0x0D inside a character, so splitting the
        // bytes on CR splits the text on CR.
        for line in body.split(|&byte| byte == b'\r') {
            number += 1;
            match id_on_line(line) {
                Ok(Some(id)) => ids.push(id),
                Ok(None) => {}
                Err(reason) => {
                    total += 1;
                    if errors.len() < MAX_LISTED_ERRORS {
                        errors.push(LineError {
                            line: number,
                            field: "external_id".into(),
                            reason,
                        });
                    }
                }
            }
        }
    }
    if total > 0 {
        return Ok(Err(InvalidLines { errors, total }));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(Ok(ids))
}

/// The external id on one line without its terminator: none on a blank line.
fn id_on_line(line: &[u8]) -> Result<Option<String>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not valid UTF-8".to_owned())?;
    if text.trim().is_empty() {
        Ok(None)
    } else {
        external_id(text).map(Some)
    }
}

async fn recompute_affected(
    who: Principal,
    db: web::Data<Db>,
    runbooks: web::Data<Library>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_edit_subjects(), "recompute affected sets")?;
    let incident_id = id.clone();
    let state = db
        .write(move |conn| recompute_audited(conn, &runbooks, &who, &id, "affected.recompute"))
        .await?;
    purge_later(&db, incident_id);
    Ok(HttpResponse::Ok().json(state.summary_json()))
}

/// Aggregate counts only, so every role may read them.
async fn get_affected_summary(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let state = db
        .read(move |conn| affected::get_scope(conn, &who.tenant_id, &id))
        .await?;
    Ok(HttpResponse::Ok().json(state.summary_json()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AffectedQuery {
    after: Option<String>,
    limit: Option<i64>,
    format: Option<String>,
}

async fn list_affected(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    query: web::Query<AffectedQuery>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_read_subjects(), "read affected people")?;
    let id = id.into_inner();
    match query.format.as_deref() {
        Some("csv") => export_csv(who, db, id).await,
        None | Some("json") => {
            let limit = page_limit(query.limit)?;
            let after = super::cursor("after", query.after.clone())?;
            let items = db
                .read(move |conn| {
                    affected::get_scope(conn, &who.tenant_id, &id)?;
                    affected::page(conn, &who.tenant_id, &id, after.as_deref(), limit)
                })
                .await?;
            let next = (items.len() as i64 == limit)
                .then(|| items.last().map(|r| r.external_id.clone()))
                .flatten();
            let items: Vec<Value> = items.iter().map(affected::AffectedRow::to_json).collect();
            Ok(HttpResponse::Ok().json(json!({ "items": items, "next_after": next })))
        }
        Some(_) => Err(AppError::field("format", "expected json or csv")),
    }
}

/// Streams the whole set as CSV, one database read per page (no connection
/// is held while the client receives).
async fn export_csv(who: Principal, db: web::Data<Db>, id: String) -> AppResult<HttpResponse> {
    let (tenant, incident) = (who.tenant_id.clone(), id.clone());
    db.read(move |conn| affected::get_scope(conn, &tenant, &incident))
        .await?;
    let header = csv_lines(std::iter::once(CSV_HEADER.map(str::to_owned)))?;
    let state = Some((who.tenant_id, id, None::<String>));
    let pages = futures_util::stream::unfold(state, move |state| {
        let db = db.clone();
        async move {
            let (tenant, incident, after) = state?;
            let (t, i, a) = (tenant.clone(), incident.clone(), after.clone());
            let page = db
                .read(move |conn| affected::page(conn, &t, &i, a.as_deref(), EXPORT_PAGE))
                .await;
            match page {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let last = rows.last().map(|r| r.external_id.clone());
                    let next =
                        (rows.len() as i64 == EXPORT_PAGE).then_some((tenant, incident, last));
                    Some((
                        csv_lines(rows.iter().map(affected::AffectedRow::csv_record)),
                        next,
                    ))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    let body = futures_util::stream::once(async move { Ok::<_, AppError>(header) }).chain(pages);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"affected.csv\"",
        ))
        .streaming(body))
}

pub(super) fn csv_lines<const N: usize>(
    records: impl Iterator<Item = [String; N]>,
) -> AppResult<Bytes> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in records {
        writer
            .write_record(&record)
            .map_err(|e| AppError::Unexpected(e.into()))?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("csv: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        match read_id_list(text.as_bytes()) {
            Ok(Ok(ids)) => ids,
            Ok(Err(invalid)) => panic!("rejected: {:?}", invalid.errors),
            Err(e) => panic!("failed: {e}"),
        }
    }

    fn rejected_lines(bytes: &[u8]) -> Vec<u64> {
        match read_id_list(bytes) {
            Ok(Err(invalid)) => invalid.errors.iter().map(|e| e.line).collect(),
            Ok(Ok(ids)) => panic!("accepted: {ids:?}"),
            Err(e) => panic!("failed: {e}"),
        }
    }

    #[test]
    fn lines_end_in_lf_crlf_or_a_lone_cr() {
        let expected = vec!["A-1".to_owned(), "B-2".to_owned(), "C-3".to_owned()];
        assert_eq!(ids("A-1\nB-2\nC-3\n"), expected);
        assert_eq!(ids("A-1\r\nB-2\r\nC-3"), expected);
        assert_eq!(ids("A-1\rB-2\rC-3\r"), expected);
        assert_eq!(ids("C-3\rA-1\r\n\r\nB-2\nA-1"), expected);
    }

    #[test]
    fn rejected_lines_are_numbered_across_every_line_ending() {
        assert_eq!(rejected_lines(b"A-1\rB\x01\r\nC-3\n\xff\n"), vec![2, 4]);
    }
}
