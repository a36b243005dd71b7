//! Reminders and the team's outbox. A reminder is claimed by inserting its row in
//! `reminders` — unique per (tenant, subject, threshold, deadline), so it happens
//! once across restarts and several workers, and a deadline that moves arms its
//! reminders again — in the transaction that queues its messages in
//! `team_messages` and writes the audit entry. The worker then claims those messages
//! with a lease, sends them with no transaction open, and records the result.

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::tenants::TenantRow;
use super::{from_json_text, incidents, new_id, obligations, tasks};
use crate::db::DbConnection;
use crate::db::schema::{reminders, team_messages};
use crate::domain::{Jurisdiction, ReminderAbout, Role, TaskState, TeamChannel, TeamMessageStatus};
use crate::error::{AppError, AppResult};
use crate::runbooks::remind::{
    self, DueItem, ReminderSettings, TeamMessage, TeamSettings, Threshold,
};

/// A tenant's team and reminder settings, with the zone its digest keeps.
#[derive(Debug, Clone)]
pub struct TeamSetup {
    /// Addresses and webhook.
    pub team: TeamSettings,
    /// Thresholds and digest time.
    pub reminders: ReminderSettings,
    /// The digest's zone: the setting, else the home regime's, else UTC.
    pub zone: Tz,
    /// E-mail addresses of the tenant's active users who work incidents (admins,
    /// responders, approvers).
    pub users: Vec<String>,
}

impl TeamSetup {
    /// Whether anyone would be told.
    pub fn has_team(&self) -> bool {
        !self.team.emails.is_empty() || !self.users.is_empty() || self.team.webhook.is_some()
    }
}

/// Reads the tenant's `team` and `reminders` profile keys (a stored value that no
/// longer reads is an error, never silently replaced) and its users who work
/// incidents.
pub fn team_setup(conn: &mut DbConnection, tenant: &TenantRow) -> AppResult<TeamSetup> {
    let profile: serde_json::Value = from_json_text(&tenant.profile)?;
    let unreadable = |what: &str, errors: Vec<crate::domain::FieldError>| {
        AppError::Unexpected(anyhow::anyhow!(
            "the stored {what} settings of tenant '{}' cannot be read: {}",
            tenant.slug,
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    };
    let null = serde_json::Value::Null;
    let team = remind::parse_team(profile.get("team").unwrap_or(&null))
        .map_err(|e| unreadable("team", e))?;
    let reminders = remind::parse_reminders(profile.get("reminders").unwrap_or(&null))
        .map_err(|e| unreadable("reminders", e))?;
    let establishments: Vec<Jurisdiction> = from_json_text::<Vec<String>>(&tenant.establishments)?
        .iter()
        .filter_map(|c| Jurisdiction::parse(c).ok())
        .collect();
    let zone = reminders
        .zone()
        .or_else(|| crate::regimes::home_zone(&establishments))
        .unwrap_or(chrono_tz::UTC);
    let mut users = Vec::new();
    for user in super::users::list(conn, &tenant.id)? {
        let works_incidents =
            matches!(user.role()?, Role::Admin | Role::Responder | Role::Approver);
        if user.disabled_at.is_none() && works_incidents {
            users.push(user.email);
        }
    }
    Ok(TeamSetup {
        team,
        reminders,
        zone,
        users,
    })
}

/// The addresses the team's e-mails go to: the profile's `team.emails` (a shared
/// mailbox, people without an account) and the active users who work incidents
/// (admins, responders, approvers), deduplicated.
pub fn team_addresses(setup: &TeamSetup) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for email in setup.team.emails.iter().chain(&setup.users) {
        if !out.iter().any(|e| e.eq_ignore_ascii_case(email)) {
            out.push(email.clone());
        }
    }
    out
}

/// Open obligations and open tasks of the tenant's incidents that are not closed,
/// due (or, for a duty with no deadline, targeted) at or before `until`, overdue
/// ones included, soonest first.
pub fn open_deadlines(
    conn: &mut DbConnection,
    tenant_id: &str,
    until: NaiveDateTime,
) -> AppResult<Vec<DueItem>> {
    let mut out = Vec::new();
    for incident_id in incidents::open_ids(conn, tenant_id)? {
        let incident = incidents::get(conn, tenant_id, &incident_id)?;
        for o in obligations::list(conn, tenant_id, &incident_id)? {
            if !o.is_open() {
                continue;
            }
            // An "as soon as possible" duty has no deadline but a target (APPI
            // preliminary: 3 days; PIPL: 24 h): the team is reminded before that.
            let (when, kind) = match (o.due_at, o.target_at) {
                (Some(due), _) => (Some(due), ""),
                (None, Some(target)) => (Some(target), " (target: as soon as possible)"),
                (None, None) => (None, ""),
            };
            if let Some(due_at) = when.filter(|d| *d <= until) {
                out.push(DueItem {
                    about: ReminderAbout::Obligation,
                    id: o.id.clone(),
                    incident_id: incident_id.clone(),
                    incident_title: incident.title.clone(),
                    what: format!("{} {} {}{kind}", o.regime, o.recipient, o.phase),
                    due_at,
                });
            }
        }
        for t in tasks::list(conn, tenant_id, &incident_id)? {
            if t.state()? != TaskState::Open {
                continue;
            }
            if let Some(due_at) = t.due_at.filter(|d| *d <= until) {
                out.push(DueItem {
                    about: ReminderAbout::Task,
                    id: t.id.clone(),
                    incident_id: incident_id.clone(),
                    incident_title: incident.title.clone(),
                    what: t.text.clone(),
                    due_at,
                });
            }
        }
    }
    out.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// What one reminder is about.
pub struct ReminderKey<'a> {
    /// Tenant.
    pub tenant_id: &'a str,
    /// Incident (none for the digest).
    pub incident_id: Option<&'a str>,
    /// What it is about.
    pub about: ReminderAbout,
    /// The obligation's or task's id (the tenant's for the digest).
    pub about_id: &'a str,
    /// Which reminder of it.
    pub threshold: Threshold,
    /// The deadline (the digest's instant for the digest).
    pub due_at: NaiveDateTime,
}

/// Claims a reminder: inserts its row unless it exists (another worker, or before
/// a restart); returns its id when this call claimed it.
pub fn claim(
    conn: &mut DbConnection,
    key: &ReminderKey<'_>,
    now: NaiveDateTime,
) -> AppResult<Option<String>> {
    let id = new_id();
    let query = diesel::insert_into(reminders::table)
        .values((
            reminders::id.eq(&id),
            reminders::tenant_id.eq(key.tenant_id),
            reminders::incident_id.eq(key.incident_id),
            reminders::about.eq(key.about.as_str()),
            reminders::about_id.eq(key.about_id),
            reminders::threshold.eq(key.threshold.key()),
            reminders::due_at.eq(key.due_at),
            reminders::claimed_at.eq(now),
        ))
        .on_conflict_do_nothing();
    let inserted = super::with_backend!(conn, c => query.execute(c)?);
    Ok((inserted == 1).then_some(id))
}

/// Queues a reminder's messages: one e-mail per address and, with a webhook, one post.
pub fn queue(
    conn: &mut DbConnection,
    tenant_id: &str,
    reminder_id: &str,
    setup: &TeamSetup,
    message: &TeamMessage,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let mut rows: Vec<(TeamChannel, String, String)> = team_addresses(setup)
        .into_iter()
        .map(|to| (TeamChannel::Email, to, message.text.clone()))
        .collect();
    if let Some(hook) = &setup.team.webhook {
        rows.push((
            TeamChannel::Webhook,
            hook.url.clone(),
            message.payload.to_string(),
        ));
    }
    for (channel, address, body) in &rows {
        diesel::insert_into(team_messages::table)
            .values((
                team_messages::id.eq(new_id()),
                team_messages::tenant_id.eq(tenant_id),
                team_messages::reminder_id.eq(reminder_id),
                team_messages::channel.eq(channel.as_str()),
                team_messages::address.eq(address),
                team_messages::subject.eq(&message.subject),
                team_messages::body.eq(body),
                team_messages::status.eq(TeamMessageStatus::Queued.as_str()),
                team_messages::run_at.eq(now),
                team_messages::attempts.eq(0),
                team_messages::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(rows.len())
}

/// One team message claimed for sending.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedTeamMessage {
    /// Row id (also the e-mail's `Message-ID` local part).
    #[diesel(sql_type = Text)]
    pub id: String,
    /// Tenant.
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    /// `email` or `webhook`.
    #[diesel(sql_type = Text)]
    pub channel: String,
    /// Address or URL.
    #[diesel(sql_type = Text)]
    pub address: String,
    /// Subject.
    #[diesel(sql_type = Text)]
    pub subject: String,
    /// Text, or the webhook's JSON.
    #[diesel(sql_type = Text)]
    pub body: String,
    /// Attempts so far, this one included.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// Last error, if any.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

const TEAM_RETURNING: &str =
    "RETURNING id, tenant_id, channel, address, subject, body, attempts, last_error";

/// Claims up to `limit` due team messages for `worker`, and takes back leases older
/// than `lease` (a worker that died mid-send): the same atomic `UPDATE … RETURNING`
/// as the outbox, with `SKIP LOCKED` on PostgreSQL.
pub fn claim_messages(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    limit: i64,
    lease: Duration,
) -> AppResult<Vec<ClaimedTeamMessage>> {
    diesel::update(
        team_messages::table
            .filter(team_messages::status.eq(TeamMessageStatus::Sending.as_str()))
            .filter(team_messages::locked_at.lt(now - lease)),
    )
    .set((
        team_messages::status.eq(TeamMessageStatus::Queued.as_str()),
        team_messages::locked_at.eq(None::<NaiveDateTime>),
        team_messages::locked_by.eq(None::<String>),
    ))
    .execute(conn)?;
    let skip = match conn {
        DbConnection::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        DbConnection::Sqlite(_) => "",
    };
    let (queued, sending) = (TeamMessageStatus::Queued, TeamMessageStatus::Sending);
    let sql = format!(
        "UPDATE team_messages SET status = '{sending}', locked_at = $1, locked_by = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM team_messages WHERE status = '{queued}' AND run_at <= $1 ORDER BY run_at LIMIT $3{skip}) {TEAM_RETURNING}"
    );
    Ok(diesel::sql_query(sql)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(limit)
        .load(conn)?)
}

/// Most attempts for a team message before it is given up.
pub const TEAM_ATTEMPTS: i32 = 5;

/// Records a send: `sent`, or a failure tried again later (`failed` after
/// [`TEAM_ATTEMPTS`]). Only the worker holding the lease records.
pub fn record_message(
    conn: &mut DbConnection,
    message: &ClaimedTeamMessage,
    worker: &str,
    result: Result<(), String>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let row = team_messages::table
        .filter(team_messages::id.eq(&message.id))
        .filter(team_messages::locked_by.eq(worker))
        .filter(team_messages::status.eq(TeamMessageStatus::Sending.as_str()));
    match result {
        Ok(()) => diesel::update(row)
            .set((
                team_messages::status.eq(TeamMessageStatus::Sent.as_str()),
                team_messages::sent_at.eq(now),
                team_messages::locked_at.eq(None::<NaiveDateTime>),
                team_messages::locked_by.eq(None::<String>),
                team_messages::last_error.eq(None::<String>),
            ))
            .execute(conn)?,
        Err(why) => {
            let (status, run_at) = if message.attempts >= TEAM_ATTEMPTS {
                (TeamMessageStatus::Failed, now)
            } else {
                (
                    TeamMessageStatus::Queued,
                    now + Duration::minutes(i64::from(message.attempts.pow(2))),
                )
            };
            diesel::update(row)
                .set((
                    team_messages::status.eq(status.as_str()),
                    team_messages::run_at.eq(run_at),
                    team_messages::locked_at.eq(None::<NaiveDateTime>),
                    team_messages::locked_by.eq(None::<String>),
                    team_messages::last_error.eq(why),
                ))
                .execute(conn)?
        }
    };
    Ok(())
}
