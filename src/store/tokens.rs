//! API tokens: `blt_<id>.<secret>`. Only a SHA-256 of the secret is stored; the
//! token is found by its id and the secret compared in constant time.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::db::DbConnection;
use crate::db::schema::api_tokens;
use crate::domain::{Role, format_instant, now_micros};
use crate::error::{AppError, AppResult};

const PREFIX: &str = "blt_";

/// One token as stored (without its secret).
#[derive(Debug, Clone, Queryable)]
pub struct TokenRow {
    /// Public part of the token.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Label naming the person or system holding it; recorded as the actor.
    pub name: String,
    /// Role word.
    pub role: String,
    /// Hex SHA-256 of the secret part.
    pub secret_hash: String,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

/// Creates a token and returns it with the bearer string, shown once.
pub fn create(
    conn: &mut DbConnection,
    tenant_id: &str,
    role: Role,
    name: &str,
) -> AppResult<(TokenRow, String)> {
    let id = hex::encode(random_bytes::<8>());
    let secret = hex::encode(random_bytes::<32>());
    let row = TokenRow {
        id: id.clone(),
        tenant_id: tenant_id.to_owned(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        secret_hash: hash_secret(&secret),
        created_at: now_micros(),
        revoked_at: None,
    };
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(&row.id),
            api_tokens::tenant_id.eq(&row.tenant_id),
            api_tokens::name.eq(&row.name),
            api_tokens::role.eq(&row.role),
            api_tokens::secret_hash.eq(&row.secret_hash),
            api_tokens::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok((row, format!("{PREFIX}{id}.{secret}")))
}

/// Longest token name.
const NAME_MAX: usize = 100;

/// Creates a token named `name` (1-100 characters, trimmed) and audits it as
/// `token.create` by `actor`, in the caller's transaction: the one way the command
/// line and the web UI issue tokens. Returns the bearer string, to be shown once.
pub fn create_audited(
    conn: &mut DbConnection,
    tenant_id: &str,
    role: Role,
    name: &str,
    actor: String,
) -> AppResult<(TokenRow, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(AppError::field(
            "name",
            format!("must be 1-{NAME_MAX} characters"),
        ));
    }
    let (row, bearer) = create(conn, tenant_id, role, name)?;
    audit::append(
        conn,
        tenant_id,
        AuditEvent {
            actor,
            action: "token.create",
            target: format!("token:{}", row.id),
            details: json!({ "name": row.name, "role": row.role }),
        },
    )?;
    Ok((row, bearer))
}

/// Revokes one of the tenant's tokens and audits it as `token.revoke` by `actor`,
/// in the caller's transaction (command line and web UI alike).
pub fn revoke_audited(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    actor: String,
) -> AppResult<TokenRow> {
    let row = revoke(conn, tenant_id, id)?;
    audit::append(
        conn,
        tenant_id,
        AuditEvent {
            actor,
            action: "token.revoke",
            target: format!("token:{}", row.id),
            details: json!({ "name": row.name, "role": row.role }),
        },
    )?;
    Ok(row)
}

/// What a presented bearer string turned out to be.
#[derive(Debug, Clone)]
pub enum Authentication {
    /// A live token whose secret matches.
    Accepted(TokenRow),
    /// The right secret of a token that has been revoked.
    Revoked,
    /// Not a token of ours: malformed, unknown id or wrong secret.
    NotRecognised,
}

/// Looks up the token a bearer string stands for and compares its secret. Only a
/// caller who holds the secret learns that a token was revoked.
pub fn authenticate(conn: &mut DbConnection, bearer: &str) -> AppResult<Authentication> {
    let Some((id, secret)) = bearer
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('.'))
    else {
        return Ok(Authentication::NotRecognised);
    };
    let Some(row) = find(conn, id)? else {
        return Ok(Authentication::NotRecognised);
    };
    let presented = hash_secret(secret);
    Ok(
        match (
            bool::from(row.secret_hash.as_bytes().ct_eq(presented.as_bytes())),
            row.revoked_at,
        ) {
            (false, _) => Authentication::NotRecognised,
            (true, Some(_)) => Authentication::Revoked,
            (true, None) => Authentication::Accepted(row),
        },
    )
}

/// Finds a token by its public id, whichever tenant holds it (for authentication
/// and the command line, which name a token by id alone).
pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<TokenRow>> {
    Ok(api_tokens::table
        .find(id)
        .first::<TokenRow>(conn)
        .optional()?)
}

/// The tenant's tokens, oldest first (their secrets are never stored).
pub fn list(conn: &mut DbConnection, tenant_id: &str) -> AppResult<Vec<TokenRow>> {
    Ok(api_tokens::table
        .filter(api_tokens::tenant_id.eq(tenant_id))
        .order((api_tokens::created_at.asc(), api_tokens::id.asc()))
        .load::<TokenRow>(conn)?)
}

/// Revokes one of the tenant's tokens from now on; revoking twice is a conflict.
pub fn revoke(conn: &mut DbConnection, tenant_id: &str, id: &str) -> AppResult<TokenRow> {
    let row = find(conn, id)?
        .filter(|row| row.tenant_id == tenant_id)
        .ok_or_else(|| AppError::NotFound(format!("token {id}")))?;
    if let Some(at) = row.revoked_at {
        return Err(AppError::Conflict(format!(
            "token {id} was already revoked at {}",
            format_instant(at)
        )));
    }
    let now = now_micros();
    diesel::update(
        api_tokens::table
            .filter(api_tokens::tenant_id.eq(tenant_id))
            .filter(api_tokens::id.eq(id)),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(TokenRow {
        revoked_at: Some(now),
        ..row
    })
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}
