//! Sessions of the web UI: the signed-in extractor, cookies, the CSRF checks.
//!
//! Every state-changing form of a session carries the session's synchronizer token
//! (`csrf_token`, kept with the session); the forms before sign-in (sign-in,
//! set-password) carry a double-submit token that must equal the `bl_csrf` cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use chrono_tz::Tz;
use subtle::ConstantTimeEq;

use super::i18n::Lang;
use crate::db::Db;
use crate::domain::Role;
use crate::error::AppError;
use crate::store::users::{SessionRow, UserRow};
use crate::web::auth::{self, Principal, SESSION_COOKIE};

/// The cookie of the double-submit token on the forms before sign-in.
pub const PRE_SESSION_CSRF_COOKIE: &str = "bl_csrf";
/// The form field every state-changing form carries.
pub const CSRF_FIELD: &str = "csrf_token";

/// Whether cookies get `Secure` (the public URL is https).
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    /// Send cookies over https only.
    pub secure: bool,
}

/// A failure of a UI request.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// No live session: go and sign in, then come back to `next`.
    #[error("sign in first")]
    SignIn {
        /// The page asked for.
        next: String,
    },
    /// A state-changing form without the right CSRF token: 403, nothing changed.
    #[error(
        "the form's CSRF token is missing or does not match your session; reload the page and try again"
    )]
    Csrf,
    /// Anything the API would answer with a problem document.
    #[error(transparent)]
    App(#[from] AppError),
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match self {
            UiError::SignIn { .. } => StatusCode::SEE_OTHER,
            UiError::Csrf => StatusCode::FORBIDDEN,
            UiError::App(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            UiError::SignIn { next } => {
                let target = format!(
                    "/sign-in?next={}",
                    percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
                );
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, target))
                    .finish()
            }
            UiError::Csrf => AppError::Forbidden(self.to_string()).error_response(),
            UiError::App(e) => e.error_response(),
        }
    }
}

/// Result of a UI handler.
pub type UiResult<T> = Result<T, UiError>;

/// A signed-in user: the principal every role check and store call takes, plus
/// what the pages need (language, time zone, the session's CSRF token).
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Tenant, role and name, as for a bearer token.
    pub who: Principal,
    /// The stored user.
    pub user: UserRow,
    /// The stored session.
    pub session: SessionRow,
    /// The language of the pages.
    pub lang: Lang,
    /// The zone times are shown in.
    pub tz: Tz,
}

impl SignedIn {
    /// Fails with [`UiError::Csrf`] unless `presented` is this session's token.
    pub fn check_csrf(&self, presented: Option<&str>) -> UiResult<()> {
        let expected = self.session.csrf_token.as_bytes();
        match presented {
            Some(token) if bool::from(token.as_bytes().ct_eq(expected)) => Ok(()),
            _ => Err(UiError::Csrf),
        }
    }
}

impl FromRequest for SignedIn {
    type Error = UiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, UiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let cookie = auth::cookie_value(req, SESSION_COOKIE);
        let db = req.app_data::<web::Data<Db>>().cloned();
        let policy = auth::session_policy(req);
        let next = if req.method().is_safe() {
            req.uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned()
        } else {
            "/incidents".to_owned()
        };
        let accept = Lang::from_request(req, None);
        Box::pin(async move {
            let (Some(cookie), Some(db)) = (cookie, db) else {
                return Err(UiError::SignIn { next });
            };
            let Some((session, user)) = auth::resume(&db, policy, cookie).await? else {
                return Err(UiError::SignIn { next });
            };
            let who = Principal::of_user(&user)?;
            if who.role == Role::Regulator {
                // The same rule as regulator tokens: shared reports only, which
                // the regulator portal link serves; the team's pages are not theirs.
                return Err(UiError::App(AppError::Forbidden(
                    "a regulator reads only the reports shared with regulators, through \
                     the link an administrator sends; the web UI is the team's"
                        .into(),
                )));
            }
            let lang = user
                .locale
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or(accept);
            let tz = user.time_zone.parse().unwrap_or(Tz::UTC);
            Ok(SignedIn {
                who,
                user,
                session,
                lang,
                tz,
            })
        })
    }
}

/// A `Set-Cookie` value: HttpOnly, path `/`, the given SameSite, `Secure` over
/// https; `max_age` zero removes the cookie.
fn set_cookie(
    name: &str,
    value: &str,
    same_site: &str,
    max_age: Option<i64>,
    policy: CookiePolicy,
) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if policy.secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    cookie
}

/// The session cookie for a new session (a browser-session cookie: the server
/// ends the session at its idle or absolute expiry).
pub fn session_cookie(value: &str, policy: CookiePolicy) -> String {
    set_cookie(SESSION_COOKIE, value, "Lax", None, policy)
}

/// A cookie that removes the session cookie (sign-out).
pub fn expired_session_cookie(policy: CookiePolicy) -> String {
    set_cookie(SESSION_COOKIE, "", "Lax", Some(0), policy)
}

/// The double-submit token for a form before sign-in: the one in the request's
/// cookie, or a new one with the `Set-Cookie` value the response must carry.
pub fn pre_session_token(req: &HttpRequest) -> (String, Option<String>) {
    match auth::cookie_value(req, PRE_SESSION_CSRF_COOKIE) {
        Some(value) if value.len() == 64 => (value, None),
        _ => {
            let token = crate::accounts::random_secret();
            let cookie = set_cookie(
                PRE_SESSION_CSRF_COOKIE,
                &token,
                "Strict",
                None,
                cookie_policy(req),
            );
            (token, Some(cookie))
        }
    }
}

/// Fails with [`UiError::Csrf`] unless the form's token equals the cookie's.
pub fn check_pre_session_token(req: &HttpRequest, presented: Option<&str>) -> UiResult<()> {
    match (auth::cookie_value(req, PRE_SESSION_CSRF_COOKIE), presented) {
        (Some(cookie), Some(token))
            if cookie.len() == 64 && bool::from(token.as_bytes().ct_eq(cookie.as_bytes())) =>
        {
            Ok(())
        }
        _ => Err(UiError::Csrf),
    }
}

/// The app's cookie policy (not `Secure` when none was configured).
pub fn cookie_policy(req: &HttpRequest) -> CookiePolicy {
    req.app_data::<web::Data<CookiePolicy>>()
        .map(|p| *p.get_ref())
        .unwrap_or(CookiePolicy { secure: false })
}
