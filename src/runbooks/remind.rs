//! Reminders before deadlines, for overdue tasks, and the daily digest — the pure
//! part: the tenant's team and reminder settings (profile keys `team` and
//! `reminders`), which threshold of a deadline is due at an instant, when the day's
//! digest is due in the tenant's time zone, and the words of the e-mails and of the
//! webhook payload. Claiming and queueing are `store::reminders`; the scheduler runs
//! in the dispatch worker.

use chrono::{Duration, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::{FieldError, ReminderAbout, format_instant};

/// Hours before a deadline a reminder goes out, unless the tenant says otherwise.
pub const DEFAULT_BEFORE_HOURS: [u32; 2] = [24, 4];

/// The digest's local time, unless the tenant says otherwise.
pub const DEFAULT_DIGEST_AT: &str = "09:00";

/// What the digest looks ahead.
pub const DIGEST_HORIZON_HOURS: i64 = 72;

/// Who is told: the team's addresses and, optionally, a chat webhook. Profile key
/// `team`: `{"emails": ["ir@tenant.example"], "webhook": {"url", "secret"}}`.
///
/// The addresses are a list in the profile until the tenant has user accounts; the
/// scheduler asks `store::reminders::team_addresses` for them, which is where the
/// users' e-mails (by role) will be added to this list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSettings {
    /// E-mail addresses of the incident-response team.
    #[serde(default)]
    pub emails: Vec<String>,
    /// A chat tool's incoming webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
}

/// A webhook that receives reminders as JSON, signed with HMAC-SHA256.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `https://…` (or `http://` for a local relay).
    pub url: String,
    /// The shared secret of the signature (never shown back).
    pub secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"***")
            .finish()
    }
}

/// When reminders go out. Profile key `reminders`:
/// `{"before_hours": [24, 4], "digest_at": "09:00", "time_zone": "Asia/Tokyo"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    /// Hours before an open obligation's deadline to remind, largest first.
    pub before_hours: Vec<u32>,
    /// The digest's local time (`HH:MM`).
    pub digest_at: String,
    /// The tenant's IANA time zone for the digest (default: its home regime's zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            before_hours: DEFAULT_BEFORE_HOURS.to_vec(),
            digest_at: DEFAULT_DIGEST_AT.into(),
            time_zone: None,
        }
    }
}

impl ReminderSettings {
    /// The digest time as a time of day (validated on the way in).
    pub fn digest_time(&self) -> NaiveTime {
        NaiveTime::parse_from_str(&self.digest_at, "%H:%M").unwrap_or(NaiveTime::MIN)
    }

    /// The configured zone, if any (validated on the way in).
    pub fn zone(&self) -> Option<Tz> {
        self.time_zone.as_deref().and_then(|z| z.parse().ok())
    }
}

/// Reads and checks the profile's `team` value (`null` or absent: no team).
pub fn parse_team(value: &Value) -> Result<TeamSettings, Vec<FieldError>> {
    if value.is_null() {
        return Ok(TeamSettings::default());
    }
    let team: TeamSettings = serde_json::from_value(value.clone()).map_err(|e| {
        vec![FieldError::new(
            "team",
            format!("expected {{emails: [..], webhook?: {{url, secret}}}}: {e}"),
        )]
    })?;
    let mut errors = Vec::new();
    for (i, email) in team.emails.iter().enumerate() {
        if !crate::domain::is_email(email) {
            errors.push(FieldError::new(
                format!("team.emails[{i}]"),
                "not a valid e-mail address",
            ));
        }
    }
    if team.emails.len() > 50 {
        errors.push(FieldError::new("team.emails", "at most 50 addresses"));
    }
    if let Some(hook) = &team.webhook {
        if !(hook.url.starts_with("https://") || hook.url.starts_with("http://")) {
            errors.push(FieldError::new(
                "team.webhook.url",
                "must be an http(s) URL",
            ));
        }
        if hook.secret.len() < 16 {
            errors.push(FieldError::new(
                "team.webhook.secret",
                "must be at least 16 characters",
            ));
        }
    }
    if errors.is_empty() {
        Ok(team)
    } else {
        Err(errors)
    }
}

/// Reads and checks the profile's `reminders` value (`null` or absent: defaults).
pub fn parse_reminders(value: &Value) -> Result<ReminderSettings, Vec<FieldError>> {
    if value.is_null() {
        return Ok(ReminderSettings::default());
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Input {
        before_hours: Option<Vec<u32>>,
        digest_at: Option<String>,
        time_zone: Option<String>,
    }
    let input: Input = serde_json::from_value(value.clone()).map_err(|e| {
        vec![FieldError::new(
            "reminders",
            format!("expected {{before_hours?: [24, 4], digest_at?: \"09:00\", time_zone?}}: {e}"),
        )]
    })?;
    let mut errors = Vec::new();
    let mut before = input
        .before_hours
        .unwrap_or_else(|| DEFAULT_BEFORE_HOURS.to_vec());
    if before.iter().any(|h| *h == 0 || *h > 24 * 30) {
        errors.push(FieldError::new(
            "reminders.before_hours",
            "each must be between 1 and 720 hours",
        ));
    }
    before.sort_unstable_by(|a, b| b.cmp(a));
    before.dedup();
    let digest_at = input.digest_at.unwrap_or_else(|| DEFAULT_DIGEST_AT.into());
    if NaiveTime::parse_from_str(&digest_at, "%H:%M").is_err() {
        errors.push(FieldError::new("reminders.digest_at", "expected HH:MM"));
    }
    if let Some(zone) = &input.time_zone
        && zone.parse::<Tz>().is_err()
    {
        errors.push(FieldError::new(
            "reminders.time_zone",
            "not an IANA time zone such as Asia/Tokyo",
        ));
    }
    if errors.is_empty() {
        Ok(ReminderSettings {
            before_hours: before,
            digest_at,
            time_zone: input.time_zone,
        })
    } else {
        Err(errors)
    }
}

/// Which reminder of a deadline is due at `now`: the tightest threshold already
/// reached while the deadline is still ahead (a worker that was down sends the
/// latest one only), or `Overdue` once it has passed.
pub fn threshold_due(
    due_at: NaiveDateTime,
    now: NaiveDateTime,
    before_hours: &[u32],
) -> Option<Threshold> {
    if now >= due_at {
        return Some(Threshold::Overdue);
    }
    before_hours
        .iter()
        .filter(|h| now >= due_at - Duration::hours(i64::from(**h)))
        .min()
        .map(|h| Threshold::Before(*h))
}

/// One reminder of a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// This many hours (or less) before.
    Before(u32),
    /// The deadline has passed.
    Overdue,
    /// The daily digest.
    Digest,
}

impl Threshold {
    /// The word stored in the unique key: `24h`, `4h`, `overdue`, `digest`.
    pub fn key(self) -> String {
        match self {
            Threshold::Before(h) => format!("{h}h"),
            Threshold::Overdue => "overdue".into(),
            Threshold::Digest => "digest".into(),
        }
    }
}

/// The instant (UTC) of today's digest in `zone` once it is due at `now`, else
/// `None`: the key of the day's digest, so it goes out once a local day.
pub fn digest_due(now: NaiveDateTime, zone: Tz, at: NaiveTime) -> Option<NaiveDateTime> {
    let local = zone.from_utc_datetime(&now);
    let today = local.date_naive().and_time(at);
    let instant = zone.from_local_datetime(&today).earliest()?.naive_utc();
    (now >= instant).then_some(instant)
}

/// Something with a deadline, as the team reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueItem {
    /// An obligation or a task.
    pub about: ReminderAbout,
    /// Its id.
    pub id: String,
    /// The incident.
    pub incident_id: String,
    /// The incident's title.
    pub incident_title: String,
    /// What is due, in words (`appi regulator preliminary`, a task's text).
    pub what: String,
    /// When (UTC).
    pub due_at: NaiveDateTime,
}

/// A message for the team: e-mail subject and text, and the webhook's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamMessage {
    /// E-mail subject.
    pub subject: String,
    /// E-mail text.
    pub text: String,
    /// The webhook payload (`text` is what chat tools show).
    pub payload: Value,
}

fn local(at: NaiveDateTime, zone: Tz) -> String {
    zone.from_utc_datetime(&at)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn left(due_at: NaiveDateTime, now: NaiveDateTime) -> String {
    let minutes = (due_at - now).num_minutes();
    if minutes < 0 {
        let late = -minutes;
        return format!("overdue by {}h{:02}", late / 60, late % 60);
    }
    format!("due in {}h{:02}", minutes / 60, minutes % 60)
}

/// The reminder of one deadline.
pub fn reminder(
    item: &DueItem,
    threshold: Threshold,
    now: NaiveDateTime,
    zone: Tz,
    link: &str,
) -> TeamMessage {
    let when = left(item.due_at, now);
    let subject = match threshold {
        Threshold::Overdue => format!(
            "[Breachline] Overdue: {} — {}",
            item.what, item.incident_title
        ),
        _ => format!(
            "[Breachline] {when}: {} — {}",
            item.what, item.incident_title
        ),
    };
    let text = format!(
        "{kind} of incident \"{title}\" is {when}.\n\n  {what}\n  due {due} ({utc} UTC)\n\nIncident: {link}\n",
        kind = if item.about == ReminderAbout::Task {
            "A task"
        } else {
            "An obligation"
        },
        title = item.incident_title,
        what = item.what,
        due = local(item.due_at, zone),
        utc = format_instant(item.due_at),
    );
    TeamMessage {
        payload: json!({
            "type": "reminder",
            "threshold": threshold.key(),
            "about": item.about,
            "id": item.id,
            "incident_id": item.incident_id,
            "incident_title": item.incident_title,
            "what": item.what,
            "due_at": format_instant(item.due_at),
            "text": subject.trim_start_matches("[Breachline] "),
            "link": link,
        }),
        subject,
        text,
    }
}

/// The daily digest: what is overdue and what is due in the next 72 hours.
pub fn digest(tenant: &str, items: &[DueItem], now: NaiveDateTime, zone: Tz) -> TeamMessage {
    let (overdue, soon): (Vec<&DueItem>, Vec<&DueItem>) =
        items.iter().partition(|i| i.due_at <= now);
    let line = |i: &&DueItem| {
        format!(
            "  - {} ({}): {} — {}, {}\n",
            i.what,
            i.about,
            i.incident_title,
            local(i.due_at, zone),
            left(i.due_at, now)
        )
    };
    let mut text = format!(
        "{tenant}: deadlines of open incidents, {}\n",
        local(now, zone)
    );
    if !overdue.is_empty() {
        text.push_str("\nOverdue:\n");
        text.extend(overdue.iter().map(line));
    }
    text.push_str(&format!(
        "\nDue in the next {DIGEST_HORIZON_HOURS} hours:\n"
    ));
    if soon.is_empty() {
        text.push_str("  (nothing)\n");
    }
    text.extend(soon.iter().map(line));
    let subject = format!(
        "[Breachline] Digest: {} due in {DIGEST_HORIZON_HOURS}h, {} overdue",
        soon.len(),
        overdue.len()
    );
    TeamMessage {
        payload: json!({
            "type": "digest",
            "text": subject.trim_start_matches("[Breachline] "),
            "items": items.iter().map(|i| json!({
                "about": i.about, "id": i.id, "incident_id": i.incident_id,
                "incident_title": i.incident_title, "what": i.what,
                "due_at": format_instant(i.due_at), "overdue": i.due_at <= now,
            })).collect::<Vec<_>>(),
        }),
        subject,
        text,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2027, 3, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn the_tightest_threshold_reached_is_due() {
        let due = at(12, 0) + Duration::days(1);
        let before = [24, 4];
        assert_eq!(threshold_due(due, at(11, 59), &before), None);
        assert_eq!(
            threshold_due(due, at(12, 0), &before),
            Some(Threshold::Before(24))
        );
        assert_eq!(
            threshold_due(due, due - Duration::hours(4), &before),
            Some(Threshold::Before(4))
        );
        assert_eq!(
            threshold_due(due, due - Duration::minutes(1), &before),
            Some(Threshold::Before(4))
        );
        assert_eq!(threshold_due(due, due, &before), Some(Threshold::Overdue));
        assert_eq!(Threshold::Before(24).key(), "24h");
    }

    #[test]
    fn the_digest_is_due_from_its_local_time_once_a_day() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        // 23:59 UTC on 28 Feb is 08:59 in Tokyo on 1 March: not yet.
        assert_eq!(
            digest_due(at(0, 0) - Duration::minutes(1), tokyo, nine),
            None
        );
        // 00:00 UTC is 09:00 in Tokyo: due, keyed by that instant all day.
        assert_eq!(digest_due(at(0, 0), tokyo, nine), Some(at(0, 0)));
        assert_eq!(digest_due(at(14, 0), tokyo, nine), Some(at(0, 0)));
    }

    #[test]
    fn settings_are_checked_with_their_fields() {
        let errors = parse_team(&json!({"emails": ["ir@example.com", "nope"], "webhook": {"url": "ftp://x", "secret": "short"}}))
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["team.emails[1]", "team.webhook.url", "team.webhook.secret"]
        );
        let r = parse_reminders(&json!({"before_hours": [4, 48, 4], "time_zone": "Europe/Berlin"}))
            .unwrap();
        assert_eq!(r.before_hours, [48, 4]);
        assert_eq!(r.digest_at, "09:00");
        let errors =
            parse_reminders(&json!({"digest_at": "9am", "time_zone": "Mars/Base"})).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            parse_reminders(&Value::Null).unwrap(),
            ReminderSettings::default()
        );
    }

    #[test]
    fn messages_name_the_deadline_in_the_tenants_time() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let item = DueItem {
            about: ReminderAbout::Obligation,
            id: "o1".into(),
            incident_id: "i1".into(),
            incident_title: "Account data copied".into(),
            what: "appi regulator preliminary".into(),
            due_at: at(15, 0),
        };
        let m = reminder(
            &item,
            Threshold::Before(4),
            at(11, 0),
            tokyo,
            "https://x/i1",
        );
        assert_eq!(
            m.subject,
            "[Breachline] due in 4h00: appi regulator preliminary — Account data copied"
        );
        assert!(m.text.contains("2027-03-02 00:00 JST"), "{}", m.text);
        assert_eq!(m.payload["threshold"], "4h");
        let d = digest("JC-Task", &[item], at(0, 0), tokyo);
        assert!(
            d.subject.contains("1 due in 72h, 0 overdue"),
            "{}",
            d.subject
        );
    }
}
