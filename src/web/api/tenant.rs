//! The caller's tenant: profile with establishments, commitments and closure days.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::JsonObject;
use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::error::AppResult;
use crate::runbooks::Library;
use crate::store::tenants::{self, Tenant};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/tenant", web::get().to(get_tenant))
        .route("/tenant/profile", web::put().to(update_tenant_profile));
}

async fn get_tenant(who: Principal, db: web::Data<Db>) -> AppResult<HttpResponse> {
    let role = who.role;
    let view = db
        .read(move |conn| tenants::get(conn, &who.tenant_id)?.to_tenant())
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "tenant": view, "role": role })))
}

async fn update_tenant_profile(
    who: Principal,
    db: web::Data<Db>,
    runbooks: web::Data<Library>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let view = update_profile(who, &db, runbooks, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Validates and replaces the tenant's profile (admin only), recomputes the open
/// incidents' obligations and audits the change: the one way to change the
/// profile, for the API and the web UI.
pub(crate) async fn update_profile(
    who: Principal,
    db: &Db,
    runbooks: web::Data<Library>,
    profile: Map<String, Value>,
) -> AppResult<Tenant> {
    who.require(
        who.role == crate::domain::Role::Admin,
        "change the tenant profile",
    )?;
    db.write(move |conn| {
        let view = tenants::update_profile(conn, &runbooks, &who.tenant_id, profile)?;
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "tenant.profile",
                target: format!("tenant:{}", view.slug),
                details: json!({ "establishments": view.establishments, "profile": view.profile }),
            },
        )?;
        Ok(view)
    })
    .await
}
