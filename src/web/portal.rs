//! The regulator's read-only portal, no login: a share link (`/r/{token}`) lists
//! the reports an admin shared and their versions; each version opens as HTML, PDF
//! or JSON (`/r/{token}/reports/{r}`, `.html`, `.pdf`, `.json`). It never shows
//! people, affected lists, other reports or other incidents. An unknown token or a
//! version the link does not cover is 404; an expired or revoked link is 401. Every
//! page and file served is counted on the link and written to the audit log.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use handlebars::html_escape;
use serde_json::{Value, json};

use crate::audit::{self, AuditEvent};
use crate::db::{Db, DbConnection};
use crate::domain::{format_instant, now_micros};
use crate::error::{AppError, AppResult};
use crate::reports::Reports;
use crate::store::reports::{self as stored, ShareRow};
use crate::web::api::reports::{Format, Rendered, render, summary_view};

/// Registers the portal routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/r/{token}", web::get().to(portal_index))
        .route("/r/{token}/reports/{r}", web::get().to(portal_report));
}

/// The live link a token opens, or why not.
fn open(conn: &mut DbConnection, token: &str) -> AppResult<ShareRow> {
    let share = stored::share_by_token(conn, token)?
        .ok_or_else(|| AppError::NotFound("report link".into()))?;
    if share.revoked_at.is_some() {
        return Err(AppError::TokenRefused("this report link was revoked"));
    }
    if now_micros() >= share.expires_at {
        return Err(AppError::TokenRefused("this report link has expired"));
    }
    Ok(share)
}

/// Counts and audits one view through `share`.
fn viewed(
    conn: &mut DbConnection,
    share: &ShareRow,
    target: String,
    details: Value,
) -> AppResult<()> {
    stored::record_view(conn, share)?;
    audit::append(
        conn,
        &share.tenant_id,
        AuditEvent {
            actor: format!("share:{}:{}", share.id, share.regulator),
            action: "report.portal_view",
            target,
            details,
        },
    )
}

async fn portal_index(
    req: HttpRequest,
    db: web::Data<Db>,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = token.into_inner();
    let link = token.clone();
    let wants_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    let (share, items) = db
        .write(move |conn| {
            let share = open(conn, &token)?;
            let rows: Vec<_> = stored::list(conn, &share.tenant_id, &share.incident_id)?
                .into_iter()
                .filter(|row| share.covers(row))
                .collect();
            viewed(
                conn,
                &share,
                format!("incident:{}", share.incident_id),
                json!({ "page": "index", "versions": rows.len() }),
            )?;
            let items = rows
                .iter()
                .map(summary_view)
                .collect::<AppResult<Vec<Value>>>()?;
            Ok((share, items))
        })
        .await?;
    if wants_json {
        return Ok(Rendered::Json(json!({
            "regulator": share.regulator,
            "incident_id": share.incident_id,
            "expires_at": format_instant(share.expires_at),
            "items": items,
        }))
        .response());
    }
    Ok(Rendered::Html(index_page(&share, &link, &items)).response())
}

fn index_page(share: &ShareRow, token: &str, items: &[Value]) -> String {
    let token = html_escape(token);
    let text = |v: &Value| html_escape(v.as_str().unwrap_or(""));
    let rows: String = items
        .iter()
        .map(|item| {
            let id = text(&item["id"]);
            let status = if item["submitted"].is_null() {
                "not submitted".to_owned()
            } else {
                format!("submitted {}", text(&item["submitted"]["submitted_at"]))
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>\
                 <td><a href=\"{token}/reports/{id}.html\">HTML</a> · <a href=\"{token}/reports/{id}.pdf\">PDF</a> · \
                 <a href=\"{token}/reports/{id}.json\">JSON</a></td></tr>",
                text(&item["regime"]),
                text(&item["phase"]),
                item["version"],
                text(&item["created_at"]),
                &text(&item["sha256"])[..16.min(text(&item["sha256"]).len())],
                status,
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Reports shared with {regulator}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}</style>\
         </head><body><h1>Reports shared with {regulator}</h1>\
         <p>Incident <code>{incident}</code>. This link works until {expires}.</p>\
         <table><thead><tr><th>Regime</th><th>Report</th><th>Version</th><th>Generated</th><th>SHA-256</th><th>Status</th><th>Open</th></tr></thead>\
         <tbody>{rows}</tbody></table></body></html>",
        regulator = html_escape(&share.regulator),
        incident = html_escape(&share.incident_id),
        expires = format_instant(share.expires_at),
    )
}

async fn portal_report(
    req: HttpRequest,
    db: web::Data<Db>,
    reports: web::Data<Reports>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (token, segment) = path.into_inner();
    let (report_id, format) = Format::of(&req, &segment);
    let report_id = report_id.to_owned();
    let rendered = db
        .write(move |conn| {
            let share = open(conn, &token)?;
            let row = stored::get(conn, &share.tenant_id, &share.incident_id, &report_id)
                .ok()
                .filter(|row| share.covers(row))
                .ok_or_else(|| AppError::NotFound(format!("report {report_id}")))?;
            viewed(
                conn,
                &share,
                format!("report:{}", row.id),
                json!({ "incident": row.incident_id, "regime": row.regime, "phase": row.phase,
                    "version": row.version, "format": format!("{format:?}").to_lowercase() }),
            )?;
            render(&reports, &row, format)
        })
        .await?;
    Ok(rendered.response())
}
