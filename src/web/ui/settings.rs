//! Tenant settings for admins: the profile as the regimes see it, the people who
//! sign in (and adding one, with their one-time set-password link shown once), and
//! the API tokens (never their secrets).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::form::FormData;
use super::page;
use super::session::{SignedIn, UiResult};
use super::view::{self, Pages};
use crate::accounts::SessionPolicy;
use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::domain::{FieldError, Role, now_micros};
use crate::error::{AppError, AppResult};
use crate::store::{tenants, tokens, users};

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(settings_page))
        .route("/settings/users", web::post().to(create_user));
}

async fn settings_page(signed: SignedIn, db: web::Data<Db>) -> UiResult<HttpResponse> {
    show(&signed, &db, StatusCode::OK, None, &[], None).await
}

async fn show(
    signed: &SignedIn,
    db: &Db,
    status: StatusCode,
    link: Option<(String, String)>,
    errors: &[FieldError],
    posted: Option<&FormData>,
) -> UiResult<HttpResponse> {
    signed.who.require(
        signed.who.role.can_manage_users(),
        "manage the tenant's settings",
    )?;
    let tenant_id = signed.who.tenant_id.clone();
    let (tenant, people, tokens) = db
        .read(move |conn| {
            Ok((
                tenants::get(conn, &tenant_id)?.to_tenant()?,
                users::list(conn, &tenant_id)?,
                tokens::list(conn, &tenant_id)?,
            ))
        })
        .await?;
    let tz = signed.tz;
    let error_of = |f: &str| {
        errors
            .iter()
            .find(|e| e.field == f)
            .map(|e| e.reason.clone())
    };
    let roles: Vec<Value> = Role::ALL
        .iter()
        .map(|r| json!({ "value": r.as_str(), "selected": posted.and_then(|p| p.get("role")) == Some(r.as_str()) }))
        .collect();
    let data = json!({
        "tenant": serde_json::to_value(&tenant).map_err(|e| AppError::Unexpected(e.into()))?,
        "users": people.iter().map(|u| json!({
            "email": u.email, "role": u.role, "password_set": u.password_hash.is_some(),
            "disabled": u.disabled_at.is_some(), "created": view::instant(u.created_at, tz),
        })).collect::<Vec<_>>(),
        "tokens": tokens.iter().map(|t| json!({
            "id": t.id, "name": t.name, "role": t.role, "created": view::instant(t.created_at, tz),
            "revoked": t.revoked_at.map(|at| view::instant(at, tz)),
        })).collect::<Vec<_>>(),
        "roles": roles,
        "email": posted.and_then(|p| p.get("email")).unwrap_or_default(),
        "email_error": error_of("email"),
        "role_error": error_of("role"),
        "link": link.map(|(email, url)| json!({ "email": email, "url": url })),
        "chrome": super::incidents::chrome(signed, "/settings"),
    });
    Ok(page(
        status,
        Pages::get()?.render("settings", signed.lang, data)?,
    ))
}

/// Adds a person (admin only, audited) and shows their set-password link once.
async fn create_user(
    signed: SignedIn,
    db: web::Data<Db>,
    settings: web::Data<PublicUrl>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    signed
        .who
        .require(signed.who.role.can_manage_users(), "add users")?;
    let role = match form.get("role").unwrap_or_default().parse::<Role>() {
        Ok(role) => role,
        Err(reason) => {
            let errors = [FieldError::new("role", reason)];
            return show(
                &signed,
                &db,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &errors,
                Some(&form),
            )
            .await;
        }
    };
    let email = form.get("email").unwrap_or_default().to_owned();
    let who = signed.who.clone();
    let created: AppResult<(String, String)> = db
        .write(move |conn| {
            let now = now_micros();
            let user = users::create(conn, &who.tenant_id, &email, role, now)?;
            let token = users::create_password_link(conn, &user, &SessionPolicy::default(), now)?;
            audit::append(
                conn,
                &who.tenant_id,
                AuditEvent {
                    actor: who.actor(),
                    action: "user.create",
                    target: format!("user:{}", user.id),
                    details: json!({ "email": user.email, "role": user.role }),
                },
            )?;
            Ok((user.email, token))
        })
        .await;
    match created {
        Ok((email, token)) => {
            let url = format!("{}/set-password/{token}", settings.0);
            show(
                &signed,
                &db,
                StatusCode::CREATED,
                Some((email, url)),
                &[],
                None,
            )
            .await
        }
        Err(AppError::Validation(errors)) => {
            show(
                &signed,
                &db,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &errors,
                Some(&form),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// The base of links the service hands out (`BREACHLINE_PUBLIC_URL`).
#[derive(Debug, Clone)]
pub struct PublicUrl(pub String);
