//! Bearer-token authentication: every API route takes a [`Principal`].

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::db::Db;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::store::tokens::{self, Authentication};

/// Who is calling: the token's tenant, role and label.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The tenant every query is scoped to.
    pub tenant_id: String,
    /// What the caller may do.
    pub role: Role,
    /// The token's label, recorded as author and audit actor.
    pub name: String,
    /// The token's public id.
    pub token_id: String,
}

impl Principal {
    /// The actor string for the audit log.
    pub fn actor(&self) -> String {
        format!("token:{}:{}", self.token_id, self.name)
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
        Box::pin(async move {
            let (Some(bearer), Some(db)) = (bearer, db) else {
                return Err(AppError::Unauthorized);
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
                token_id: token.id,
            })
        })
    }
}
