//! The reminder scheduler, run in the dispatch worker's upkeep (no daemon of its
//! own): at the worker's clock it claims the reminders that are due — before each
//! open obligation's deadline (24 h and 4 h unless the tenant says otherwise), when
//! an obligation or a task is overdue, and the daily digest at the tenant's local
//! time — and queues their messages; then it sends the team's queued messages: e-mail
//! through the tenant's relay at the e-mail channel's rate, and JSON posts to the
//! tenant's chat webhook signed with HMAC-SHA256.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::channels::{Adapters, Outcome, Outgoing, Sender};
use super::rate::RateLimits;
use crate::audit::{self, AuditEvent};
use crate::db::{Db, DbConnection};
use crate::domain::{Channel, ReminderAbout, TeamChannel, format_instant};
use crate::error::AppResult;
use crate::runbooks::remind::{self, Threshold};
use crate::store::reminders::{self, ClaimedTeamMessage, ReminderKey, TeamSetup};
use crate::store::tenants;

/// The worker's clock: the instant reminders are judged at (tests set it).
pub type Clock = Arc<dyn Fn() -> NaiveDateTime + Send + Sync>;

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(crate::domain::now_micros)
}

/// Claims every reminder due at `now` and queues its messages, one transaction per
/// tenant; returns how many reminders were claimed. `link_base` is the public URL
/// the messages link incidents under.
pub async fn schedule(db: &Db, now: NaiveDateTime, link_base: &str) -> AppResult<usize> {
    let tenant_ids: Vec<String> = db
        .read(|conn| Ok(tenants::list(conn)?.into_iter().map(|t| t.id).collect()))
        .await?;
    let mut claimed = 0;
    for tenant_id in tenant_ids {
        let base = link_base.to_owned();
        claimed += db
            .write(move |conn| schedule_tenant(conn, &tenant_id, now, &base))
            .await?;
    }
    Ok(claimed)
}

fn schedule_tenant(
    conn: &mut DbConnection,
    tenant_id: &str,
    now: NaiveDateTime,
    link_base: &str,
) -> AppResult<usize> {
    let tenant = tenants::get(conn, tenant_id)?;
    let setup = reminders::team_setup(conn, &tenant)?;
    if !setup.has_team() {
        return Ok(0);
    }
    let ahead = setup
        .reminders
        .before_hours
        .iter()
        .max()
        .map_or(0, |h| i64::from(*h));
    let horizon = ahead.max(remind::DIGEST_HORIZON_HOURS);
    let items = reminders::open_deadlines(conn, tenant_id, now + Duration::hours(horizon))?;
    let mut claimed = 0;
    for item in &items {
        let Some(threshold) =
            remind::threshold_due(item.due_at, now, &setup.reminders.before_hours)
        else {
            continue;
        };
        if item.about == ReminderAbout::Task && threshold != Threshold::Overdue {
            continue; // tasks are reminded of when overdue; obligations before, too
        }
        let key = ReminderKey {
            tenant_id,
            incident_id: Some(&item.incident_id),
            about: item.about,
            about_id: &item.id,
            threshold,
            due_at: item.due_at,
        };
        let Some(reminder_id) = reminders::claim(conn, &key, now)? else {
            continue;
        };
        let link = format!("{link_base}/api/v1/incidents/{}", item.incident_id);
        let message = remind::reminder(item, threshold, now, setup.zone, &link);
        let queued = reminders::queue(conn, tenant_id, &reminder_id, &setup, &message, now)?;
        audit(
            conn,
            tenant_id,
            &setup,
            &format!("{}:{}", item.about, item.id),
            json!({
                "incident": item.incident_id, "threshold": threshold.key(),
                "due_at": format_instant(item.due_at), "messages": queued,
            }),
        )?;
        claimed += 1;
    }
    if let Some(instant) = remind::digest_due(now, setup.zone, setup.reminders.digest_time()) {
        let key = ReminderKey {
            tenant_id,
            incident_id: None,
            about: ReminderAbout::Digest,
            about_id: tenant_id,
            threshold: Threshold::Digest,
            due_at: instant,
        };
        if let Some(reminder_id) = reminders::claim(conn, &key, now)? {
            let soon: Vec<_> = items
                .into_iter()
                .filter(|i| i.due_at <= now + Duration::hours(remind::DIGEST_HORIZON_HOURS))
                .collect();
            let queued = if soon.is_empty() {
                0 // nothing due: no e-mail, but the day's digest is done
            } else {
                let message = remind::digest(&tenant.name, &soon, now, setup.zone);
                reminders::queue(conn, tenant_id, &reminder_id, &setup, &message, now)?
            };
            audit(
                conn,
                tenant_id,
                &setup,
                &format!("tenant:{}", tenant.slug),
                json!({
                    "threshold": "digest", "day": format_instant(instant),
                    "items": soon.len(), "messages": queued,
                }),
            )?;
            claimed += 1;
        }
    }
    Ok(claimed)
}

fn audit(
    conn: &mut DbConnection,
    tenant_id: &str,
    setup: &TeamSetup,
    target: &str,
    mut details: serde_json::Value,
) -> AppResult<()> {
    details["recipients"] = json!(reminders::team_addresses(setup).len());
    details["webhook"] = json!(setup.team.webhook.is_some());
    audit::append(
        conn,
        tenant_id,
        AuditEvent {
            actor: "worker".into(),
            action: "reminder.queued",
            target: target.to_owned(),
            details,
        },
    )
}

/// A claimed team message with what sending it needs.
struct TeamSend {
    message: ClaimedTeamMessage,
    tenant_slug: String,
    secret: Option<String>,
}

/// Sends the team's queued messages (up to `batch`); returns how many were tried.
pub async fn send_team_messages(
    db: &Db,
    adapters: &Adapters,
    rates: &RateLimits,
    worker: &str,
    now: NaiveDateTime,
    batch: i64,
) -> AppResult<usize> {
    let name = worker.to_owned();
    let sends: Vec<TeamSend> = db
        .write(move |conn| {
            let claimed = reminders::claim_messages(conn, &name, now, batch, Duration::minutes(5))?;
            let mut out = Vec::with_capacity(claimed.len());
            for message in claimed {
                let tenant = tenants::get(conn, &message.tenant_id)?;
                let setup = reminders::team_setup(conn, &tenant)?;
                out.push(TeamSend {
                    message,
                    tenant_slug: tenant.slug,
                    secret: setup.team.webhook.map(|w| w.secret),
                });
            }
            Ok(out)
        })
        .await?;
    let tried = sends.len();
    for send in sends {
        let result = match send.message.channel.parse::<TeamChannel>() {
            Ok(TeamChannel::Webhook) => post_webhook(&send).await,
            Ok(TeamChannel::Email) => email(adapters, rates, &send).await,
            Err(why) => Err(why),
        };
        if let Err(why) = &result {
            tracing::warn!(team_message = %send.message.id, error = %why, "team message not sent");
        }
        let name = worker.to_owned();
        let message = send.message;
        db.write(move |conn| reminders::record_message(conn, &message, &name, result, now))
            .await?;
    }
    Ok(tried)
}

async fn email(adapters: &Adapters, rates: &RateLimits, send: &TeamSend) -> Result<(), String> {
    let adapters = adapters
        .for_tenant(&send.tenant_slug)
        .map_err(|e| format!("the tenant's relay: {e:#}"))?;
    let adapter = adapters.get(Channel::Email);
    rates.acquire(Channel::Email, adapter.provider()).await;
    let msg = Outgoing {
        message_id: format!("<{}@breachline>", send.message.id),
        channel: Channel::Email,
        to: send.message.address.clone(),
        to_name: None,
        subject: Some(send.message.subject.clone()),
        text: Some(send.message.body.clone()),
        html: None,
        link: None,
        locale: "en".into(),
        sender: Sender {
            from: String::new(),
            reply_to: None,
            sms_from: None,
        },
        batch: None,
        formatted: None,
    };
    match adapter.send(&msg).await {
        Outcome::Sent { .. } | Outcome::HandedOff { .. } => Ok(()),
        Outcome::Transient(why) | Outcome::Permanent(why) | Outcome::RelayDown(why) => Err(why),
    }
}

/// The signature header of a webhook post: `sha256=` and the hex HMAC-SHA256 of
/// `<timestamp>.<body>` under the tenant's secret.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(format!("{timestamp}.{body}").as_bytes());
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

async fn post_webhook(send: &TeamSend) -> Result<(), String> {
    let secret = send
        .secret
        .as_deref()
        .ok_or("the tenant no longer has a webhook")?;
    let timestamp = chrono::Utc::now().timestamp();
    let body = send.message.body.clone();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(&send.message.address)
        .header("Content-Type", "application/json")
        .header("X-Breachline-Timestamp", timestamp.to_string())
        .header(
            "X-Breachline-Signature",
            signature(secret, timestamp, &body)?,
        )
        .body(body)
        .send()
        .await
        .map_err(|e| format!("webhook: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered {}", response.status()))
    }
}
