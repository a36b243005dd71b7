//! `GET /api/v1/audit`: the tenant's audit log, oldest first.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::page_limit;
use crate::audit;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list_audit_entries));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn list_audit_entries(
    who: Principal,
    db: web::Data<Db>,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_read_audit(), "read the audit log")?;
    let limit = page_limit(query.limit)?;
    let after = match query.after {
        Some(n) if n < 0 => return Err(AppError::field("after", "must be a sequence number ≥ 0")),
        other => other.unwrap_or(0),
    };
    let tenant = who.tenant_id.clone();
    let entries = db
        .read(move |conn| audit::list(conn, &tenant, after, limit))
        .await?;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "items": entries, "next_after": next })))
}
