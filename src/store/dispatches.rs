//! Dispatches: a snapshot of the plan and the notice content, approved by a second
//! person, tracked to the last person. The life cycle of the people and messages
//! of an approved dispatch is `store::delivery`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{from_json_text, new_id, to_json_text, word};
use crate::db::DbConnection;
use crate::db::schema::{dispatch_recipients, dispatches, outbox};
use crate::domain::{
    Audience, Channel, DispatchStatus, OutboxStatus, RecipientState, WindowHold, now_micros,
};
use crate::error::{AppError, AppResult};
use crate::notices::content::NoticeContent;
use crate::notices::plan::Route;

/// One dispatch as stored (every column, in table order).
#[derive(Queryable)]
struct StoredDispatch {
    id: String,
    tenant_id: String,
    incident_id: String,
    status: String,
    content: String,
    content_hash: String,
    link_secret: String,
    recipients: i64,
    created_by: String,
    created_at: NaiveDateTime,
    approved_by: Option<String>,
    approved_at: Option<NaiveDateTime>,
    completed_at: Option<NaiveDateTime>,
    warnings: String,
    cancelled_by: Option<String>,
    cancelled_at: Option<NaiveDateTime>,
}

/// One dispatch.
#[derive(Debug, Clone)]
pub struct DispatchRow {
    /// Identifier.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Incident.
    pub incident_id: String,
    /// Where it stands.
    pub status: DispatchStatus,
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
    /// What the approver should know (language downgrades), from the plan.
    pub warnings: Vec<String>,
    /// Who cancelled it.
    pub cancelled_by: Option<String>,
    /// When.
    pub cancelled_at: Option<NaiveDateTime>,
}

impl TryFrom<StoredDispatch> for DispatchRow {
    type Error = AppError;

    fn try_from(s: StoredDispatch) -> AppResult<Self> {
        Ok(Self {
            status: word("dispatch status", &s.status)?,
            warnings: from_json_text(&s.warnings)?,
            id: s.id,
            tenant_id: s.tenant_id,
            incident_id: s.incident_id,
            content: s.content,
            content_hash: s.content_hash,
            link_secret: s.link_secret,
            recipients: s.recipients,
            created_by: s.created_by,
            created_at: s.created_at,
            approved_by: s.approved_by,
            approved_at: s.approved_at,
            completed_at: s.completed_at,
            cancelled_by: s.cancelled_by,
            cancelled_at: s.cancelled_at,
        })
    }
}

impl DispatchRow {
    /// The notice content approved for sending.
    pub fn content(&self) -> AppResult<NoticeContent> {
        from_json_text(&self.content)
    }
}

/// What a new dispatch starts from.
pub struct NewDispatch<'a> {
    /// Tenant.
    pub tenant_id: &'a str,
    /// Incident.
    pub incident_id: &'a str,
    /// The notice content it sends.
    pub content: &'a NoticeContent,
    /// Who creates it.
    pub created_by: &'a str,
    /// What the approver should know.
    pub warnings: &'a [String],
}

/// Creates a dispatch awaiting approval with a snapshot of the incident's plan
/// (planned-unreachable people start `unreachable`); its hash is set after with
/// [`set_content_hash`], once the templates of its people are known.
pub fn insert(conn: &mut DbConnection, new: &NewDispatch<'_>) -> AppResult<DispatchRow> {
    let id = new_id();
    let now = now_micros();
    diesel::insert_into(dispatches::table)
        .values((
            dispatches::id.eq(&id),
            dispatches::tenant_id.eq(new.tenant_id),
            dispatches::incident_id.eq(new.incident_id),
            dispatches::status.eq(DispatchStatus::AwaitingApproval.as_str()),
            dispatches::content.eq(to_json_text(new.content)?),
            dispatches::content_hash.eq(""),
            dispatches::link_secret.eq(hex::encode(random_16())),
            dispatches::recipients.eq(0),
            dispatches::created_by.eq(new.created_by),
            dispatches::created_at.eq(now),
            dispatches::warnings.eq(to_json_text(&new.warnings)?),
        ))
        .execute(conn)?;
    let sql = format!(
        "INSERT INTO dispatch_recipients (dispatch_id, external_id, tenant_id, audience, recipient_name, subject_name, locale, channels, postal_address, next_channel, state, link_token_hash, updated_at, wanted_locale) \
         SELECT $1, external_id, tenant_id, audience, recipient_name, subject_name, locale, channels, postal_address, 0, \
         CASE WHEN unreachable THEN '{}' ELSE '{}' END, NULL, $2, wanted_locale FROM plan_entries WHERE incident_id = $3 AND tenant_id = $4",
        RecipientState::Unreachable.as_str(),
        RecipientState::Pending.as_str(),
    );
    let recipients = diesel::sql_query(sql)
        .bind::<Text, _>(&id)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(new.incident_id)
        .bind::<Text, _>(new.tenant_id)
        .execute(conn)? as i64;
    diesel::update(dispatches::table.find(&id))
        .set(dispatches::recipients.eq(recipients))
        .execute(conn)?;
    get(conn, new.tenant_id, new.incident_id, &id)
}

/// Binds the dispatch to its content and templates.
pub fn set_content_hash(conn: &mut DbConnection, id: &str, hash: &str) -> AppResult<()> {
    diesel::update(dispatches::table.find(id))
        .set(dispatches::content_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

/// The people of a dispatch who share a locale and audience, with every channel
/// planned for any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedGroup {
    /// Their notices' locale.
    pub locale: String,
    /// Person or guardian.
    pub audience: Audience,
    /// Channels planned for at least one of them.
    pub channels: BTreeSet<Channel>,
}

/// The (locale, audience) groups of a dispatch's people and the channels planned
/// for each: what its notices must be checked and hashed for.
pub fn planned_groups(conn: &mut DbConnection, dispatch_id: &str) -> AppResult<Vec<PlannedGroup>> {
    let rows: Vec<(String, String, String)> = dispatch_recipients::table
        .filter(dispatch_recipients::dispatch_id.eq(dispatch_id))
        .select((
            dispatch_recipients::locale,
            dispatch_recipients::audience,
            dispatch_recipients::channels,
        ))
        .distinct()
        .load(conn)?;
    let mut groups: BTreeMap<(String, Audience), BTreeSet<Channel>> = BTreeMap::new();
    for (locale, audience, routes) in rows {
        let routes: Vec<Route> = from_json_text(&routes)?;
        groups
            .entry((locale, word("audience", &audience)?))
            .or_default()
            .extend(routes.iter().map(|r| r.channel));
    }
    Ok(groups
        .into_iter()
        .map(|((locale, audience), channels)| PlannedGroup {
            locale,
            audience,
            channels,
        })
        .collect())
}

fn load(
    query: dispatches::BoxedQuery<'_, crate::db::MultiBackend>,
    conn: &mut DbConnection,
) -> AppResult<Vec<DispatchRow>> {
    query
        .load::<StoredDispatch>(conn)?
        .into_iter()
        .map(DispatchRow::try_from)
        .collect()
}

/// Loads one of the incident's dispatches.
pub fn get(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    id: &str,
) -> AppResult<DispatchRow> {
    let query = dispatches::table
        .filter(dispatches::tenant_id.eq(tenant_id))
        .filter(dispatches::incident_id.eq(incident_id))
        .filter(dispatches::id.eq(id))
        .into_boxed();
    load(query, conn)?
        .pop()
        .ok_or_else(|| AppError::NotFound(format!("dispatch {id}")))
}

/// Loads a dispatch by id alone (the worker's and the notice page's view).
pub fn by_id(conn: &mut DbConnection, id: &str) -> AppResult<DispatchRow> {
    load(
        dispatches::table.filter(dispatches::id.eq(id)).into_boxed(),
        conn,
    )?
    .pop()
    .ok_or_else(|| AppError::NotFound(format!("dispatch {id}")))
}

/// The incident's dispatches, newest first, `limit` after the cursor `before` (an id).
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    before: Option<&str>,
    limit: i64,
) -> AppResult<Vec<DispatchRow>> {
    let mut query = dispatches::table
        .filter(dispatches::tenant_id.eq(tenant_id))
        .filter(dispatches::incident_id.eq(incident_id))
        .order(dispatches::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(dispatches::id.lt(before.to_owned()));
    }
    load(query, conn)
}

/// The dispatches of an incident that are being sent or done (for proof of
/// notification and obligations), oldest first.
pub fn approved_of_incident(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<DispatchRow>> {
    let query = dispatches::table
        .filter(dispatches::tenant_id.eq(tenant_id))
        .filter(dispatches::incident_id.eq(incident_id))
        .filter(dispatches::approved_at.is_not_null())
        .order(dispatches::id.asc())
        .into_boxed();
    load(query, conn)
}

/// Moves a dispatch to `status` (`completed` also stamps `completed_at`).
pub fn set_status(conn: &mut DbConnection, id: &str, status: DispatchStatus) -> AppResult<()> {
    let completed_at = (status == DispatchStatus::Completed).then(now_micros);
    diesel::update(dispatches::table.find(id))
        .set((
            dispatches::status.eq(status.as_str()),
            dispatches::completed_at.eq(completed_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the approval.
pub fn mark_approved(conn: &mut DbConnection, id: &str, approver: &str) -> AppResult<()> {
    diesel::update(dispatches::table.find(id))
        .set((
            dispatches::status.eq(DispatchStatus::Approved.as_str()),
            dispatches::approved_by.eq(approver),
            dispatches::approved_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Cancels a dispatch still awaiting approval: its people will never be sent
/// anything from it.
pub fn cancel(conn: &mut DbConnection, row: &DispatchRow, by: &str) -> AppResult<()> {
    if row.status != DispatchStatus::AwaitingApproval {
        return Err(AppError::Conflict(format!(
            "dispatch is {}: only a dispatch awaiting approval can be cancelled",
            row.status
        )));
    }
    let now = now_micros();
    diesel::update(dispatches::table.find(&row.id))
        .set((
            dispatches::status.eq(DispatchStatus::Cancelled.as_str()),
            dispatches::cancelled_by.eq(by),
            dispatches::cancelled_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(dispatch_recipients::table.filter(dispatch_recipients::dispatch_id.eq(&row.id)))
        .set((
            dispatch_recipients::state.eq(RecipientState::Cancelled.as_str()),
            dispatch_recipients::updated_at.eq(now),
        ))
        .execute(conn)?;
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

/// How many messages of a dispatch are in one status on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCount {
    /// Channel.
    pub channel: Channel,
    /// Status.
    pub status: OutboxStatus,
    /// Queued and held back by the tenant's send window.
    pub held: bool,
    /// Latest `run_at` among them (when held: when the window opens).
    pub until: Option<NaiveDateTime>,
    /// How many.
    pub n: i64,
}

/// The dispatch's messages counted by channel, status and send-window hold.
pub fn message_counts(conn: &mut DbConnection, dispatch_id: &str) -> AppResult<Vec<MessageCount>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        channel: String,
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = Text)]
        send_window: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<Timestamp>)]
        until: Option<NaiveDateTime>,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT channel, status, send_window, MAX(run_at) AS until, COUNT(*) AS n FROM outbox \
         WHERE dispatch_id = $1 GROUP BY channel, status, send_window",
    )
    .bind::<Text, _>(dispatch_id)
    .load(conn)?;
    rows.into_iter()
        .map(|r| {
            let status: OutboxStatus = word("outbox status", &r.status)?;
            let hold: WindowHold = word("send window hold", &r.send_window)?;
            Ok(MessageCount {
                channel: word("channel", &r.channel)?,
                held: status == OutboxStatus::Queued && hold == WindowHold::Held,
                until: r.until,
                status,
                n: r.n,
            })
        })
        .collect()
}

/// The dispatch's people counted by state.
pub fn people_counts(
    conn: &mut DbConnection,
    dispatch_id: &str,
) -> AppResult<BTreeMap<RecipientState, i64>> {
    let rows: Vec<(String, i64)> = dispatch_recipients::table
        .filter(dispatch_recipients::dispatch_id.eq(dispatch_id))
        .group_by(dispatch_recipients::state)
        .select((dispatch_recipients::state, diesel::dsl::count_star()))
        .load(conn)?;
    rows.into_iter()
        .map(|(state, n)| Ok((word("recipient state", &state)?, n)))
        .collect()
}

/// Seconds of recent attempts the sending rate is measured over.
pub const RATE_WINDOW_SECS: i64 = 60;

/// Most attempts the sending rate is measured over: a fast dispatch's rate comes
/// from its last this-many messages, so reading progress costs the same however
/// fast it sends.
pub const RATE_SAMPLE: i64 = 500;

/// Messages finished (sent, handed off, failed) per second over the last minute, or
/// since approval when that is more recent (at least one second), or over the last
/// [`RATE_SAMPLE`] messages when they finished within that time.
pub fn recent_rate(
    conn: &mut DbConnection,
    row: &DispatchRow,
    now: NaiveDateTime,
) -> AppResult<f64> {
    #[derive(QueryableByName)]
    struct Finished {
        #[diesel(sql_type = Timestamp)]
        at: NaiveDateTime,
    }
    let Some(approved_at) = row.approved_at else {
        return Ok(0.0);
    };
    let since = approved_at.max(now - chrono::Duration::seconds(RATE_WINDOW_SECS));
    // CROSS JOIN makes SQLite walk the last minute's attempts (index on `at`, newest
    // first) rather than every row of a large dispatch; PostgreSQL plans it as the
    // inner join it is.
    let finished: Vec<Finished> = diesel::sql_query(
        "SELECT a.at AS at FROM delivery_attempts a CROSS JOIN outbox o \
         WHERE o.id = a.outbox_id AND a.at >= $1 AND o.dispatch_id = $2 \
         AND a.result IN ('sent', 'handed_off', 'failed') ORDER BY a.at DESC LIMIT $3",
    )
    .bind::<Timestamp, _>(since)
    .bind::<Text, _>(&row.id)
    .bind::<BigInt, _>(RATE_SAMPLE)
    .load(conn)?;
    let seconds = match finished.last() {
        Some(oldest) if finished.len() as i64 == RATE_SAMPLE => {
            ((now - oldest.at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6).max(1e-3)
        }
        _ => ((now - since).num_milliseconds() as f64 / 1000.0).max(1.0),
    };
    Ok(finished.len() as f64 / seconds)
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
pub const LEDGER_HEADER: [&str; 11] = [
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
    "covered_by",
];

/// One line of the ledger.
pub type LedgerLine = [String; 11];

/// One page of the ledger: every person after `after` (by id) with every attempt,
/// one line per attempt (one line with empty attempt columns for people never
/// tried, e.g. those covered by the public bulletin).
pub fn ledger_page(
    conn: &mut DbConnection,
    dispatch_id: &str,
    after: &str,
    limit: i64,
) -> AppResult<(Vec<LedgerLine>, Option<String>)> {
    use crate::db::schema::delivery_attempts as a;
    type Person = (String, String, String, String, Option<String>);
    let people: Vec<Person> = dispatch_recipients::table
        .filter(dispatch_recipients::dispatch_id.eq(dispatch_id))
        .filter(dispatch_recipients::external_id.gt(after))
        .order(dispatch_recipients::external_id)
        .select((
            dispatch_recipients::external_id,
            dispatch_recipients::audience,
            dispatch_recipients::locale,
            dispatch_recipients::state,
            dispatch_recipients::covered_by,
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
    for (id, audience, locale, state, covered_by) in &people {
        let line = |attempt: Option<&AttemptRow>| -> LedgerLine {
            let (channel, at, result, provider, provider_id, detail) = match attempt {
                Some((_, c, at, r, p, pid, d)) => (
                    c.clone(),
                    crate::domain::format_instant(*at),
                    r.clone(),
                    p.clone().unwrap_or_default(),
                    pid.clone().unwrap_or_default(),
                    d.clone().unwrap_or_default(),
                ),
                None => Default::default(),
            };
            [
                id.clone(),
                audience.clone(),
                locale.clone(),
                state.clone(),
                channel,
                at,
                result,
                provider,
                provider_id,
                detail,
                covered_by.clone().unwrap_or_default(),
            ]
        };
        match by_person.get(id.as_str()) {
            None => lines.push(line(None)),
            Some(list) => lines.extend(list.iter().map(|a| line(Some(a)))),
        }
    }
    let next = (people.len() as i64 == limit)
        .then(|| people.last().map(|p| p.0.clone()))
        .flatten();
    Ok((lines, next))
}
