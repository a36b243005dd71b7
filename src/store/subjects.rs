//! The subject registry: batch upserts for imports, single-subject reads and changes.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel::upsert::excluded;
use serde_json::{Value, json};

use crate::db::DbConnection;
use crate::db::schema::subjects;
use crate::domain::{
    Jurisdiction, Subject, categories_of_mask, category_mask, decode_systems, encode_systems,
    format_instant, now_micros,
};
use crate::error::{AppError, AppResult};

/// Rows per insert statement. A full batch is a fixed-size array, so diesel
/// prepares its statement once and reuses it (21 columns × 1000 rows stays
/// under SQLite's and PostgreSQL's bind-parameter limits).
pub const UPSERT_BATCH: usize = 1000;

/// One subject as written by an upsert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = subjects, treat_none_as_default_value = false)]
pub struct SubjectRecord {
    tenant_id: String,
    external_id: String,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    locale: Option<String>,
    jurisdiction: Option<String>,
    birth_date: Option<NaiveDate>,
    guardian_name: Option<String>,
    guardian_email: Option<String>,
    guardian_phone: Option<String>,
    push_token: Option<String>,
    postal_address: Option<String>,
    preferred_channel: Option<&'static str>,
    systems: String,
    categories: i64,
    content_hash: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    guardian_push_token: Option<String>,
    guardian_postal_address: Option<String>,
}

impl SubjectRecord {
    /// The stored form of `s` for `tenant_id`, stamped `now`.
    pub fn new(tenant_id: &str, s: Subject, now: NaiveDateTime) -> Self {
        let content_hash = s.content_hash();
        Self {
            tenant_id: tenant_id.to_owned(),
            systems: encode_systems(&s.systems),
            categories: category_mask(&s.data_categories),
            content_hash,
            external_id: s.external_id,
            name: s.name,
            email: s.email,
            phone: s.phone,
            locale: s.locale,
            jurisdiction: s.jurisdiction.map(|j| j.as_str().to_owned()),
            birth_date: s.birth_date,
            guardian_name: s.guardian_name,
            guardian_email: s.guardian_email,
            guardian_phone: s.guardian_phone,
            push_token: s.push_token,
            postal_address: s.postal_address,
            preferred_channel: s.preferred_channel.map(|c| c.as_str()),
            created_at: now,
            updated_at: now,
            guardian_push_token: s.guardian_push_token,
            guardian_postal_address: s.guardian_postal_address,
        }
    }
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    /// New subjects.
    pub inserted: u64,
    /// Existing subjects whose values changed.
    pub updated: u64,
    /// Existing subjects sent with the same values (left alone).
    pub unchanged: u64,
}

impl std::ops::AddAssign for UpsertCounts {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// Inserts or changes `rows` (distinct external ids of one tenant), batch by
/// batch: existing rows are looked up by key, unchanged ones are left alone,
/// new ones are inserted and changed ones replaced (keeping `created_at`).
/// `all_new` (the tenant had no subjects when this transaction began, and the
/// ids are distinct) skips the look-ups.
pub fn upsert(
    conn: &mut DbConnection,
    mut rows: Vec<SubjectRecord>,
    all_new: bool,
) -> AppResult<UpsertCounts> {
    let mut counts = UpsertCounts::default();
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(UPSERT_BATCH));
        counts += if all_new {
            UpsertCounts {
                inserted: insert_new(conn, rows)?,
                ..UpsertCounts::default()
            }
        } else {
            upsert_batch(conn, rows)?
        };
        rows = rest;
    }
    Ok(counts)
}

/// Whether the tenant has no subjects yet.
pub fn is_empty(conn: &mut DbConnection, tenant_id: &str) -> AppResult<bool> {
    let any = subjects::table
        .filter(subjects::tenant_id.eq(tenant_id))
        .select(subjects::external_id)
        .first::<String>(conn)
        .optional()?;
    Ok(any.is_none())
}

fn upsert_batch(conn: &mut DbConnection, rows: Vec<SubjectRecord>) -> AppResult<UpsertCounts> {
    let Some(tenant_id) = rows.first().map(|r| r.tenant_id.clone()) else {
        return Ok(UpsertCounts::default());
    };
    let existing: HashMap<String, (i64, NaiveDateTime)> = subjects::table
        .filter(subjects::tenant_id.eq(&tenant_id))
        .filter(subjects::external_id.eq_any(rows.iter().map(|r| r.external_id.as_str())))
        .select((
            subjects::external_id,
            (subjects::content_hash, subjects::created_at),
        ))
        .load::<(String, (i64, NaiveDateTime))>(conn)?
        .into_iter()
        .collect();
    let mut counts = UpsertCounts::default();
    let (mut new, mut changed) = (Vec::new(), Vec::new());
    for mut row in rows {
        match existing.get(&row.external_id) {
            None => new.push(row),
            Some((hash, _)) if *hash == row.content_hash => counts.unchanged += 1,
            Some((_, created_at)) => {
                row.created_at = *created_at;
                changed.push(row);
            }
        }
    }
    counts.inserted = insert_new(conn, new)?;
    counts.updated = replace_changed(conn, changed)?;
    Ok(counts)
}

/// Inserts rows known to be new: `COPY … FROM STDIN (FORMAT binary)` on
/// PostgreSQL; plain multi-row inserts on SQLite, where a full batch is a
/// fixed-size array so its prepared statement is cached.
fn insert_new(conn: &mut DbConnection, rows: Vec<SubjectRecord>) -> AppResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let sqlite = match conn {
        DbConnection::Postgres(c) => {
            let copied = diesel::copy_from(subjects::table)
                .from_insertable(rows)
                .execute(c)?;
            return Ok(copied as u64);
        }
        DbConnection::Sqlite(c) => c,
    };
    // Boxed: a thousand records are too large for a thread's stack.
    let written = match <Box<[SubjectRecord; UPSERT_BATCH]>>::try_from(rows.into_boxed_slice()) {
        Ok(full) => diesel::insert_into(subjects::table)
            .values(full)
            .execute(sqlite)?,
        Err(rows) => diesel::insert_into(subjects::table)
            .values(&rows.into_vec())
            .execute(sqlite)?,
    };
    Ok(written as u64)
}

/// Rewrites changed rows: `REPLACE` on SQLite (which cannot batch an
/// `ON CONFLICT` through diesel), `ON CONFLICT … DO UPDATE` on PostgreSQL.
fn replace_changed(conn: &mut DbConnection, rows: Vec<SubjectRecord>) -> AppResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let written = match conn {
        DbConnection::Sqlite(c) => diesel::replace_into(subjects::table)
            .values(&rows)
            .execute(c)?,
        DbConnection::Postgres(c) => diesel::insert_into(subjects::table)
            .values(&rows)
            .on_conflict((subjects::tenant_id, subjects::external_id))
            .do_update()
            .set((
                subjects::name.eq(excluded(subjects::name)),
                subjects::email.eq(excluded(subjects::email)),
                subjects::phone.eq(excluded(subjects::phone)),
                subjects::locale.eq(excluded(subjects::locale)),
                subjects::jurisdiction.eq(excluded(subjects::jurisdiction)),
                subjects::birth_date.eq(excluded(subjects::birth_date)),
                subjects::guardian_name.eq(excluded(subjects::guardian_name)),
                subjects::guardian_email.eq(excluded(subjects::guardian_email)),
                subjects::guardian_phone.eq(excluded(subjects::guardian_phone)),
                subjects::push_token.eq(excluded(subjects::push_token)),
                subjects::guardian_push_token.eq(excluded(subjects::guardian_push_token)),
                subjects::guardian_postal_address.eq(excluded(subjects::guardian_postal_address)),
                subjects::postal_address.eq(excluded(subjects::postal_address)),
                subjects::preferred_channel.eq(excluded(subjects::preferred_channel)),
                subjects::systems.eq(excluded(subjects::systems)),
                subjects::categories.eq(excluded(subjects::categories)),
                subjects::content_hash.eq(excluded(subjects::content_hash)),
                subjects::updated_at.eq(excluded(subjects::updated_at)),
            ))
            .execute(c)?,
    };
    Ok(written as u64)
}

/// One subject as stored.
#[derive(Debug, Clone, Queryable)]
pub struct SubjectRow {
    /// Owning tenant.
    pub tenant_id: String,
    /// See [`Subject`].
    pub external_id: String,
    /// See [`Subject`].
    pub name: Option<String>,
    /// See [`Subject`].
    pub email: Option<String>,
    /// See [`Subject`].
    pub phone: Option<String>,
    /// See [`Subject`].
    pub locale: Option<String>,
    /// Jurisdiction code.
    pub jurisdiction: Option<String>,
    /// See [`Subject`].
    pub birth_date: Option<NaiveDate>,
    /// See [`Subject`].
    pub guardian_name: Option<String>,
    /// See [`Subject`].
    pub guardian_email: Option<String>,
    /// See [`Subject`].
    pub guardian_phone: Option<String>,
    /// See [`Subject`].
    pub push_token: Option<String>,
    /// See [`Subject`].
    pub postal_address: Option<String>,
    /// Channel word.
    pub preferred_channel: Option<String>,
    /// `|a|b|` system names.
    pub systems: String,
    /// Category bit mask.
    pub categories: i64,
    /// Fingerprint of the values.
    pub content_hash: i64,
    /// First import.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// See [`Subject`].
    pub guardian_push_token: Option<String>,
    /// See [`Subject`].
    pub guardian_postal_address: Option<String>,
}

impl SubjectRow {
    /// The validated subject.
    pub fn subject(&self) -> AppResult<Subject> {
        let stored = |e: String| AppError::Unexpected(anyhow::anyhow!("stored subject: {e}"));
        Ok(Subject {
            external_id: self.external_id.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            locale: self.locale.clone(),
            jurisdiction: self
                .jurisdiction
                .as_deref()
                .map(Jurisdiction::parse)
                .transpose()
                .map_err(stored)?,
            birth_date: self.birth_date,
            guardian_name: self.guardian_name.clone(),
            guardian_email: self.guardian_email.clone(),
            guardian_phone: self.guardian_phone.clone(),
            guardian_push_token: self.guardian_push_token.clone(),
            guardian_postal_address: self.guardian_postal_address.clone(),
            push_token: self.push_token.clone(),
            postal_address: self.postal_address.clone(),
            preferred_channel: self
                .preferred_channel
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(stored)?,
            systems: decode_systems(&self.systems),
            data_categories: categories_of_mask(self.categories),
        })
    }

    /// The API representation.
    pub fn to_json(&self) -> AppResult<Value> {
        let mut view =
            serde_json::to_value(self.subject()?).map_err(|e| AppError::Unexpected(e.into()))?;
        if let Some(map) = view.as_object_mut() {
            map.insert("created_at".into(), json!(format_instant(self.created_at)));
            map.insert("updated_at".into(), json!(format_instant(self.updated_at)));
        }
        Ok(view)
    }
}

/// Loads one of the tenant's subjects; any other id is "not found".
pub fn get(conn: &mut DbConnection, tenant_id: &str, external_id: &str) -> AppResult<SubjectRow> {
    subjects::table
        .filter(subjects::tenant_id.eq(tenant_id))
        .filter(subjects::external_id.eq(external_id))
        .first::<SubjectRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("subject".into()))
}

/// Replaces one subject's values (the caller loaded it first).
pub fn replace(
    conn: &mut DbConnection,
    tenant_id: &str,
    subject: Subject,
) -> AppResult<SubjectRow> {
    let external_id = subject.external_id.clone();
    upsert(
        conn,
        vec![SubjectRecord::new(tenant_id, subject, now_micros())],
        false,
    )?;
    get(conn, tenant_id, &external_id)
}

/// Removes one subject; affected sets already computed keep their copy.
pub fn delete(conn: &mut DbConnection, tenant_id: &str, external_id: &str) -> AppResult<()> {
    let removed = diesel::delete(
        subjects::table
            .filter(subjects::tenant_id.eq(tenant_id))
            .filter(subjects::external_id.eq(external_id)),
    )
    .execute(conn)?;
    if removed == 0 {
        return Err(AppError::NotFound("subject".into()));
    }
    Ok(())
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct SubjectFilter {
    /// Only this jurisdiction code.
    pub jurisdiction: Option<String>,
    /// Only subjects in this system.
    pub system: Option<String>,
    /// Start after this external id (keyset paging).
    pub after: Option<String>,
}

/// A page of the tenant's subjects in `external_id` order.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    filter: &SubjectFilter,
    limit: i64,
) -> AppResult<Vec<SubjectRow>> {
    let contains = system_contains_sql(conn);
    let mut query = subjects::table
        .filter(subjects::tenant_id.eq(tenant_id))
        .order(subjects::external_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(j) = &filter.jurisdiction {
        query = query.filter(subjects::jurisdiction.eq(j.clone()));
    }
    if let Some(system) = &filter.system {
        query = query.filter(
            diesel::dsl::sql::<Bool>(contains)
                .bind::<Text, _>(format!("|{system}|"))
                .sql(") > 0"),
        );
    }
    if let Some(after) = &filter.after {
        query = query.filter(subjects::external_id.gt(after.clone()));
    }
    Ok(query.load::<SubjectRow>(conn)?)
}

/// The start of a case-sensitive "`systems` contains" test, completed with
/// the bound `|name|` and `) > 0`.
pub fn system_contains_sql(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Postgres(_) => "strpos(systems, ",
        DbConnection::Sqlite(_) => "instr(systems, ",
    }
}
