//! Authentication: every route takes a [`Principal`], from a bearer token (the
//! API) or a signed-in session (the web UI). Both carry the same [`Role`], so one
//! role check (`who.require(who.role.can_…())`) serves both. A session cookie
//! authenticates only safe methods on the API: a state change through a cookie
//! goes through a UI form, which checks the CSRF token (`web::ui`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::accounts::SessionPolicy;
use crate::db::Db;
use crate::domain::{Role, now_micros};
use crate::error::{AppError, AppResult};
use crate::store::tokens::{self, Authentication};
use crate::store::users::{self, SessionRow, UserRow};
use crate::web::api::reports::REGULATOR_ROUTES;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "bl_session";

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An API bearer token, by its public id.
    Token(String),
    /// A signed-in user of the web UI, by user id.
    Session(String),
}

/// Who is calling: tenant, role and name, from a token or a session.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The tenant every query is scoped to.
    pub tenant_id: String,
    /// What the caller may do.
    pub role: Role,
    /// The token's label or the user's e-mail address, recorded as author and actor.
    pub name: String,
    /// The token or the user.
    pub credential: Credential,
}

impl Principal {
    /// The actor string for the audit log: `token:<id>:<label>` or `user:<id>:<email>`.
    pub fn actor(&self) -> String {
        match &self.credential {
            Credential::Token(id) => format!("token:{id}:{}", self.name),
            Credential::Session(id) => format!("user:{id}:{}", self.name),
        }
    }

    /// The principal of a signed-in user.
    pub fn of_user(user: &UserRow) -> AppResult<Self> {
        Ok(Principal {
            tenant_id: user.tenant_id.clone(),
            role: user.role()?,
            name: user.email.clone(),
            credential: Credential::Session(user.id.clone()),
        })
    }

    /// Fails with 403 unless `allowed`.
    pub fn require(&self, allowed: bool, action: &str) -> AppResult<()> {
        if allowed {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "the {} role may not {action}",
                self.role
            )))
        }
    }
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        let db = req.app_data::<web::Data<Db>>().cloned();
        // A cookie may read through the API (the UI's live progress); a change
        // through a cookie would bypass the CSRF check of the UI's forms.
        let cookie = req
            .method()
            .is_safe()
            .then(|| cookie_value(req, SESSION_COOKIE))
            .flatten();
        let policy = session_policy(req);
        let route = req.match_pattern();
        Box::pin(async move {
            let principal = authenticate(db, bearer, cookie, policy).await?;
            admit(principal, route.as_deref())
        })
    }
}

/// Lets a regulator through to the report routes only; everyone else is unchanged.
fn admit(principal: Principal, route: Option<&str>) -> AppResult<Principal> {
    let shared_reports = route.is_some_and(|r| REGULATOR_ROUTES.contains(&r));
    if principal.role == Role::Regulator && !shared_reports {
        return Err(AppError::Forbidden(
            "a regulator token reads only the reports shared with regulators \
             (GET /api/v1/incidents/{id}/reports)"
                .into(),
        ));
    }
    Ok(principal)
}

/// The principal of a bearer token, or of the session cookie on a safe request.
async fn authenticate(
    db: Option<web::Data<Db>>,
    bearer: Option<String>,
    cookie: Option<String>,
    policy: SessionPolicy,
) -> AppResult<Principal> {
    let Some(db) = db else {
        return Err(AppError::Unauthorized);
    };
    let bearer = match (bearer, cookie) {
        (Some(bearer), _) => bearer,
        (None, Some(cookie)) => {
            return match resume(&db, policy, cookie).await? {
                Some((_, user)) => Principal::of_user(&user),
                None => Err(AppError::Unauthorized),
            };
        }
        (None, None) => return Err(AppError::Unauthorized),
    };
    let token = match db
        .read(move |conn| tokens::authenticate(conn, &bearer))
        .await?
    {
        Authentication::Accepted(token) => token,
        Authentication::Revoked => return Err(AppError::TokenRefused("token revoked")),
        Authentication::NotRecognised => {
            return Err(AppError::TokenRefused("token not recognised"));
        }
    };
    let role = token
        .role
        .parse()
        .map_err(|e: String| AppError::Unexpected(anyhow::anyhow!("stored role: {e}")))?;
    Ok(Principal {
        tenant_id: token.tenant_id,
        role,
        name: token.name,
        credential: Credential::Token(token.id),
    })
}

/// The value of the request's cookie `name`, if it sent one.
pub fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

/// The session policy the app was built with (defaults when none was given).
pub fn session_policy(req: &HttpRequest) -> SessionPolicy {
    req.app_data::<web::Data<SessionPolicy>>()
        .map(|p| *p.get_ref())
        .unwrap_or_default()
}

/// The live session a cookie names, with its user; its idle end is pushed forward
/// (a write at most once a minute, so the page's polling stays read-only).
pub async fn resume(
    db: &Db,
    policy: SessionPolicy,
    cookie: String,
) -> AppResult<Option<(SessionRow, UserRow)>> {
    let now = now_micros();
    let found = db
        .read(move |conn| users::find_session(conn, &cookie, &policy, now))
        .await?;
    match found {
        Some((mut session, user)) if users::needs_touch(&session, now) => {
            db.write(move |conn| {
                users::touch_session(conn, &mut session, &policy, now)?;
                Ok(Some((session, user)))
            })
            .await
        }
        other => Ok(other),
    }
}
