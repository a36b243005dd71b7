//! Tenant settings for admins: the profile as the regimes and the notices see it
//! (edited through the API's own profile update), the people who sign in (adding
//! one with their one-time set-password link shown once, changing a role,
//! disabling and enabling), and the API tokens (created with the secret shown once,
//! revoked; both audited by the same store functions the command line uses).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::{Map, Value, json};

use super::fields::{Source, fields, other_errors};
use super::form::{self, FormData, Kind, Mode};
use super::session::{SignedIn, UiError, UiResult};
use super::view::{self, Pages};
use super::{page, see_other};
use crate::accounts::SessionPolicy;
use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::domain::{FieldError, Role, now_micros};
use crate::error::{AppError, AppResult};
use crate::runbooks::Library;
use crate::store::{tenants, tokens, users};
use crate::web::api;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(settings_page))
        .route("/settings/profile", web::post().to(update_profile))
        .route("/settings/users", web::post().to(create_user))
        .route("/settings/users/{user}/role", web::post().to(change_role))
        .route(
            "/settings/users/{user}/disabled",
            web::post().to(set_disabled),
        )
        .route("/settings/tokens", web::post().to(create_token))
        .route(
            "/settings/tokens/{token}/revoke",
            web::post().to(revoke_token),
        );
}

/// The profile form in groups (legend word, fields), field names being the paths
/// of the API's profile body. Commitments and the public-announcement policy have
/// no natural form and are edited as JSON.
const PROFILE_GROUPS: &[(&str, &[(&str, Kind)])] = &[
    (
        "regimes_and_calendars",
        &[
            ("establishments", Kind::Lines),
            ("closures", Kind::Lines),
            ("commitments", Kind::Json),
            ("public_announcement", Kind::Json),
        ],
    ),
    (
        "channel_policy",
        &[
            ("notices.channels", Kind::Lines),
            ("notices.channels_only", Kind::Bool),
            ("notices.sms_max_segments", Kind::Count),
            ("notices.authoritative_locale", Kind::Text),
            ("notices.email_from", Kind::Text),
            ("notices.reply_to", Kind::Text),
        ],
    ),
    (
        "send_window",
        &[
            ("notices.send_window.start", Kind::Text),
            ("notices.send_window.end", Kind::Text),
            ("notices.send_window.time_zone", Kind::Text),
            ("notices.send_window.channels", Kind::Words),
        ],
    ),
    (
        "unit_costs",
        &[
            ("notices.unit_costs.currency", Kind::Text),
            ("notices.unit_costs.email", Kind::Number),
            ("notices.unit_costs.sms", Kind::Number),
            ("notices.unit_costs.push", Kind::Number),
            ("notices.unit_costs.letter", Kind::Number),
            ("notices.unit_costs.phone", Kind::Number),
        ],
    ),
];

/// Parts of the stored profile the form does not edit, passed through unchanged
/// (the team webhook's secret is never shown, so it cannot come back from a form).
const KEPT_AS_STORED: [&str; 2] = ["team", "reminders"];

fn profile_fields() -> Vec<(&'static str, Kind)> {
    PROFILE_GROUPS
        .iter()
        .flat_map(|(_, defs)| defs.iter().copied())
        .collect()
}

/// What a post left for the page to show.
#[derive(Default)]
struct Outcome<'a> {
    /// Which form: `profile`, `user`, `token`, `user-<id>`, `token-<id>`.
    form: String,
    errors: Vec<FieldError>,
    message: Option<String>,
    posted: Option<&'a FormData>,
    /// A new person's address and set-password link, shown once.
    link: Option<(String, String)>,
    /// A new token's name and bearer string, shown once.
    bearer: Option<(String, String)>,
}

impl Outcome<'_> {
    fn of(&self, form: &str) -> Option<&Self> {
        (self.form == form).then_some(self)
    }
}

async fn settings_page(signed: SignedIn, db: web::Data<Db>) -> UiResult<HttpResponse> {
    show(&signed, &db, StatusCode::OK, Outcome::default()).await
}

fn require_admin(signed: &SignedIn) -> AppResult<()> {
    signed.who.require(
        signed.who.role.can_manage_users(),
        "manage the tenant's settings",
    )
}

async fn show(
    signed: &SignedIn,
    db: &Db,
    status: StatusCode,
    outcome: Outcome<'_>,
) -> UiResult<HttpResponse> {
    require_admin(signed)?;
    let tenant_id = signed.who.tenant_id.clone();
    let (tenant, notices, people, tokens) = db
        .read(move |conn| {
            let row = tenants::get(conn, &tenant_id)?;
            Ok((
                row.to_tenant()?,
                tenants::notice_settings(&row)?,
                users::list(conn, &tenant_id)?,
                tokens::list(conn, &tenant_id)?,
            ))
        })
        .await?;
    let tz = signed.tz;
    let mut stored = tenant.profile.clone();
    if let Some(map) = stored.as_object_mut() {
        map.insert("establishments".into(), json!(tenant.establishments));
        map.insert("notices".into(), to_value(&notices)?);
    }
    let profile = outcome.of("profile");
    let profile_errors = profile.map(|o| o.errors.clone()).unwrap_or_default();
    let source = match profile.and_then(|o| o.posted) {
        Some(posted) => Source::Posted(posted),
        None => Source::Stored(&stored),
    };
    let groups = PROFILE_GROUPS
        .iter()
        .map(|(legend, defs)| {
            Ok(json!({
                "legend": Pages::get()?.word(signed.lang, legend),
                "fields": fields(signed, "profile", defs, &source, &profile_errors)?,
            }))
        })
        .collect::<AppResult<Vec<Value>>>()?;
    let error_of = |form: &str, f: &str| {
        outcome
            .of(form)
            .and_then(|o| o.errors.iter().find(|e| e.field == f))
            .map(|e| e.reason.clone())
    };
    let posted_of = |form: &str, f: &str| {
        outcome
            .of(form)
            .and_then(|o| o.posted)
            .and_then(|p| p.get(f))
            .unwrap_or_default()
            .to_owned()
    };
    let roles = |chosen: &str| -> Vec<Value> {
        Role::ALL
            .iter()
            .map(|r| json!({ "value": r.as_str(), "selected": r.as_str() == chosen }))
            .collect()
    };
    let message_of = |form: &str| outcome.of(form).and_then(|o| o.message.clone());
    let data = json!({
        "tenant": to_value(&tenant)?,
        "profile": {
            "groups": groups,
            "other_errors": other_errors(&profile_fields(), &profile_errors),
            "message": message_of("profile"),
        },
        "users": people.iter().map(|u| json!({
            "id": u.id, "email": u.email, "role": u.role, "password_set": u.password_hash.is_some(),
            "disabled": u.disabled_at.is_some(), "created": view::instant(u.created_at, tz),
            "roles": roles(&u.role), "is_me": u.id == signed.user.id,
            "message": message_of(&format!("user-{}", u.id)),
        })).collect::<Vec<_>>(),
        "tokens": tokens.iter().map(|t| json!({
            "id": t.id, "name": t.name, "role": t.role, "created": view::instant(t.created_at, tz),
            "revoked": t.revoked_at.map(|at| view::instant(at, tz)),
            "message": message_of(&format!("token-{}", t.id)),
        })).collect::<Vec<_>>(),
        "roles": roles(&posted_of("user", "role")),
        "email": posted_of("user", "email"),
        "email_error": error_of("user", "email"),
        "role_error": error_of("user", "role"),
        "link": outcome.link.as_ref().map(|(email, url)| json!({ "email": email, "url": url })),
        "token_roles": roles(&posted_of("token", "role")),
        "token_name": posted_of("token", "name"),
        "token_name_error": error_of("token", "name"),
        "token_role_error": error_of("token", "role"),
        "bearer": outcome.bearer.as_ref().map(|(name, bearer)| json!({ "name": name, "value": bearer })),
        "chrome": super::incidents::chrome(signed, "/settings"),
    });
    Ok(page(
        status,
        Pages::get()?.render("settings", signed.lang, data)?,
    ))
}

/// A view as JSON for the page.
fn to_value<T: serde::Serialize>(value: &T) -> AppResult<Value> {
    serde_json::to_value(value).map_err(|e| AppError::Unexpected(e.into()))
}

/// After a post: back to the section on success; the page again with the
/// refusal next to the form on a validation error or a conflict.
async fn after(
    signed: &SignedIn,
    db: &Db,
    result: AppResult<()>,
    mut outcome: Outcome<'_>,
    anchor: &str,
) -> UiResult<HttpResponse> {
    let status = match result {
        Ok(()) => return Ok(see_other(&format!("/settings#{anchor}"))),
        Err(AppError::Validation(errors)) => {
            outcome.errors = errors;
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e @ (AppError::Conflict(_) | AppError::NotFound(_))) => {
            outcome.message = Some(e.to_string());
            e.status_code()
        }
        Err(other) => return Err(UiError::App(other)),
    };
    show(signed, db, status, outcome).await
}

/// Replaces the tenant profile through the API's own update (admin only, audited,
/// obligations recomputed); the parts the form does not edit are kept as stored.
async fn update_profile(
    signed: SignedIn,
    db: web::Data<Db>,
    runbooks: web::Data<Library>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    require_admin(&signed)?;
    let mut body = form::to_json(&form, &profile_fields(), signed.tz, Mode::Create);
    let tenant_id = signed.who.tenant_id.clone();
    let stored: Map<String, Value> = db
        .read(move |conn| {
            let row = tenants::get(conn, &tenant_id)?;
            serde_json::from_str(&row.profile).map_err(|e| AppError::Unexpected(e.into()))
        })
        .await?;
    for key in KEPT_AS_STORED {
        if let Some(value) = stored.get(key).filter(|v| !v.is_null()) {
            body.insert(key.to_owned(), value.clone());
        }
    }
    let result = api::tenant::update_profile(signed.who.clone(), &db, runbooks, body)
        .await
        .map(drop);
    let outcome = Outcome {
        form: "profile".into(),
        posted: Some(&form),
        ..Outcome::default()
    };
    after(&signed, &db, result, outcome, "profile").await
}

/// Adds a person (admin only, audited) and shows their set-password link once.
async fn create_user(
    signed: SignedIn,
    db: web::Data<Db>,
    settings: web::Data<PublicUrl>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    require_admin(&signed)?;
    let outcome = Outcome {
        form: "user".into(),
        posted: Some(&form),
        ..Outcome::default()
    };
    let role = match role_of(&form) {
        Ok(role) => role,
        Err(e) => return after(&signed, &db, Err(e), outcome, "users").await,
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
            let outcome = Outcome {
                link: Some((email, url)),
                ..Outcome::default()
            };
            show(&signed, &db, StatusCode::CREATED, outcome).await
        }
        Err(e) => after(&signed, &db, Err(e), outcome, "users").await,
    }
}

/// The form's `role`, or the error the API gives for a role it does not know.
fn role_of(form: &FormData) -> AppResult<Role> {
    form.get("role")
        .unwrap_or_default()
        .parse::<Role>()
        .map_err(|reason| AppError::field("role", reason))
}

type UserPath = web::Path<String>;

/// Refuses an admin's change to their own account (no admin locks themselves out).
fn not_myself(signed: &SignedIn, user_id: &str) -> AppResult<()> {
    if signed.user.id == user_id {
        return Err(AppError::Conflict(
            "you cannot change your own role or disable yourself; ask another admin".into(),
        ));
    }
    Ok(())
}

/// Gives a person another role (admin only, audited as `user.role`).
async fn change_role(
    signed: SignedIn,
    db: web::Data<Db>,
    user: UserPath,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    require_admin(&signed)?;
    let user_id = user.into_inner();
    let who = signed.who.clone();
    let id = user_id.clone();
    let result = match role_of(&form).and_then(|role| not_myself(&signed, &id).map(|()| role)) {
        Ok(role) => {
            db.write(move |conn| {
                let before = users::get(conn, &who.tenant_id, &id)?;
                let user = users::set_role(conn, &who.tenant_id, &id, role, now_micros())?;
                audit::append(
                    conn,
                    &who.tenant_id,
                    AuditEvent {
                        actor: who.actor(),
                        action: "user.role",
                        target: format!("user:{}", user.id),
                        details: json!({ "email": user.email, "from": before.role, "to": user.role }),
                    },
                )
            })
            .await
        }
        Err(e) => Err(e),
    };
    let outcome = Outcome {
        form: format!("user-{user_id}"),
        ..Outcome::default()
    };
    after(&signed, &db, flatten_field_errors(result), outcome, "users").await
}

/// Disables a person or enables them again (admin only, audited as `user.disable`
/// or `user.enable`); disabling ends their sessions.
async fn set_disabled(
    signed: SignedIn,
    db: web::Data<Db>,
    user: UserPath,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    require_admin(&signed)?;
    let user_id = user.into_inner();
    let disabled = match form.get("disabled") {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(AppError::field("disabled", "must be true or false")),
    };
    let who = signed.who.clone();
    let id = user_id.clone();
    let result = match disabled.and_then(|d| not_myself(&signed, &id).map(|()| d)) {
        Ok(disabled) => {
            db.write(move |conn| {
                let user = users::set_disabled(conn, &who.tenant_id, &id, disabled, now_micros())?;
                audit::append(
                    conn,
                    &who.tenant_id,
                    AuditEvent {
                        actor: who.actor(),
                        action: if disabled {
                            "user.disable"
                        } else {
                            "user.enable"
                        },
                        target: format!("user:{}", user.id),
                        details: json!({ "email": user.email }),
                    },
                )
            })
            .await
        }
        Err(e) => Err(e),
    };
    let outcome = Outcome {
        form: format!("user-{user_id}"),
        ..Outcome::default()
    };
    after(&signed, &db, flatten_field_errors(result), outcome, "users").await
}

/// A row's small form has no inputs to put an error beside: its field errors
/// become the row's message.
fn flatten_field_errors<T>(result: AppResult<T>) -> AppResult<()> {
    match result {
        Ok(_) => Ok(()),
        Err(AppError::Validation(errors)) => Err(AppError::Conflict(
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        Err(other) => Err(other),
    }
}

/// Creates an API token (admin only, audited as `token.create`) and shows its
/// secret once, on this response only; it is neither stored nor logged.
async fn create_token(
    signed: SignedIn,
    db: web::Data<Db>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    require_admin(&signed)?;
    let outcome = Outcome {
        form: "token".into(),
        posted: Some(&form),
        ..Outcome::default()
    };
    let role = match role_of(&form) {
        Ok(role) => role,
        Err(e) => return after(&signed, &db, Err(e), outcome, "tokens").await,
    };
    let name = form.get("name").unwrap_or_default().to_owned();
    let who = signed.who.clone();
    let created = db
        .write(move |conn| tokens::create_audited(conn, &who.tenant_id, role, &name, who.actor()))
        .await;
    match created {
        Ok((row, bearer)) => {
            let outcome = Outcome {
                bearer: Some((row.name, bearer)),
                ..Outcome::default()
            };
            show(&signed, &db, StatusCode::CREATED, outcome).await
        }
        Err(e) => after(&signed, &db, Err(e), outcome, "tokens").await,
    }
}

/// Revokes an API token (admin only, audited as `token.revoke`).
async fn revoke_token(
    signed: SignedIn,
    db: web::Data<Db>,
    token: web::Path<String>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    require_admin(&signed)?;
    let token_id = token.into_inner();
    let who = signed.who.clone();
    let id = token_id.clone();
    let result = db
        .write(move |conn| tokens::revoke_audited(conn, &who.tenant_id, &id, who.actor()))
        .await
        .map(drop);
    let outcome = Outcome {
        form: format!("token-{token_id}"),
        ..Outcome::default()
    };
    after(&signed, &db, result, outcome, "tokens").await
}

/// The base of links the service hands out (`BREACHLINE_PUBLIC_URL`).
#[derive(Debug, Clone)]
pub struct PublicUrl(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_field_and_group_has_a_label_in_every_language() {
        let pages = Pages::get().unwrap();
        for lang in super::super::i18n::Lang::ALL {
            for (legend, defs) in PROFILE_GROUPS {
                assert_ne!(pages.word(lang, legend), *legend, "{}", lang.tag());
                for (name, _) in *defs {
                    let key = name.replace('.', "_");
                    assert_ne!(pages.word(lang, &key), key, "{name} in {}", lang.tag());
                }
            }
        }
    }
}
