//! Tenants: the organisations using Breachline.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::{from_json_text, incidents, new_id, obligations, to_json_text};
use crate::audit::GENESIS_HASH;
use crate::db::DbConnection;
use crate::db::schema::tenants;
use crate::domain::{FieldError, Jurisdiction, format_instant, is_locale, now_micros};
use crate::error::{AppError, AppResult};
use crate::notices::settings::NoticeSettings;
use crate::regimes;

/// One tenant as stored.
#[derive(Debug, Clone, Queryable)]
pub struct TenantRow {
    /// Identifier.
    pub id: String,
    /// Short unique name used in the CLI, e.g. `jc-task`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// JSON list of jurisdiction codes where the tenant is established.
    pub establishments: String,
    /// Locale used when a person's own is not available.
    pub default_locale: String,
    /// Sequence number of the last audit entry.
    pub audit_seq: i64,
    /// Hash of the last audit entry.
    pub audit_head: String,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// JSON profile: `{commitments, closures}` (see `regimes::parse_tenant_profile`).
    pub profile: String,
}

/// A tenant as shown to users.
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    /// Identifier.
    pub id: String,
    /// Short unique name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Jurisdiction codes where it is established.
    pub establishments: Vec<String>,
    /// Fallback locale.
    pub default_locale: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// The tenant's own promises and closure days.
    pub profile: serde_json::Value,
}

impl TenantRow {
    /// The user-facing view.
    pub fn to_tenant(&self) -> AppResult<Tenant> {
        Ok(Tenant {
            id: self.id.clone(),
            slug: self.slug.clone(),
            name: self.name.clone(),
            establishments: from_json_text(&self.establishments)?,
            default_locale: self.default_locale.clone(),
            created_at: format_instant(self.created_at),
            profile: shown(from_json_text(&self.profile)?),
        })
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| AppError::Unexpected(e.into()))
}

/// The profile as shown (API, audit log): its lists always present (empty when
/// never set), the team webhook's secret never.
fn shown(mut profile: serde_json::Value) -> serde_json::Value {
    if let Some(map) = profile.as_object_mut() {
        for list in ["closures", "commitments"] {
            map.entry(list).or_insert_with(|| serde_json::json!([]));
        }
    }
    if let Some(secret) = profile.pointer_mut("/team/webhook/secret") {
        *secret = serde_json::Value::String("(set)".into());
    }
    profile
}

/// Input for a new tenant, validated by [`NewTenant::validate`].
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Short unique name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Jurisdiction codes.
    pub establishments: Vec<String>,
    /// Fallback locale.
    pub default_locale: String,
}

impl NewTenant {
    /// Checks every field, returning all problems at once; normalises codes.
    pub fn validate(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_slug(&self.slug) {
            errors.push(FieldError::new(
                "slug",
                "use 2-63 lower-case letters, digits and hyphens, starting with a letter or digit",
            ));
        }
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1-200 characters"));
        }
        let mut codes = Vec::new();
        for (i, code) in self.establishments.iter().enumerate() {
            match Jurisdiction::parse(code) {
                Ok(j) => codes.push(j.as_str().to_owned()),
                Err(reason) => errors.push(FieldError::new(format!("establishments[{i}]"), reason)),
            }
        }
        codes.sort();
        codes.dedup();
        self.establishments = codes;
        if !is_locale(&self.default_locale) {
            errors.push(FieldError::new(
                "locale",
                format!(
                    "'{}' is not a BCP 47 tag such as en, ja, zh-CN",
                    self.default_locale
                ),
            ));
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }
}

fn is_slug(s: &str) -> bool {
    (2..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

/// Inserts a tenant; a taken slug is a conflict.
pub fn create(conn: &mut DbConnection, new: &NewTenant) -> AppResult<TenantRow> {
    if find_by_slug(conn, &new.slug)?.is_some() {
        return Err(AppError::Conflict(format!(
            "tenant '{}' already exists",
            new.slug
        )));
    }
    let row = TenantRow {
        id: new_id(),
        slug: new.slug.clone(),
        name: new.name.clone(),
        establishments: to_json_text(&new.establishments)?,
        default_locale: new.default_locale.clone(),
        audit_seq: 0,
        audit_head: GENESIS_HASH.to_owned(),
        created_at: now_micros(),
        profile: "{}".to_owned(),
    };
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(&row.id),
            tenants::slug.eq(&row.slug),
            tenants::name.eq(&row.name),
            tenants::establishments.eq(&row.establishments),
            tenants::default_locale.eq(&row.default_locale),
            tenants::audit_seq.eq(row.audit_seq),
            tenants::audit_head.eq(&row.audit_head),
            tenants::created_at.eq(row.created_at),
            tenants::profile.eq(&row.profile),
        ))
        .execute(conn)?;
    Ok(row)
}

/// Finds a tenant by slug.
pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> AppResult<Option<TenantRow>> {
    Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .first::<TenantRow>(conn)
        .optional()?)
}

/// Loads a tenant that must exist.
pub fn get(conn: &mut DbConnection, tenant_id: &str) -> AppResult<TenantRow> {
    tenants::table
        .find(tenant_id)
        .first::<TenantRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("tenant".into()))
}

/// Loads a tenant by slug, or says which slug is unknown.
pub fn require_by_slug(conn: &mut DbConnection, slug: &str) -> AppResult<TenantRow> {
    find_by_slug(conn, slug)?.ok_or_else(|| AppError::NotFound(format!("tenant '{slug}'")))
}

/// The tenant's notice settings (defaults when none were set). Stored settings
/// that no longer read (say, a time zone a later release dropped) are an error,
/// never silently replaced by defaults that would ignore the tenant's choices.
pub fn notice_settings(row: &TenantRow) -> AppResult<NoticeSettings> {
    let profile: serde_json::Value = from_json_text(&row.profile)?;
    match profile.get("notices") {
        None | Some(serde_json::Value::Null) => Ok(NoticeSettings::default()),
        Some(stored) => serde_json::from_value(stored.clone()).map_err(|e| {
            AppError::Unexpected(anyhow::anyhow!(
                "the stored notice settings of tenant '{}' cannot be read: {e}",
                row.slug
            ))
        }),
    }
}

/// Validates and stores a profile `{establishments?, commitments?, closures?, notices?,
/// public_announcement?, team?, reminders?}`
/// (absent establishments are kept), then recomputes the obligations (and runbook
/// tasks) of the tenant's incidents that are not closed and lets held messages meet
/// the new send window.
pub fn update_profile(
    conn: &mut DbConnection,
    runbooks: &crate::runbooks::Library,
    tenant_id: &str,
    mut profile: serde_json::Map<String, serde_json::Value>,
) -> AppResult<Tenant> {
    let notices = profile.remove("notices");
    let team_given = profile.remove("team").filter(|v| !v.is_null());
    let reminders_given = profile.remove("reminders").filter(|v| !v.is_null());
    let mut errors = Vec::new();
    let team = crate::runbooks::remind::parse_team(
        team_given.as_ref().unwrap_or(&serde_json::Value::Null),
    )
    .map_err(|mut e| errors.append(&mut e))
    .ok();
    let reminders = crate::runbooks::remind::parse_reminders(
        reminders_given.as_ref().unwrap_or(&serde_json::Value::Null),
    )
    .map_err(|mut e| errors.append(&mut e))
    .ok();
    let parsed = regimes::parse_tenant_profile(&serde_json::Value::Object(profile.clone()))
        .map_err(|mut e| errors.append(&mut e))
        .ok();
    let settings = NoticeSettings::parse(notices.as_ref().unwrap_or(&serde_json::Value::Null))
        .map_err(|mut e| errors.append(&mut e))
        .ok();
    let (Some(parsed), Some(settings), Some(team), Some(reminders), true) =
        (parsed, settings, team, reminders, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    if team_given.is_some() {
        profile.insert("team".into(), to_value(&team)?);
    }
    if reminders_given.is_some() {
        profile.insert("reminders".into(), to_value(&reminders)?);
    }
    profile.insert(
        "notices".into(),
        serde_json::to_value(&settings).map_err(|e| AppError::Unexpected(e.into()))?,
    );
    if profile.remove("establishments").is_some() {
        let mut codes: Vec<String> = parsed
            .establishments
            .iter()
            .map(|j| j.as_str().to_owned())
            .collect();
        codes.sort();
        codes.dedup();
        diesel::update(tenants::table.find(tenant_id))
            .set(tenants::establishments.eq(to_json_text(&codes)?))
            .execute(conn)?;
    }
    // null means "none" or "the default", as absent does: store it as absent so
    // that the profile reads back in its documented shape (a list, never null).
    profile.retain(|_, v| !v.is_null());
    diesel::update(tenants::table.find(tenant_id))
        .set(tenants::profile.eq(to_json_text(&profile)?))
        .execute(conn)?;
    for incident_id in incidents::open_ids(conn, tenant_id)? {
        obligations::refresh(conn, runbooks, tenant_id, &incident_id)?;
    }
    // A new (or no) send window takes effect at once for messages held by the old.
    super::outbox::reapply_windows(conn, tenant_id, now_micros())?;
    get(conn, tenant_id)?.to_tenant()
}

/// Makes the tenant's writes take turns until the transaction ends (PostgreSQL;
/// SQLite runs one writer at a time already): numbering that reads the last number
/// and stores the next (report and bulletin versions) never collides. It is the
/// lock the audit chain takes to append (`FOR NO KEY UPDATE`, which rows that only
/// refer to the tenant do not wait for), taken earlier: no new order, no deadlock.
pub fn take_turn(conn: &mut DbConnection, tenant_id: &str) -> AppResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        tenants::table
            .find(tenant_id)
            .select(tenants::id)
            .for_no_key_update()
            .first::<String>(pg)?;
    }
    Ok(())
}

/// Every tenant, by slug.
pub fn list(conn: &mut DbConnection) -> AppResult<Vec<TenantRow>> {
    Ok(tenants::table
        .order(tenants::slug.asc())
        .load::<TenantRow>(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(is_slug("jc-task"));
        assert!(!is_slug("JC"));
        assert!(!is_slug("-x"));
    }

    fn row(profile: &str) -> TenantRow {
        TenantRow {
            id: "t".into(),
            slug: "renji".into(),
            name: "Renji".into(),
            establishments: "[]".into(),
            default_locale: "en".into(),
            audit_seq: 0,
            audit_head: GENESIS_HASH.into(),
            created_at: now_micros(),
            profile: profile.into(),
        }
    }

    #[test]
    fn unreadable_stored_notice_settings_are_an_error_not_defaults() {
        assert!(notice_settings(&row("{}")).is_ok());
        let window = r#"{"notices": {"send_window": {"start": "08:00", "end": "21:00", "time_zone": "Asia/Tokyo", "channels": ["sms"]}}}"#;
        assert!(notice_settings(&row(window)).unwrap().send_window.is_some());
        let gone = window.replace("Asia/Tokyo", "Mars/Olympus_Mons");
        let err = notice_settings(&row(&gone)).unwrap_err().to_string();
        assert!(err.contains("renji"), "{err}");
    }
}
