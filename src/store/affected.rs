//! Incident scopes and the materialised affected set.
//!
//! A recompute writes a new affected set (an integer key in `affected_sets`)
//! with one `INSERT … SELECT` over the registry, copying what a notice needs
//! (name, contacts, locale, jurisdiction, minor flag, guardian contacts),
//! points the scope at it and stores the summary as JSON on the scope row; the
//! superseded set is removed afterwards by [`purge_superseded`], in its own
//! transaction, so a recompute never waits for a million-row delete. Registry
//! edits therefore change an affected set only when it is recomputed, and
//! [`freeze`] (called when notices are sent) makes it final: recomputing a
//! frozen set is a conflict.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;
use serde_json::{Value, json};

use super::sql::{Bind, Statement};
use super::{from_json_text, incidents, tenants, to_json_text};
use crate::db::DbConnection;
use crate::db::schema::{
    affected_sets, affected_subjects, desk_contacts, incident_scopes, scope_subject_ids,
};
use crate::domain::{
    AffectedGroup, AffectedSummary, DataCategory, Scope, adult_born_on_or_before,
    categories_of_mask, category_mask, channel_bits, format_instant, now_micros, spreadsheet_safe,
};
use crate::error::{AppError, AppResult};

/// Rows per insert when storing a `subject_ids` list.
const ID_BATCH: usize = 5_000;

/// An incident's scope as stored, with what its last recompute produced.
#[derive(Debug, Clone, Default)]
pub struct ScopeState {
    /// The criteria.
    pub scope: Scope,
    /// Length of the explicit `subject_ids` list.
    pub subject_ids_count: i64,
    /// Summary of the last recompute.
    pub summary: AffectedSummary,
    /// When the set was last computed.
    pub computed_at: Option<NaiveDateTime>,
    /// When the set was frozen for sending notices.
    pub frozen_at: Option<NaiveDateTime>,
    /// Key of the current set's rows in `affected_subjects`.
    pub set_id: Option<i64>,
}

impl ScopeState {
    /// Whether no criterion is set (such a scope affects nobody).
    pub fn is_empty(&self) -> bool {
        self.scope.systems.is_empty()
            && self.scope.data_categories.is_empty()
            && self.scope.jurisdictions.is_empty()
            && self.subject_ids_count == 0
    }

    /// The API representation of the scope.
    pub fn scope_json(&self) -> Value {
        json!({
            "systems": self.scope.systems,
            "data_categories": self.scope.data_categories,
            "jurisdictions": self.scope.jurisdictions,
            "subject_ids_count": self.subject_ids_count,
            "computed_at": self.computed_at.map(format_instant),
            "frozen_at": self.frozen_at.map(format_instant),
        })
    }

    /// The API representation of the summary.
    pub fn summary_json(&self) -> Value {
        let mut view = serde_json::to_value(&self.summary).unwrap_or(Value::Null);
        if let Some(map) = view.as_object_mut() {
            map.insert(
                "computed_at".into(),
                json!(self.computed_at.map(format_instant)),
            );
        }
        view
    }
}

#[derive(Queryable)]
struct ScopeRow {
    systems: String,
    data_categories: String,
    jurisdictions: String,
    subject_ids_count: i64,
    summary: Option<String>,
    computed_at: Option<NaiveDateTime>,
    frozen_at: Option<NaiveDateTime>,
    set_id: Option<i64>,
}

/// The incident's scope (empty when never set). Checks the incident is the tenant's.
pub fn get_scope(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<ScopeState> {
    incidents::get(conn, tenant_id, incident_id)?;
    let row = incident_scopes::table
        .filter(incident_scopes::tenant_id.eq(tenant_id))
        .filter(incident_scopes::incident_id.eq(incident_id))
        .select((
            incident_scopes::systems,
            incident_scopes::data_categories,
            incident_scopes::jurisdictions,
            incident_scopes::subject_ids_count,
            incident_scopes::summary,
            incident_scopes::computed_at,
            incident_scopes::frozen_at,
            incident_scopes::set_id,
        ))
        .first::<ScopeRow>(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(ScopeState::default());
    };
    Ok(ScopeState {
        scope: Scope {
            systems: from_json_text(&row.systems)?,
            data_categories: from_json_text(&row.data_categories)?,
            jurisdictions: from_json_text(&row.jurisdictions)?,
        },
        subject_ids_count: row.subject_ids_count,
        summary: row
            .summary
            .as_deref()
            .map(from_json_text)
            .transpose()?
            .unwrap_or_default(),
        computed_at: row.computed_at,
        frozen_at: row.frozen_at,
        set_id: row.set_id,
    })
}

fn refuse_if_frozen(state: &ScopeState) -> AppResult<()> {
    match state.frozen_at {
        Some(at) => Err(AppError::Conflict(format!(
            "the affected set was frozen at {} when notices were sent; it can no longer change",
            format_instant(at)
        ))),
        None => Ok(()),
    }
}

/// Replaces the scope: criteria and explicit id list. Call [`recompute`]
/// afterwards in the same transaction.
pub fn put_scope(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    scope: &Scope,
    subject_ids: &[String],
) -> AppResult<()> {
    let state = get_scope(conn, tenant_id, incident_id)?;
    refuse_if_frozen(&state)?;
    ensure_row(conn, tenant_id, incident_id)?;
    diesel::update(incident_scopes::table.find(incident_id))
        .set((
            incident_scopes::systems.eq(to_json_text(&scope.systems)?),
            incident_scopes::data_categories.eq(to_json_text(&scope.data_categories)?),
            incident_scopes::jurisdictions.eq(to_json_text(&scope.jurisdictions)?),
            incident_scopes::updated_at.eq(now_micros()),
        ))
        .execute(conn)?;
    replace_subject_ids(
        conn,
        tenant_id,
        incident_id,
        subject_ids.iter().map(String::as_str),
    )?;
    Ok(())
}

/// Replaces the scope's explicit id list (the ids are distinct); returns its length.
pub fn replace_subject_ids<'a>(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    ids: impl Iterator<Item = &'a str>,
) -> AppResult<i64> {
    refuse_if_frozen(&get_scope(conn, tenant_id, incident_id)?)?;
    ensure_row(conn, tenant_id, incident_id)?;
    diesel::delete(scope_subject_ids::table.filter(scope_subject_ids::incident_id.eq(incident_id)))
        .execute(conn)?;
    let mut count = 0;
    let mut batch = Vec::with_capacity(ID_BATCH);
    for id in ids {
        batch.push((
            scope_subject_ids::incident_id.eq(incident_id),
            scope_subject_ids::external_id.eq(id),
        ));
        if batch.len() == ID_BATCH {
            count += with_backend!(conn, c => diesel::insert_into(scope_subject_ids::table)
                .values(&batch)
                .execute(c)?);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        count += with_backend!(conn, c => diesel::insert_into(scope_subject_ids::table)
                .values(&batch)
                .execute(c)?);
    }
    let count = i64::try_from(count).map_err(|e| AppError::Unexpected(e.into()))?;
    diesel::update(incident_scopes::table.find(incident_id))
        .set((
            incident_scopes::subject_ids_count.eq(count),
            incident_scopes::updated_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(count)
}

fn ensure_row(conn: &mut DbConnection, tenant_id: &str, incident_id: &str) -> AppResult<()> {
    let exists = incident_scopes::table
        .find(incident_id)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        let empty = to_json_text(&Vec::<String>::new())?;
        diesel::insert_into(incident_scopes::table)
            .values((
                incident_scopes::incident_id.eq(incident_id),
                incident_scopes::tenant_id.eq(tenant_id),
                incident_scopes::systems.eq(&empty),
                incident_scopes::data_categories.eq(&empty),
                incident_scopes::jurisdictions.eq(&empty),
                incident_scopes::subject_ids_count.eq(0),
                incident_scopes::updated_at.eq(now_micros()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Marks the affected set final (notices are being sent from it); later
/// scope changes and recomputes are refused with 409.
pub fn freeze(conn: &mut DbConnection, tenant_id: &str, incident_id: &str) -> AppResult<()> {
    incidents::get(conn, tenant_id, incident_id)?;
    ensure_row(conn, tenant_id, incident_id)?;
    diesel::update(
        incident_scopes::table
            .find(incident_id)
            .filter(incident_scopes::frozen_at.is_null()),
    )
    .set(incident_scopes::frozen_at.eq(now_micros()))
    .execute(conn)?;
    Ok(())
}

/// Rebuilds the incident's affected set from the registry and stores its summary.
pub fn recompute(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<ScopeState> {
    let mut state = get_scope(conn, tenant_id, incident_id)?;
    refuse_if_frozen(&state)?;
    ensure_row(conn, tenant_id, incident_id)?;
    let aware_on = incidents::get(conn, tenant_id, incident_id)?
        .aware_at
        .date();
    let now = now_micros();
    let set_id: i64 = diesel::insert_into(affected_sets::table)
        .values((
            affected_sets::incident_id.eq(incident_id),
            affected_sets::created_at.eq(now),
        ))
        .returning(affected_sets::id)
        .get_result(conn)?;
    let groups = super::with_bulk_cache(conn, |conn| {
        if !state.is_empty() {
            affected_select(conn, (tenant_id, incident_id), set_id, &state, aware_on)
                .execute(conn)?;
        }
        groups(conn, set_id)
    })?;
    let default_locale = tenants::get(conn, tenant_id)?.default_locale;
    state.summary = AffectedSummary::from_groups(&groups, &default_locale);
    state.computed_at = Some(now);
    state.set_id = Some(set_id);
    diesel::update(incident_scopes::table.find(incident_id))
        .set((
            incident_scopes::summary.eq(Some(to_json_text(&state.summary)?)),
            incident_scopes::computed_at.eq(Some(now)),
            incident_scopes::set_id.eq(Some(set_id)),
        ))
        .execute(conn)?;
    Ok(state)
}

/// Deletes the incident's superseded affected sets (those older than the
/// current one); returns the rows removed. Safe to run at any time and more
/// than once: a set left behind by an interrupted purge goes with the next.
/// Only older ids count as superseded, so a recompute that commits while a
/// purge runs (PostgreSQL) never loses the set it just wrote.
pub fn purge_superseded(conn: &mut DbConnection, incident_id: &str) -> AppResult<usize> {
    let Some(current) = current_set(conn, incident_id)? else {
        return Ok(0);
    };
    let stale: Vec<i64> = affected_sets::table
        .filter(affected_sets::incident_id.eq(incident_id))
        .filter(affected_sets::id.lt(current))
        .select(affected_sets::id)
        .load::<i64>(conn)?;
    if stale.is_empty() {
        return Ok(0);
    }
    let removed = super::with_bulk_cache(conn, |conn| {
        diesel::delete(desk_contacts::table.filter(desk_contacts::set_id.eq_any(&stale)))
            .execute(conn)?;
        Ok(diesel::delete(
            affected_subjects::table.filter(affected_subjects::set_id.eq_any(&stale)),
        )
        .execute(conn)?)
    })?;
    diesel::delete(affected_sets::table.filter(affected_sets::id.eq_any(&stale))).execute(conn)?;
    Ok(removed)
}

/// The key of the incident's current affected set, if one was computed.
pub fn current_set(conn: &mut DbConnection, incident_id: &str) -> AppResult<Option<i64>> {
    Ok(incident_scopes::table
        .find(incident_id)
        .select(incident_scopes::set_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten())
}

/// `INSERT INTO affected_subjects SELECT …` for the scope: a subject matches
/// when it meets every non-empty criterion.
fn affected_select(
    conn: &DbConnection,
    (tenant_id, incident_id): (&str, &str),
    set_id: i64,
    state: &ScopeState,
    aware_on: NaiveDate,
) -> Statement {
    let mut st = Statement::new();
    let set = st.bind(Bind::BigInt(set_id));
    let cutoff = st.bind(Bind::Date(adult_born_on_or_before(aware_on)));
    let minor = format!("(s.birth_date IS NOT NULL AND s.birth_date > {cutoff})");
    let scope_mask = category_mask(&state.scope.data_categories);
    let exposed = if scope_mask == 0 {
        "s.categories".to_owned()
    } else {
        format!("(s.categories & {})", st.bind(Bind::BigInt(scope_mask)))
    };
    let reach = |guardian: &str, own: &str, bit: i32| {
        format!(
            "CASE WHEN (CASE WHEN {minor} THEN s.{guardian} ELSE s.{own} END) IS NULL THEN 0 ELSE {bit} END"
        )
    };
    // A minor is reached only through a guardian contact, on every channel.
    let channels = format!(
        "{} + {} + {} + {}",
        reach("guardian_email", "email", channel_bits::EMAIL),
        reach("guardian_phone", "phone", channel_bits::SMS),
        reach("guardian_push_token", "push_token", channel_bits::PUSH),
        reach(
            "guardian_postal_address",
            "postal_address",
            channel_bits::LETTER
        ),
    );
    st.sql = format!(
        "INSERT INTO affected_subjects (set_id, external_id, name, email, phone, locale, \
         jurisdiction, minor, guardian_name, guardian_email, guardian_phone, push_token, postal_address, \
         preferred_channel, exposed_categories, channels, guardian_push_token, guardian_postal_address) \
         SELECT {set}, s.external_id, s.name, s.email, s.phone, s.locale, s.jurisdiction, \
         {minor}, s.guardian_name, s.guardian_email, s.guardian_phone, s.push_token, s.postal_address, \
         s.preferred_channel, {exposed}, {channels}, s.guardian_push_token, s.guardian_postal_address \
         FROM subjects s WHERE s.tenant_id = {}",
        st.bind(Bind::Text(tenant_id.to_owned())),
    );
    let criteria = criteria(conn, &mut st, incident_id, state, scope_mask);
    for criterion in criteria {
        st.sql.push_str(" AND ");
        st.sql.push_str(&criterion);
    }
    st
}

fn criteria(
    conn: &DbConnection,
    st: &mut Statement,
    incident_id: &str,
    state: &ScopeState,
    scope_mask: i64,
) -> Vec<String> {
    let mut out = Vec::new();
    if !state.scope.systems.is_empty() {
        let contains = super::subjects::system_contains_sql(conn).replace("systems", "s.systems");
        let any = state
            .scope
            .systems
            .iter()
            .map(|s| format!("{contains}{}) > 0", st.bind(Bind::Text(format!("|{s}|")))))
            .collect::<Vec<_>>();
        out.push(format!("({})", any.join(" OR ")));
    }
    if scope_mask != 0 {
        out.push(format!(
            "(s.categories & {}) <> 0",
            st.bind(Bind::BigInt(scope_mask))
        ));
    }
    if !state.scope.jurisdictions.is_empty() {
        let codes = state
            .scope
            .jurisdictions
            .iter()
            .map(|j| st.bind(Bind::Text(j.as_str().to_owned())))
            .collect::<Vec<_>>();
        out.push(format!("s.jurisdiction IN ({})", codes.join(", ")));
    }
    if state.subject_ids_count > 0 {
        let incident = st.bind(Bind::Text(incident_id.to_owned()));
        out.push(format!(
            "s.external_id IN (SELECT x.external_id FROM scope_subject_ids x WHERE x.incident_id = {incident})"
        ));
    }
    out
}

/// Adds up the affected set by (jurisdiction, locale, minor, channels) in one
/// streamed scan; a SQL `GROUP BY` would sort every row first. Each row is
/// read as one `jurisdiction,locale` text and one `minor × 16 + channels`
/// number (codes and locales never contain a comma), which halves the cost
/// of reading a million rows.
fn groups(conn: &mut DbConnection, set_id: i64) -> AppResult<Vec<AffectedGroup>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Integer;
    let mut counts: HashMap<(String, i32), i64> = HashMap::new();
    let query = affected_subjects::table
        .filter(affected_subjects::set_id.eq(set_id))
        .select((
            sql::<Text>("COALESCE(jurisdiction, '') || ',' || COALESCE(locale, '')"),
            sql::<Integer>("CASE WHEN minor THEN 16 ELSE 0 END + channels"),
        ));
    with_backend!(conn, c => {
        for row in query.load_iter::<(String, i32), DefaultLoadingMode>(c)? {
            *counts.entry(row?).or_default() += 1;
        }
    });
    let present = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Ok(counts
        .into_iter()
        .map(|((place, key), count)| {
            let (jurisdiction, locale) = place.split_once(',').unwrap_or((&place, ""));
            AffectedGroup {
                jurisdiction: present(jurisdiction),
                locale: present(locale),
                minor: key & 16 != 0,
                channels: key & 15,
                count,
            }
        })
        .collect())
}

/// People affected in one jurisdiction, for the regime engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JurisdictionCount {
    /// Jurisdiction code.
    pub jurisdiction: String,
    /// Affected people living there.
    pub count: i64,
    /// Of whom younger than 18 on the incident's `aware_at` date.
    pub minors: i64,
}

impl ScopeState {
    /// Per-jurisdiction counts of the last recompute (people with no
    /// jurisdiction on record are left out), by code; read from the stored
    /// summary, so the regime engine never rescans the set.
    pub fn jurisdiction_counts(&self) -> Vec<JurisdictionCount> {
        let summary = &self.summary;
        summary
            .by_jurisdiction
            .iter()
            .map(|(code, count)| JurisdictionCount {
                jurisdiction: code.clone(),
                count: *count,
                minors: summary
                    .minors_by_jurisdiction
                    .get(code)
                    .copied()
                    .unwrap_or(0),
            })
            .collect()
    }
}

/// One affected person, as copied at the last recompute.
#[derive(Debug, Clone, Queryable)]
pub struct AffectedRow {
    /// The affected set (see [`ScopeState::set_id`]).
    pub set_id: i64,
    /// The subject's external id.
    pub external_id: String,
    /// Name.
    pub name: Option<String>,
    /// The subject's own e-mail address.
    pub email: Option<String>,
    /// The subject's own phone number.
    pub phone: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Jurisdiction code.
    pub jurisdiction: Option<String>,
    /// Younger than 18 on the incident's `aware_at` date.
    pub minor: bool,
    /// Guardian's name.
    pub guardian_name: Option<String>,
    /// Guardian's e-mail address.
    pub guardian_email: Option<String>,
    /// Guardian's phone number.
    pub guardian_phone: Option<String>,
    /// Push token.
    pub push_token: Option<String>,
    /// Postal address.
    pub postal_address: Option<String>,
    /// Preferred channel word.
    pub preferred_channel: Option<String>,
    /// Exposed categories as a bit mask.
    pub exposed_categories: i64,
    /// [`channel_bits`] the person can be reached on.
    pub channels: i32,
    /// Guardian's push token.
    pub guardian_push_token: Option<String>,
    /// Guardian's postal address.
    pub guardian_postal_address: Option<String>,
}

/// Column names of [`AffectedRow::csv_record`], for the CSV header.
pub const CSV_HEADER: [&str; 17] = [
    "external_id",
    "name",
    "email",
    "phone",
    "locale",
    "jurisdiction",
    "minor",
    "guardian_name",
    "guardian_email",
    "guardian_phone",
    "push_token",
    "postal_address",
    "preferred_channel",
    "exposed_categories",
    "channels",
    "guardian_push_token",
    "guardian_postal_address",
];

impl AffectedRow {
    /// Exposed data categories.
    pub fn exposed(&self) -> Vec<DataCategory> {
        categories_of_mask(self.exposed_categories)
    }

    /// Channels the person can be reached on, as words.
    pub fn channel_words(&self) -> Vec<&'static str> {
        [
            (channel_bits::EMAIL, "email"),
            (channel_bits::SMS, "sms"),
            (channel_bits::PUSH, "push"),
            (channel_bits::LETTER, "letter"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.channels & bit != 0)
        .map(|(_, word)| word)
        .collect()
    }

    /// The API representation.
    pub fn to_json(&self) -> Value {
        json!({
            "external_id": self.external_id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "locale": self.locale,
            "jurisdiction": self.jurisdiction,
            "minor": self.minor,
            "guardian_name": self.guardian_name,
            "guardian_email": self.guardian_email,
            "guardian_phone": self.guardian_phone,
            "push_token": self.push_token,
            "postal_address": self.postal_address,
            "preferred_channel": self.preferred_channel,
            "exposed_categories": self.exposed(),
            "channels": self.channel_words(),
            "guardian_push_token": self.guardian_push_token,
            "guardian_postal_address": self.guardian_postal_address,
        })
    }

    /// One CSV line in [`CSV_HEADER`] order; sets are `;`-separated, and names and
    /// addresses (free text) cannot start a spreadsheet formula.
    pub fn csv_record(&self) -> [String; 17] {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let free = |v: &Option<String>| spreadsheet_safe(v.as_deref().unwrap_or_default());
        let words = self
            .exposed()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>();
        [
            self.external_id.clone(),
            free(&self.name),
            text(&self.email),
            text(&self.phone),
            text(&self.locale),
            text(&self.jurisdiction),
            self.minor.to_string(),
            free(&self.guardian_name),
            text(&self.guardian_email),
            text(&self.guardian_phone),
            text(&self.push_token),
            free(&self.postal_address),
            text(&self.preferred_channel),
            words.join(";"),
            self.channel_words().join(";"),
            text(&self.guardian_push_token),
            free(&self.guardian_postal_address),
        ]
    }
}

/// A page of the incident's current affected set in `external_id` order,
/// after `after`. Checks the incident is the tenant's.
pub fn page(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<AffectedRow>> {
    incidents::get(conn, tenant_id, incident_id)?;
    let Some(set_id) = current_set(conn, incident_id)? else {
        return Ok(Vec::new());
    };
    let mut query = affected_subjects::table
        .filter(affected_subjects::set_id.eq(set_id))
        .order(affected_subjects::external_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(affected_subjects::external_id.gt(after.to_owned()));
    }
    Ok(query.load::<AffectedRow>(conn)?)
}

/// One person of the incident's current affected set (the caller checked
/// the incident is the tenant's).
pub fn person(
    conn: &mut DbConnection,
    incident_id: &str,
    external_id: &str,
) -> AppResult<Option<AffectedRow>> {
    let Some(set_id) = current_set(conn, incident_id)? else {
        return Ok(None);
    };
    Ok(affected_subjects::table
        .find((set_id, external_id))
        .first::<AffectedRow>(conn)
        .optional()?)
}
