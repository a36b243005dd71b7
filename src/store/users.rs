//! Users of the web UI, their one-time set-password links, their sessions and the
//! failed sign-ins that throttle them. Only hashes of link tokens and session ids
//! are stored; the rules (expiry, throttling, password checks) are in `accounts`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::{self, SessionExpiry, SessionPolicy};
use crate::db::DbConnection;
use crate::db::schema::{password_links, sessions, sign_in_failures, users};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::store::new_id;

/// One user as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// UUIDv7.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Lower-cased e-mail address: the sign-in name, also the author and actor name.
    pub email: String,
    /// Role word.
    pub role: String,
    /// argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// The UI language chosen (`en`, `ja`, `zh-CN`); `None` follows the browser.
    pub locale: Option<String>,
    /// IANA time zone times are shown in.
    pub time_zone: String,
    /// When created.
    pub created_at: NaiveDateTime,
    /// When last changed.
    pub updated_at: NaiveDateTime,
    /// When disabled, if it was (a disabled user cannot sign in).
    pub disabled_at: Option<NaiveDateTime>,
}

impl UserRow {
    /// The stored role, parsed.
    pub fn role(&self) -> AppResult<Role> {
        super::word("users.role", &self.role)
    }
}

/// Creates a user without a password. A taken address is a conflict on `email`.
pub fn create(
    conn: &mut DbConnection,
    tenant_id: &str,
    email: &str,
    role: Role,
    now: NaiveDateTime,
) -> AppResult<UserRow> {
    let email = accounts::normalise_email(email).map_err(|e| AppError::Validation(vec![e]))?;
    if find_by_email(conn, &email)?.is_some() {
        return Err(AppError::Validation(vec![crate::domain::FieldError::new(
            "email",
            "is already a user",
        )]));
    }
    let row = UserRow {
        id: new_id(),
        tenant_id: tenant_id.to_owned(),
        email,
        role: role.as_str().to_owned(),
        password_hash: None,
        locale: None,
        time_zone: "UTC".to_owned(),
        created_at: now,
        updated_at: now,
        disabled_at: None,
    };
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&row.id),
            users::tenant_id.eq(&row.tenant_id),
            users::email.eq(&row.email),
            users::role.eq(&row.role),
            users::time_zone.eq(&row.time_zone),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(row)
}

/// The user with this sign-in address, whichever tenant.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> AppResult<Option<UserRow>> {
    Ok(users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// One of the tenant's users.
pub fn get(conn: &mut DbConnection, tenant_id: &str, id: &str) -> AppResult<UserRow> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("user {id}")))
}

/// The tenant's users, by address.
pub fn list(conn: &mut DbConnection, tenant_id: &str) -> AppResult<Vec<UserRow>> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant_id))
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(conn)?)
}

/// How many users exist at all (none: `serve` explains how to create the first).
pub fn count_all(conn: &mut DbConnection) -> AppResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

/// Stores the user's language (`None`: follow the browser) and time zone.
pub fn set_preferences(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    locale: Option<&str>,
    time_zone: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant_id))
            .filter(users::id.eq(id)),
    )
    .set((
        users::locale.eq(locale),
        users::time_zone.eq(time_zone),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Gives one of the tenant's users another role (in force from their next request).
pub fn set_role(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    role: Role,
    now: NaiveDateTime,
) -> AppResult<UserRow> {
    let user = get(conn, tenant_id, id)?;
    diesel::update(users::table.filter(users::id.eq(&user.id)))
        .set((users::role.eq(role.as_str()), users::updated_at.eq(now)))
        .execute(conn)?;
    get(conn, tenant_id, id)
}

/// Disables one of the tenant's users (they cannot sign in, their sessions end)
/// or enables them again.
pub fn set_disabled(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    disabled: bool,
    now: NaiveDateTime,
) -> AppResult<UserRow> {
    let user = get(conn, tenant_id, id)?;
    diesel::update(users::table.filter(users::id.eq(&user.id)))
        .set((
            users::disabled_at.eq(disabled.then_some(now)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if disabled {
        end_all_sessions(conn, &user.id, now)?;
    }
    get(conn, tenant_id, id)
}

/// Makes a one-time set-password link for the user; returns the token (shown once).
pub fn create_password_link(
    conn: &mut DbConnection,
    user: &UserRow,
    policy: &SessionPolicy,
    now: NaiveDateTime,
) -> AppResult<String> {
    let token = accounts::random_secret();
    diesel::insert_into(password_links::table)
        .values((
            password_links::token_hash.eq(accounts::secret_hash(&token)),
            password_links::user_id.eq(&user.id),
            password_links::created_at.eq(now),
            password_links::expires_at.eq(now + policy.link),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The user a set-password link is for, while it is unused and unexpired.
pub fn link_user(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> AppResult<Option<UserRow>> {
    Ok(password_links::table
        .inner_join(users::table)
        .filter(password_links::token_hash.eq(accounts::secret_hash(token)))
        .filter(password_links::used_at.is_null())
        .filter(password_links::expires_at.gt(now))
        .filter(users::disabled_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Uses a link: stores the new password hash, spends the link (and every other
/// link of the user) and ends the user's sessions. `false` when the link was no
/// longer good (used meanwhile, or expired).
pub fn use_password_link(
    conn: &mut DbConnection,
    token: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> AppResult<Option<UserRow>> {
    let Some(user) = link_user(conn, token, now)? else {
        return Ok(None);
    };
    let spent = diesel::update(
        password_links::table
            .filter(password_links::token_hash.eq(accounts::secret_hash(token)))
            .filter(password_links::used_at.is_null()),
    )
    .set(password_links::used_at.eq(now))
    .execute(conn)?;
    if spent != 1 {
        return Ok(None);
    }
    diesel::update(
        password_links::table
            .filter(password_links::user_id.eq(&user.id))
            .filter(password_links::used_at.is_null()),
    )
    .set(password_links::used_at.eq(now))
    .execute(conn)?;
    diesel::update(users::table.filter(users::id.eq(&user.id)))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    end_all_sessions(conn, &user.id, now)?;
    Ok(Some(user))
}

/// One session as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    /// SHA-256 of the cookie's value.
    pub id_hash: String,
    /// Who signed in.
    pub user_id: String,
    /// The synchronizer token every state-changing form of this session carries.
    pub csrf_token: String,
    /// Sign-in time.
    pub created_at: NaiveDateTime,
    /// Last use.
    pub last_seen_at: NaiveDateTime,
    /// End unless used before.
    pub idle_expires_at: NaiveDateTime,
    /// End in any case.
    pub expires_at: NaiveDateTime,
    /// When signed out.
    pub ended_at: Option<NaiveDateTime>,
}

impl SessionRow {
    fn expiry(&self) -> SessionExpiry {
        SessionExpiry {
            idle_expires_at: self.idle_expires_at,
            expires_at: self.expires_at,
        }
    }
}

/// Starts a session; returns the cookie value (shown once) and the stored row.
pub fn start_session(
    conn: &mut DbConnection,
    user_id: &str,
    policy: &SessionPolicy,
    now: NaiveDateTime,
) -> AppResult<(String, SessionRow)> {
    let cookie = accounts::random_secret();
    let expiry = policy.start(now);
    let row = SessionRow {
        id_hash: accounts::secret_hash(&cookie),
        user_id: user_id.to_owned(),
        csrf_token: accounts::random_secret(),
        created_at: now,
        last_seen_at: now,
        idle_expires_at: expiry.idle_expires_at,
        expires_at: expiry.expires_at,
        ended_at: None,
    };
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(&row.id_hash),
            sessions::user_id.eq(&row.user_id),
            sessions::csrf_token.eq(&row.csrf_token),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::idle_expires_at.eq(row.idle_expires_at),
            sessions::expires_at.eq(row.expires_at),
        ))
        .execute(conn)?;
    Ok((cookie, row))
}

/// The live session a cookie names, with its user; `None` when unknown, ended,
/// expired or the user is disabled. Reads only: see [`touch_session`].
pub fn find_session(
    conn: &mut DbConnection,
    cookie: &str,
    policy: &SessionPolicy,
    now: NaiveDateTime,
) -> AppResult<Option<(SessionRow, UserRow)>> {
    let found = sessions::table
        .inner_join(users::table)
        .filter(sessions::id_hash.eq(accounts::secret_hash(cookie)))
        .filter(sessions::ended_at.is_null())
        .filter(users::disabled_at.is_null())
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first::<(SessionRow, UserRow)>(conn)
        .optional()?;
    Ok(found.filter(|(session, _)| policy.alive(session.expiry(), now)))
}

/// Whether a use at `now` should push the session's idle end forward (at most
/// once a minute, so polling pages do not write on every request).
pub fn needs_touch(session: &SessionRow, now: NaiveDateTime) -> bool {
    now - session.last_seen_at >= chrono::Duration::minutes(1)
}

/// Records a use of the session at `now`: the idle end moves forward.
pub fn touch_session(
    conn: &mut DbConnection,
    session: &mut SessionRow,
    policy: &SessionPolicy,
    now: NaiveDateTime,
) -> AppResult<()> {
    let expiry = policy.touch(session.expiry(), now);
    diesel::update(sessions::table.find(&session.id_hash))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::idle_expires_at.eq(expiry.idle_expires_at),
        ))
        .execute(conn)?;
    session.last_seen_at = now;
    session.idle_expires_at = expiry.idle_expires_at;
    Ok(())
}

/// Ends the session a cookie names (sign-out); `false` if it was not live.
pub fn end_session(conn: &mut DbConnection, cookie: &str, now: NaiveDateTime) -> AppResult<bool> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::id_hash.eq(accounts::secret_hash(cookie)))
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(now))
    .execute(conn)?
        == 1)
}

fn end_all_sessions(conn: &mut DbConnection, user_id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Failed sign-ins recorded under `key` since `since`.
pub fn count_failures(conn: &mut DbConnection, key: &str, since: NaiveDateTime) -> AppResult<i64> {
    Ok(sign_in_failures::table
        .filter(sign_in_failures::throttle_key.eq(key))
        .filter(sign_in_failures::at.gt(since))
        .count()
        .get_result(conn)?)
}

/// Records one failed sign-in under each key, and forgets failures older than
/// `forget_before` (so the table stays small).
pub fn record_failure(
    conn: &mut DbConnection,
    keys: &[&str],
    now: NaiveDateTime,
    forget_before: NaiveDateTime,
) -> AppResult<()> {
    for key in keys {
        diesel::insert_into(sign_in_failures::table)
            .values((
                sign_in_failures::id.eq(new_id()),
                sign_in_failures::throttle_key.eq(*key),
                sign_in_failures::at.eq(now),
            ))
            .execute(conn)?;
    }
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::at.lt(forget_before)))
        .execute(conn)?;
    Ok(())
}

/// Forgets the failures under `key` (after a successful sign-in to that account).
pub fn clear_failures(conn: &mut DbConnection, key: &str) -> AppResult<()> {
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::throttle_key.eq(key)))
        .execute(conn)?;
    Ok(())
}
