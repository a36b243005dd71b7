//! API tokens: `blt_<id>.<secret>`. Only a SHA-256 of the secret is stored; the
//! token is found by its id and the secret compared in constant time.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::db::DbConnection;
use crate::db::schema::api_tokens;
use crate::domain::{Role, now_micros};
use crate::error::AppResult;

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

/// Returns the live token a bearer string stands for, or `None`.
pub fn authenticate(conn: &mut DbConnection, bearer: &str) -> AppResult<Option<TokenRow>> {
    let Some((id, secret)) = bearer
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('.'))
    else {
        return Ok(None);
    };
    let row = api_tokens::table
        .find(id)
        .filter(api_tokens::revoked_at.is_null())
        .first::<TokenRow>(conn)
        .optional()?;
    let presented = hash_secret(secret);
    Ok(row.filter(|r| bool::from(r.secret_hash.as_bytes().ct_eq(presented.as_bytes()))))
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}
