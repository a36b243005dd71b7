//! Dispatches: a snapshot of the plan and the notice content, approved by a second
//! person, turned into outbox rows, and tracked to the last person.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::plans::{IncidentNotices, NoticeService};
use super::{affected, from_json_text, new_id, notice_contents};
use crate::db::DbConnection;
use crate::db::schema::{dispatch_recipients, dispatches, notice_plans, obligations, outbox};
use crate::domain::{Channel, FieldError, format_instant, now_micros};
use crate::error::{AppError, AppResult};
use crate::notices::Audience;
use crate::notices::content::NoticeContent;
use crate::notices::plan::Route;

/// One dispatch as stored.
#[derive(Debug, Clone, Queryable)]
pub struct DispatchRow {
    /// Identifier.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Incident.
    pub incident_id: String,
    /// `awaiting_approval`, `approved`, `sending` or `completed`.
    pub status: String,
    /// JSON snapshot of the notice content sent.
    pub content: String,
    /// SHA-256 over that content and every template it is rendered with.
    pub content_hash: String,
    /// Key the per-person notice-page tokens are derived from.
    pub link_secret: String,
    /// People in the dispatch.
    pub recipients: i64,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<NaiveDateTime>,
    /// When every person was done.
    pub completed_at: Option<NaiveDateTime>,
}

impl DispatchRow {
    /// The notice content approved for sending.
    pub fn content(&self) -> AppResult<NoticeContent> {
        let v: Value = from_json_text(&self.content)?;
        Ok(NoticeContent {
            default_locale: v["default_locale"].as_str().unwrap_or("en").to_owned(),
            locales: serde_json::from_value(v["locales"].clone())
                .map_err(|e| AppError::Unexpected(e.into()))?,
        })
    }
}

/// Hash binding an approval to exactly this content and these templates.
fn content_hash(
    service: &NoticeService,
    tenant_id: &str,
    conn: &mut DbConnection,
    content: &NoticeContent,
    pairs: &[(String, Audience)],
) -> AppResult<String> {
    let templates = service.templates_for(&super::tenants::get(conn, tenant_id)?.slug)?;
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_string(content).map_err(|e| AppError::Unexpected(e.into()))?);
    for (locale, audience) in pairs {
        for channel in Channel::ALL {
            hasher.update(
                templates
                    .content_hash(locale, *channel, *audience)
                    .map_err(AppError::Unexpected)?,
            );
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

fn audience_of(word: &str) -> Audience {
    if word == "guardian" {
        Audience::Guardian
    } else {
        Audience::Subject
    }
}

/// The (locale, audience) pairs of a dispatch's people.
fn pairs(conn: &mut DbConnection, dispatch_id: &str) -> AppResult<Vec<(String, Audience)>> {
    let rows: Vec<(String, String)> = dispatch_recipients::table
        .filter(dispatch_recipients::dispatch_id.eq(dispatch_id))
        .select((dispatch_recipients::locale, dispatch_recipients::audience))
        .distinct()
        .order((dispatch_recipients::locale, dispatch_recipients::audience))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(l, a)| (l, audience_of(&a)))
        .collect())
}

/// Creates a dispatch from the incident's current plan and notice content, and
/// freezes the affected set so later registry edits do not rewrite it.
pub fn create(
    conn: &mut DbConnection,
    service: &NoticeService,
    tenant_id: &str,
    incident_id: &str,
    by: &str,
) -> AppResult<DispatchRow> {
    super::incidents::get(conn, tenant_id, incident_id)?;
    let planned = notice_plans::table
        .find(incident_id)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !planned {
        return Err(AppError::Conflict(
            "no notice plan yet: POST …/plan first".into(),
        ));
    }
    let content = notice_contents::get(conn, tenant_id, incident_id)?
        .ok_or_else(|| {
            AppError::Conflict("no notice content yet: PUT …/notice-content first".into())
        })?
        .content;
    let id = new_id();
    let now = now_micros();
    let sql = "INSERT INTO dispatch_recipients (dispatch_id, external_id, tenant_id, audience, recipient_name, subject_name, locale, channels, postal_address, next_channel, state, link_token_hash, updated_at) \
               SELECT $1, external_id, tenant_id, audience, recipient_name, subject_name, locale, channels, postal_address, 0, \
               CASE WHEN unreachable THEN 'unreachable' ELSE 'pending' END, NULL, $2 FROM plan_entries WHERE incident_id = $3 AND tenant_id = $4";
    diesel::insert_into(dispatches::table)
        .values((
            dispatches::id.eq(&id),
            dispatches::tenant_id.eq(tenant_id),
            dispatches::incident_id.eq(incident_id),
            dispatches::status.eq("awaiting_approval"),
            dispatches::content
                .eq(serde_json::to_string(&content).map_err(|e| AppError::Unexpected(e.into()))?),
            dispatches::content_hash.eq(""),
            dispatches::link_secret.eq(hex::encode(random_16())),
            dispatches::recipients.eq(0),
            dispatches::created_by.eq(by),
            dispatches::created_at.eq(now),
        ))
        .execute(conn)?;
    let recipients = diesel::sql_query(sql)
        .bind::<Text, _>(&id)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(incident_id)
        .bind::<Text, _>(tenant_id)
        .execute(conn)? as i64;
    let pairs = pairs(conn, &id)?;
    let hash = content_hash(service, tenant_id, conn, &content, &pairs)?;
    diesel::update(dispatches::table.find(&id))
        .set((
            dispatches::content_hash.eq(&hash),
            dispatches::recipients.eq(recipients),
        ))
        .execute(conn)?;
    affected::freeze(conn, tenant_id, incident_id)?;
    get(conn, tenant_id, incident_id, &id)
}

/// Loads one of the incident's dispatches.
pub fn get(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    id: &str,
) -> AppResult<DispatchRow> {
    dispatches::table
        .filter(dispatches::tenant_id.eq(tenant_id))
        .filter(dispatches::incident_id.eq(incident_id))
        .filter(dispatches::id.eq(id))
        .first::<DispatchRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("dispatch {id}")))
}

/// Loads a dispatch by id alone (the worker's view).
pub fn by_id(conn: &mut DbConnection, id: &str) -> AppResult<DispatchRow> {
    Ok(dispatches::table.find(id).first::<DispatchRow>(conn)?)
}

/// Moves a dispatch to `sending` or `completed` (which also stamps `completed_at`).
pub fn set_status(conn: &mut DbConnection, id: &str, status: &str) -> AppResult<()> {
    let completed_at = (status == "completed").then(now_micros);
    diesel::update(dispatches::table.find(id))
        .set((
            dispatches::status.eq(status),
            dispatches::completed_at.eq(completed_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Approves a dispatch: a different person than its creator, the same content it was
/// created with, and every required item present in every locale, audience and
/// channel. Writes one outbox row per reachable person (their first channel) and a
/// notice-page token each, in the caller's transaction.
pub fn approve(
    conn: &mut DbConnection,
    service: Arc<NoticeService>,
    row: &DispatchRow,
    approver: &str,
) -> AppResult<()> {
    if row.status != "awaiting_approval" {
        return Err(AppError::Conflict(format!(
            "dispatch is {}, not awaiting approval",
            row.status
        )));
    }
    if row.created_by == approver {
        return Err(AppError::Conflict(format!(
            "four eyes: {approver} created this dispatch, so someone else must approve it"
        )));
    }
    let current = notice_contents::get(conn, &row.tenant_id, &row.incident_id)?.map(|s| s.content);
    let pairs = pairs(conn, &row.id)?;
    let approved = row.content()?;
    if current.as_ref() != Some(&approved)
        || content_hash(&service, &row.tenant_id, conn, &approved, &pairs)? != row.content_hash
    {
        return Err(AppError::Conflict(
            "the notice content or templates changed since this dispatch was created: create a new dispatch and approve that".into(),
        ));
    }
    check_content(conn, service, row, &pairs)?;
    enqueue_first_channels(conn, row)?;
    diesel::update(dispatches::table.find(&row.id))
        .set((
            dispatches::status.eq("approved"),
            dispatches::approved_by.eq(approver),
            dispatches::approved_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Refuses approval naming every required item missing, with locale and channels.
fn check_content(
    conn: &mut DbConnection,
    service: Arc<NoticeService>,
    row: &DispatchRow,
    pairs: &[(String, Audience)],
) -> AppResult<()> {
    let notices = IncidentNotices::load(conn, service, &row.tenant_id, &row.incident_id)?;
    let mut missing: BTreeMap<(String, String), (String, Vec<&'static str>)> = BTreeMap::new();
    for (locale, audience) in pairs {
        for channel in Channel::ALL {
            for check in notices.checklist(locale, *channel, *audience, true)? {
                if let (false, Some(reason)) = (check.present, check.reason) {
                    let entry = missing
                        .entry((locale.clone(), check.item.as_str().to_owned()))
                        .or_insert((reason, Vec::new()));
                    if !entry.1.contains(&channel.as_str()) {
                        entry.1.push(channel.as_str());
                    }
                }
            }
        }
    }
    let mut errors: Vec<FieldError> = missing
        .into_iter()
        .map(|((locale, item), (reason, channels))| {
            FieldError::new(
                format!("notice_content.locales.{locale}.{item}"),
                format!("{item}: {reason}; channels: {}", channels.join(", ")),
            )
        })
        .collect();
    errors.extend(sms_too_long(&notices, pairs)?);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The tenant's SMS segment limit, per locale and audience (an SMS carries no
/// personal field but the link, whose length is fixed).
fn sms_too_long(
    notices: &IncidentNotices,
    pairs: &[(String, Audience)],
) -> AppResult<Vec<FieldError>> {
    let max = notices.settings.sms_max_segments;
    let mut renderer = notices.renderer();
    let person = crate::notices::render::Person {
        notice_url: Some(notices.notice_url(&"0".repeat(super::plans::LINK_TOKEN_LEN))),
        ..Default::default()
    };
    let mut errors = Vec::new();
    for (locale, audience) in pairs {
        let sms = renderer
            .render(locale, Channel::Sms, *audience, &person)
            .map_err(AppError::Unexpected)?;
        let segments = crate::notices::sms::segments(sms.text.as_deref().unwrap_or(""));
        if segments.count > max {
            errors.push(FieldError::new(
                format!("notice_content.locales.{locale}.summary"),
                format!("the {locale} SMS takes {} segments ({}); the tenant allows {max}: shorten the summary", segments.count, segments.encoding),
            ));
        }
    }
    Ok(errors)
}

const ENQUEUE_PAGE: i64 = 2_000;

fn enqueue_first_channels(conn: &mut DbConnection, row: &DispatchRow) -> AppResult<()> {
    let mut after = String::new();
    let now = now_micros();
    loop {
        let people: Vec<(String, String)> = dispatch_recipients::table
            .filter(dispatch_recipients::dispatch_id.eq(&row.id))
            .filter(dispatch_recipients::state.eq("pending"))
            .filter(dispatch_recipients::external_id.gt(&after))
            .order(dispatch_recipients::external_id)
            .select((
                dispatch_recipients::external_id,
                dispatch_recipients::channels,
            ))
            .limit(ENQUEUE_PAGE)
            .load(conn)?;
        let Some(last) = people.last() else { break };
        after = last.0.clone();
        let mut rows = Vec::with_capacity(people.len());
        for (external_id, channels) in &people {
            let routes: Vec<Route> = from_json_text(channels)?;
            if let Some(first) = routes.first() {
                rows.push(NewOutboxRow::queued(row, external_id, first, now));
            }
            let token = link_token(row, external_id)?;
            diesel::update(dispatch_recipients::table.find((&row.id, external_id)))
                .set((
                    dispatch_recipients::link_token_hash.eq(token_hash(&token)),
                    dispatch_recipients::state.eq("queued"),
                ))
                .execute(conn)?;
        }
        insert_outbox(conn, &rows)?;
    }
    Ok(())
}

/// The notice-page token of one person: an HMAC of their id under the dispatch's
/// secret, so the worker can put the link in messages while only its hash is stored.
pub fn link_token(row: &DispatchRow, external_id: &str) -> AppResult<String> {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(row.link_secret.as_bytes())
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("link key: {e}")))?;
    mac.update(external_id.as_bytes());
    Ok(hex::encode(&mac.finalize().into_bytes()[..16]))
}

/// SHA-256 of a notice-page token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_16() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A new outbox row.
#[derive(Insertable)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub struct NewOutboxRow {
    id: String,
    tenant_id: String,
    dispatch_id: String,
    external_id: String,
    channel: String,
    address: String,
    status: String,
    run_at: NaiveDateTime,
    attempts: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl NewOutboxRow {
    /// A queued attempt of `route` for one person.
    pub fn queued(d: &DispatchRow, external_id: &str, route: &Route, now: NaiveDateTime) -> Self {
        Self {
            id: new_id(),
            tenant_id: d.tenant_id.clone(),
            dispatch_id: d.id.clone(),
            external_id: external_id.to_owned(),
            channel: route.channel.as_str().to_owned(),
            address: route.address.clone(),
            status: "queued".into(),
            run_at: now,
            attempts: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Inserts outbox rows in multi-row statements.
pub fn insert_outbox(conn: &mut DbConnection, rows: &[NewOutboxRow]) -> AppResult<()> {
    for chunk in rows.chunks(500) {
        let query = diesel::insert_into(outbox::table).values(chunk);
        match conn {
            DbConnection::Postgres(c) => query.execute(c)?,
            DbConnection::Sqlite(c) => query.execute(c)?,
        };
    }
    Ok(())
}

/// How the evidence of obligations a dispatch met begins: `dispatch <id>:`.
pub fn evidence_prefix(dispatch_id: &str) -> String {
    format!("dispatch {dispatch_id}:")
}

/// Counts of a dispatch's people and messages, its pace and whether it finishes in
/// time, for progress.
pub fn progress(conn: &mut DbConnection, row: &DispatchRow) -> AppResult<Value> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Text)]
        channel: String,
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let counts: Vec<Count> = diesel::sql_query(
        "SELECT channel, status, COUNT(*) AS n FROM outbox WHERE dispatch_id = $1 GROUP BY channel, status",
    )
    .bind::<Text, _>(&row.id)
    .load(conn)?;
    let unreachable = dispatch_recipients::table
        .filter(dispatch_recipients::dispatch_id.eq(&row.id))
        .filter(dispatch_recipients::state.eq("unreachable"))
        .count()
        .get_result::<i64>(conn)?;
    let mut totals: BTreeMap<&str, i64> = [
        "queued",
        "sending",
        "delivered",
        "sent",
        "handed_off",
        "failed",
        "bounced",
    ]
    .into_iter()
    .map(|s| (s, 0))
    .collect();
    let mut by_channel: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for c in &counts {
        if let Some(t) = totals.get_mut(c.status.as_str()) {
            *t += c.n;
        }
        *by_channel
            .entry(c.channel.clone())
            .or_default()
            .entry(c.status.clone())
            .or_default() += c.n;
    }
    let remaining: i64 = ["queued", "sending"]
        .iter()
        .filter_map(|s| totals.get(s))
        .sum();
    let mut counts = serde_json::to_value(&totals).map_err(|e| AppError::Unexpected(e.into()))?;
    counts["unreachable"] = json!(unreachable);
    let pace = pace(conn, row, remaining, now_micros())?;
    Ok(json!({
        "id": row.id,
        "incident_id": row.incident_id,
        "status": row.status,
        "recipients": row.recipients,
        "counts": counts,
        "by_channel": by_channel,
        "content_hash": row.content_hash,
        "created_by": row.created_by,
        "created_at": format_instant(row.created_at),
        "approved_by": row.approved_by,
        "approved_at": row.approved_at.map(format_instant),
        "completed_at": row.completed_at.map(format_instant),
        "rate_per_s": (pace.rate_per_s * 100.0).round() / 100.0,
        "eta_at": pace.eta_at.map(format_instant),
        "deadline_at": pace.deadline_at.map(format_instant),
        "meets_deadline": pace.meets_deadline,
    }))
}

/// Seconds of recent attempts the sending rate is measured over.
const RATE_WINDOW_SECS: i64 = 60;

/// How fast a dispatch goes and whether it finishes before the deadline it discharges.
struct Pace {
    /// Messages finished (sent, handed off or failed) per second over the last minute.
    rate_per_s: f64,
    /// When the queued and sending rows would be done at that rate.
    eta_at: Option<NaiveDateTime>,
    /// The earliest deadline (or target) of the incident's obligations to notify people.
    deadline_at: Option<NaiveDateTime>,
    /// Whether the dispatch finished, or will at `eta_at`, by `deadline_at`.
    meets_deadline: Option<bool>,
}

fn pace(
    conn: &mut DbConnection,
    row: &DispatchRow,
    remaining: i64,
    now: NaiveDateTime,
) -> AppResult<Pace> {
    let rate_per_s = recent_rate(conn, row, now)?;
    let eta_at = (remaining > 0 && rate_per_s > 0.0).then(|| {
        now + chrono::Duration::milliseconds((remaining as f64 / rate_per_s * 1000.0).ceil() as i64)
    });
    let deadline_at = deadline(conn, row)?;
    let finish = if row.status == "completed" {
        row.completed_at
    } else {
        eta_at
    };
    let meets_deadline = match (finish, deadline_at) {
        (Some(finish), Some(due)) => Some(finish <= due),
        (None, Some(due)) if now > due => Some(false),
        _ => None,
    };
    Ok(Pace {
        rate_per_s,
        eta_at,
        deadline_at,
        meets_deadline,
    })
}

/// Attempts finished per second over the last minute, or since approval when that
/// is more recent (at least one second).
fn recent_rate(conn: &mut DbConnection, row: &DispatchRow, now: NaiveDateTime) -> AppResult<f64> {
    #[derive(QueryableByName)]
    struct Finished {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let Some(approved_at) = row.approved_at else {
        return Ok(0.0);
    };
    let since = approved_at.max(now - chrono::Duration::seconds(RATE_WINDOW_SECS));
    // CROSS JOIN makes SQLite walk the last minute's attempts (index on `at`) rather
    // than every row of a large dispatch; PostgreSQL plans it as the inner join it is.
    let finished: Finished = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM delivery_attempts a CROSS JOIN outbox o \
         WHERE o.id = a.outbox_id AND a.at >= $1 AND o.dispatch_id = $2 \
         AND a.result IN ('sent', 'handed_off', 'failed')",
    )
    .bind::<Timestamp, _>(since)
    .bind::<Text, _>(&row.id)
    .get_result(conn)?;
    let seconds = ((now - since).num_milliseconds() as f64 / 1000.0).max(1.0);
    Ok(finished.n as f64 / seconds)
}

/// The earliest due time (or target, for "without undue delay") of the incident's
/// obligations to notify people that are open or were met by this dispatch.
fn deadline(conn: &mut DbConnection, row: &DispatchRow) -> AppResult<Option<NaiveDateTime>> {
    let met_by_this = format!("{}%", evidence_prefix(&row.id));
    let due: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = obligations::table
        .filter(obligations::tenant_id.eq(&row.tenant_id))
        .filter(obligations::incident_id.eq(&row.incident_id))
        .filter(obligations::recipient.eq("subjects"))
        .filter(
            obligations::status
                .eq("open")
                .or(obligations::evidence.like(met_by_this)),
        )
        .select((obligations::due_at, obligations::target_at))
        .load(conn)?;
    Ok(due
        .into_iter()
        .filter_map(|(due, target)| due.or(target))
        .min())
}

/// (person, channel, at, result, provider, provider id, detail) of one attempt.
type AttemptRow = (
    String,
    String,
    NaiveDateTime,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Columns of the dispatch ledger.
pub const LEDGER_HEADER: [&str; 10] = [
    "external_id",
    "recipient",
    "locale",
    "person_state",
    "channel",
    "at",
    "result",
    "provider",
    "provider_id",
    "detail",
];

/// One page of the ledger: every person after `after` (by id) with every attempt,
/// one line per attempt (one line with empty attempt columns for people never tried).
pub fn ledger_page(
    conn: &mut DbConnection,
    dispatch_id: &str,
    after: &str,
    limit: i64,
) -> AppResult<(Vec<[String; 10]>, Option<String>)> {
    use crate::db::schema::delivery_attempts as a;
    let people: Vec<(String, String, String, String)> = dispatch_recipients::table
        .filter(dispatch_recipients::dispatch_id.eq(dispatch_id))
        .filter(dispatch_recipients::external_id.gt(after))
        .order(dispatch_recipients::external_id)
        .select((
            dispatch_recipients::external_id,
            dispatch_recipients::audience,
            dispatch_recipients::locale,
            dispatch_recipients::state,
        ))
        .limit(limit)
        .load(conn)?;
    let ids: Vec<&String> = people.iter().map(|p| &p.0).collect();
    let attempts: Vec<AttemptRow> = outbox::table
        .inner_join(a::table.on(a::outbox_id.eq(outbox::id)))
        .filter(outbox::dispatch_id.eq(dispatch_id))
        .filter(outbox::external_id.eq_any(ids))
        .order((outbox::external_id, a::at))
        .select((
            outbox::external_id,
            outbox::channel,
            a::at,
            a::result,
            a::provider,
            a::provider_id,
            a::detail,
        ))
        .load(conn)?;
    let mut by_person: BTreeMap<&str, Vec<&AttemptRow>> = BTreeMap::new();
    for attempt in &attempts {
        by_person
            .entry(attempt.0.as_str())
            .or_default()
            .push(attempt);
    }
    let mut lines = Vec::new();
    for (id, audience, locale, state) in &people {
        let person = [id.clone(), audience.clone(), locale.clone(), state.clone()];
        match by_person.get(id.as_str()) {
            None => lines.push([
                person[0].clone(),
                person[1].clone(),
                person[2].clone(),
                person[3].clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]),
            Some(list) => {
                for (_, channel, at, result, provider, provider_id, detail) in list {
                    lines.push([
                        person[0].clone(),
                        person[1].clone(),
                        person[2].clone(),
                        person[3].clone(),
                        channel.clone(),
                        format_instant(*at),
                        result.clone(),
                        provider.clone().unwrap_or_default(),
                        provider_id.clone().unwrap_or_default(),
                        detail.clone().unwrap_or_default(),
                    ]);
                }
            }
        }
    }
    let next = (people.len() as i64 == limit)
        .then(|| people.last().map(|p| p.0.clone()))
        .flatten();
    Ok((lines, next))
}
