//! Sign-in, set-password, sign-out and the user's preferences.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::form::FormData;
use super::i18n::Lang;
use super::session::{self, SignedIn, UiResult};
use super::view::Pages;
use super::{page, see_other};
use crate::accounts::{self, SessionPolicy, ThrottlePolicy, Throttled};
use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::domain::{FieldError, now_micros};
use crate::error::AppError;
use crate::store::users::{self, UserRow};
use crate::web::auth::{self, Principal};

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// Only a path of ours: never `//host` or a scheme, so sign-in cannot redirect away.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/incidents".to_owned(),
    }
}

/// The reason of the first error for each of `fields` (null when none): every key
/// is present, as the templates' strict mode wants.
fn errors_map(fields: &[&str], errors: &[FieldError]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|f| {
                let reason = errors
                    .iter()
                    .find(|e| e.field == *f)
                    .map(|e| e.reason.clone());
                ((*f).to_owned(), json!(reason))
            })
            .collect(),
    )
}

fn sign_in_html(
    req: &HttpRequest,
    status: StatusCode,
    next: &str,
    email: &str,
    message: Option<String>,
    notice: Option<String>,
) -> UiResult<HttpResponse> {
    let lang = Lang::from_request(req, None);
    let (csrf, cookie) = session::pre_session_token(req);
    let html = Pages::get()?.render(
        "sign_in",
        lang,
        json!({ "csrf": csrf, "next": next, "email": email, "message": message, "notice": notice, "chrome": null }),
    )?;
    let mut response = page(status, html);
    if let Some(cookie) = cookie {
        response.headers_mut().append(
            header::SET_COOKIE,
            header::HeaderValue::from_str(&cookie).map_err(|e| AppError::Unexpected(e.into()))?,
        );
    }
    Ok(response)
}

pub(super) async fn sign_in_page(
    req: HttpRequest,
    query: web::Query<NextQuery>,
) -> UiResult<HttpResponse> {
    let next = safe_next(query.next.as_deref());
    let notice = query.signed_out.as_ref().map(|_| {
        Pages::get()
            .map(|p| p.word(Lang::from_request(&req, None), "signed_out"))
            .unwrap_or_default()
    });
    sign_in_html(&req, StatusCode::OK, &next, "", None, notice)
}

/// Checks the throttle, then the password (off the executor: argon2 is slow on
/// purpose), then starts a session. Every outcome for a known account is audited
/// in its tenant's log; unknown addresses are counted against the client address.
pub(super) async fn sign_in(
    req: HttpRequest,
    db: web::Data<Db>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    session::check_pre_session_token(&req, form.csrf())?;
    let lang = Lang::from_request(&req, None);
    let pages = Pages::get()?;
    let next = safe_next(form.get("next"));
    let email = form.get("email").unwrap_or_default().trim().to_lowercase();
    let password = form.get("password").unwrap_or_default().to_owned();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let (account_key, address_key) = (
        accounts::account_key(&email),
        accounts::address_key(&address),
    );
    let throttle = ThrottlePolicy::default();
    let now = now_micros();
    let (keys, e) = ((account_key.clone(), address_key.clone()), email.clone());
    let (user, account_failures, address_failures) = db
        .read(move |conn| {
            let since = throttle.since(now);
            Ok((
                users::find_by_email(conn, &e)?,
                users::count_failures(conn, &keys.0, since)?,
                users::count_failures(conn, &keys.1, since)?,
            ))
        })
        .await?;
    if let Some(why) = throttle.check(account_failures, address_failures) {
        if let Some(user) = user.clone() {
            let reason = match why {
                Throttled::Account => "account",
                Throttled::Address => "address",
            };
            db.write(move |conn| {
                audit::append(
                    conn,
                    &user.tenant_id,
                    user_event(
                        &user,
                        "user.sign_in_throttled",
                        json!({ "throttled_by": reason }),
                    ),
                )
            })
            .await?;
        }
        tracing::warn!(throttled_by = ?why, "sign-in refused by throttling");
        return sign_in_html(
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &email,
            Some(pages.word(lang, "throttled")),
            None,
        );
    }
    let stored = user
        .as_ref()
        .filter(|u| u.disabled_at.is_none())
        .and_then(|u| u.password_hash.clone());
    let matches = web::block(move || {
        let hash = stored.as_deref().unwrap_or_else(|| accounts::decoy_hash());
        accounts::verify_password(&password, hash) && stored.is_some()
    })
    .await
    .map_err(|e| AppError::Unexpected(anyhow::anyhow!("password check: {e}")))?;
    let policy = auth::session_policy(&req);
    match (user, matches) {
        (Some(user), true) => {
            let (cookie, _) = db
                .write(move |conn| {
                    let started = users::start_session(conn, &user.id, &policy, now)?;
                    users::clear_failures(conn, &account_key)?;
                    audit::append(
                        conn,
                        &user.tenant_id,
                        user_event(&user, "user.sign_in", json!({})),
                    )?;
                    Ok(started)
                })
                .await?;
            let mut response = see_other(&next);
            response.headers_mut().append(
                header::SET_COOKIE,
                header::HeaderValue::from_str(&session::session_cookie(
                    &cookie,
                    session::cookie_policy(&req),
                ))
                .map_err(|e| AppError::Unexpected(e.into()))?,
            );
            Ok(response)
        }
        (user, _) => {
            let forget = now - throttle.window * 4;
            db.write(move |conn| {
                users::record_failure(conn, &[&account_key, &address_key], now, forget)?;
                if let Some(user) = user {
                    audit::append(
                        conn,
                        &user.tenant_id,
                        user_event(&user, "user.sign_in_failed", json!({})),
                    )?;
                }
                Ok(())
            })
            .await?;
            sign_in_html(
                &req,
                StatusCode::UNAUTHORIZED,
                &next,
                &email,
                Some(pages.word(lang, "wrong_credentials")),
                None,
            )
        }
    }
}

fn user_event(user: &UserRow, action: &'static str, details: Value) -> AuditEvent {
    AuditEvent {
        actor: format!("user:{}:{}", user.id, user.email),
        action,
        target: format!("user:{}", user.id),
        details,
    }
}

pub(super) async fn sign_out(
    req: HttpRequest,
    signed: SignedIn,
    db: web::Data<Db>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let cookie = auth::cookie_value(&req, auth::SESSION_COOKIE).unwrap_or_default();
    let user = signed.user.clone();
    db.write(move |conn| {
        users::end_session(conn, &cookie, now_micros())?;
        audit::append(
            conn,
            &user.tenant_id,
            user_event(&user, "user.sign_out", json!({})),
        )
    })
    .await?;
    let mut response = see_other("/sign-in?signed_out=1");
    response.headers_mut().append(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&session::expired_session_cookie(session::cookie_policy(
            &req,
        )))
        .map_err(|e| AppError::Unexpected(e.into()))?,
    );
    Ok(response)
}

fn set_password_html(
    req: &HttpRequest,
    status: StatusCode,
    user: Option<&UserRow>,
    errors: &[FieldError],
) -> UiResult<HttpResponse> {
    let lang = Lang::from_request(req, None);
    let (csrf, cookie) = session::pre_session_token(req);
    let html = Pages::get()?.render(
        "set_password",
        lang,
        json!({
            "csrf": csrf,
            "valid": user.is_some(),
            "email": user.map(|u| u.email.clone()),
            "min": accounts::MIN_PASSWORD_CHARS,
            "errors": errors_map(&["password"], errors),
            "chrome": null,
        }),
    )?;
    let mut response = page(status, html);
    if let Some(cookie) = cookie {
        response.headers_mut().append(
            header::SET_COOKIE,
            header::HeaderValue::from_str(&cookie).map_err(|e| AppError::Unexpected(e.into()))?,
        );
    }
    Ok(response)
}

pub(super) async fn set_password_page(
    req: HttpRequest,
    db: web::Data<Db>,
    token: web::Path<String>,
) -> UiResult<HttpResponse> {
    let token = token.into_inner();
    let user = db
        .read(move |conn| users::link_user(conn, &token, now_micros()))
        .await?;
    let status = if user.is_some() {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    set_password_html(&req, status, user.as_ref(), &[])
}

/// Checks the new password, stores its hash, spends the link and signs the user in.
pub(super) async fn set_password(
    req: HttpRequest,
    db: web::Data<Db>,
    token: web::Path<String>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    session::check_pre_session_token(&req, form.csrf())?;
    let token = token.into_inner();
    let t = token.clone();
    let Some(user) = db
        .read(move |conn| users::link_user(conn, &t, now_micros()))
        .await?
    else {
        return set_password_html(&req, StatusCode::GONE, None, &[]);
    };
    let password = form.get("password").unwrap_or_default().to_owned();
    if let Err(error) = accounts::check_new_password(&password, &user.email) {
        return set_password_html(
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&user),
            &[error],
        );
    }
    let hash = web::block(move || accounts::hash_password(&password))
        .await
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("password hash: {e}")))?
        .map_err(AppError::Unexpected)?;
    let policy: SessionPolicy = auth::session_policy(&req);
    let started = db
        .write(move |conn| {
            let now = now_micros();
            let Some(user) = users::use_password_link(conn, &token, &hash, now)? else {
                return Ok(None);
            };
            audit::append(
                conn,
                &user.tenant_id,
                user_event(&user, "user.password_set", json!({})),
            )?;
            let (cookie, _) = users::start_session(conn, &user.id, &policy, now)?;
            audit::append(
                conn,
                &user.tenant_id,
                user_event(&user, "user.sign_in", json!({ "via": "set_password" })),
            )?;
            Ok(Some(cookie))
        })
        .await?;
    let Some(cookie) = started else {
        return set_password_html(&req, StatusCode::GONE, None, &[]);
    };
    let mut response = see_other("/incidents");
    response.headers_mut().append(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&session::session_cookie(
            &cookie,
            session::cookie_policy(&req),
        ))
        .map_err(|e| AppError::Unexpected(e.into()))?,
    );
    Ok(response)
}

/// Saves the user's language (empty: follow the browser) and time zone.
pub(super) async fn save_preferences(
    signed: SignedIn,
    db: web::Data<Db>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let locale = match form.get("locale").unwrap_or_default() {
        "" => None,
        tag => Some(
            Lang::parse(tag)
                .ok_or_else(|| AppError::field("locale", "expected en, ja or zh-CN"))?
                .tag(),
        ),
    };
    let zone = form.get("time_zone").unwrap_or("UTC").trim().to_owned();
    if zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(
            AppError::field("time_zone", "expected an IANA zone such as Asia/Tokyo").into(),
        );
    }
    let Principal { tenant_id, .. } = signed.who.clone();
    let user = signed.user.clone();
    db.write(move |conn| {
        users::set_preferences(conn, &tenant_id, &user.id, locale, &zone, now_micros())?;
        audit::append(
            conn,
            &tenant_id,
            user_event(
                &user,
                "user.preferences",
                json!({ "locale": locale, "time_zone": zone }),
            ),
        )
    })
    .await?;
    let back = form
        .get("back")
        .map(|b| safe_next(Some(b)))
        .unwrap_or_else(|| "/incidents".into());
    Ok(see_other(&back))
}
