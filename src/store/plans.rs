//! The notice plan of an incident and the preview of one person's notice: both put
//! together the affected set, the tenant's notice settings, the incident's notice
//! content and the templates.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use super::affected::{self, AffectedRow};
use super::incidents::IncidentRow;
use super::tenants::TenantRow;
use super::{from_json_text, incidents, notice_contents, obligations, tenants, to_json_text};
use crate::db::DbConnection;
use crate::db::schema::{notice_plans, plan_entries};
use crate::domain::{Channel, NoticeItem, format_instant, now_micros};
use crate::error::{AppError, AppResult};
use crate::notices::checklist::{self, ItemCheck};
use crate::notices::content::NoticeContent;
use crate::notices::plan::{PlanPerson, PlannedNotice, plan};
use crate::notices::render::{Person, Renderer};
use crate::notices::settings::NoticeSettings;
use crate::notices::{Authoritative, NoticeContext, NoticeText, Rendered, Templates, sms};

/// Length of a notice-page token (hex of 16 random bytes).
pub const LINK_TOKEN_LEN: usize = 32;

/// Longest push title and body shown in full on common devices.
const PUSH_TITLE_MAX: usize = 65;
const PUSH_BODY_MAX: usize = 240;
/// Longest e-mail subject that displays in full in common mail clients.
const EMAIL_SUBJECT_MAX: usize = 78;

/// Messages per second each channel is planned at (until per-provider rates are set).
pub const PLANNING_RATES: [(Channel, f64); 5] = [
    (Channel::Email, 50.0),
    (Channel::Sms, 10.0),
    (Channel::Push, 100.0),
    (Channel::Letter, 1000.0),
    (Channel::Phone, 1000.0),
];

/// The service-wide parts of notices: compiled templates (and tenants' own, from
/// `BREACHLINE_TEMPLATES_DIR/<tenant-slug>/notices/…`) and the public URL.
pub struct NoticeService {
    /// The built-in templates.
    pub templates: Arc<Templates>,
    /// Base URL of per-person notice pages.
    pub public_url: String,
    overrides: Option<std::path::PathBuf>,
    per_tenant: std::sync::Mutex<HashMap<String, Arc<Templates>>>,
}

impl NoticeService {
    /// The built-in templates, with tenant overrides read from `overrides` when given.
    pub fn new(public_url: String, overrides: Option<std::path::PathBuf>) -> anyhow::Result<Self> {
        Ok(Self {
            templates: Arc::new(Templates::embedded()?),
            public_url,
            overrides,
            per_tenant: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The templates a tenant's notices use: its own files over the built-in ones,
    /// compiled once (an invalid override is an error naming the file).
    pub fn templates_for(&self, tenant_slug: &str) -> AppResult<Arc<Templates>> {
        let Some(dir) = self
            .overrides
            .as_ref()
            .map(|d| d.join(tenant_slug).join("notices"))
            .filter(|d| d.is_dir())
        else {
            return Ok(self.templates.clone());
        };
        let mut cache = self.per_tenant.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = cache.get(tenant_slug) {
            return Ok(t.clone());
        }
        let templates = Arc::new(Templates::with_overrides(&dir).map_err(AppError::Unexpected)?);
        cache.insert(tenant_slug.to_owned(), templates.clone());
        Ok(templates)
    }
}

/// Everything about one incident that its notices are made of.
pub struct IncidentNotices {
    service: std::sync::Arc<NoticeService>,
    templates: Arc<Templates>,
    tenant: TenantRow,
    /// The tenant's notice settings.
    pub settings: NoticeSettings,
    incident: IncidentRow,
    content: Option<NoticeContent>,
    /// The items every notice of this incident must carry.
    pub required: Vec<NoticeItem>,
    locales: Vec<String>,
}

impl IncidentNotices {
    /// The tenant's slug.
    pub fn tenant_slug(&self) -> &str {
        &self.tenant.slug
    }

    /// Loads what the incident's notices need.
    pub fn load(
        conn: &mut DbConnection,
        service: std::sync::Arc<NoticeService>,
        tenant_id: &str,
        incident_id: &str,
    ) -> AppResult<Self> {
        let incident = incidents::get(conn, tenant_id, incident_id)?;
        let tenant = tenants::get(conn, tenant_id)?;
        let settings = tenants::notice_settings(&tenant)?;
        let content = notice_contents::get(conn, tenant_id, incident_id)?.map(|s| s.content);
        let required = required_items(conn, tenant_id, incident_id)?;
        let templates = service.templates_for(&tenant.slug)?;
        let locales = templates
            .locales()
            .into_iter()
            .filter(|l| content.as_ref().is_none_or(|c| c.for_locale(l).is_some()))
            .collect();
        Ok(Self {
            service,
            templates,
            tenant,
            settings,
            incident,
            content,
            required,
            locales,
        })
    }

    /// The same, but with the content a dispatch was approved with.
    pub fn with_content(mut self, content: NoticeContent) -> Self {
        self.locales = self
            .templates
            .locales()
            .into_iter()
            .filter(|l| content.for_locale(l).is_some())
            .collect();
        self.content = Some(content);
        self
    }

    /// The templates this tenant's notices use.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The tenant's sender identity for e-mail.
    pub fn sender(&self) -> crate::dispatch::channels::Sender {
        crate::dispatch::channels::Sender {
            from: self.settings.email_from.clone().unwrap_or_default(),
            reply_to: self.settings.reply_to.clone(),
            sms_from: None,
        }
    }

    /// Plans one affected person's notice.
    pub fn plan(&self, row: &AffectedRow) -> PlannedNotice {
        plan(
            &plan_person(row),
            &self.settings.channels,
            &self.tenant.default_locale,
            &self.locales,
        )
    }

    /// The notice content in `locale` (exact or by language, else the default locale's).
    pub fn text(&self, locale: &str) -> NoticeText {
        self.content
            .as_ref()
            .and_then(|c| {
                c.for_locale(locale)
                    .or_else(|| c.for_locale(&c.default_locale))
            })
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    }

    /// The shared (not per-person) template context in `locale`.
    pub fn shared_context(&self, locale: &str) -> NoticeContext {
        let text = self.text(locale);
        NoticeContext {
            organisation: self.tenant.name.clone(),
            audience: crate::notices::Audience::Subject,
            recipient_name: None,
            subject_name: None,
            summary: text.summary,
            likely_impact: text.likely_impact,
            measures_taken: text.measures_taken,
            advice: text.advice,
            remedies: text.remedies,
            contact: text.contact,
            dpo_contact: text.dpo_contact,
            data_categories: Vec::new(),
            notice_url: None,
            postal_address: None,
            authoritative: self.authoritative(locale),
            reference: self.incident.id.chars().take(8).collect(),
        }
    }

    fn authoritative(&self, locale: &str) -> Option<Authoritative> {
        let prevailing = self.settings.authoritative_locale.as_deref()?;
        let prevailing =
            crate::notices::locale::best_match(prevailing, &self.templates.locales())?.to_owned();
        (prevailing != locale).then(|| Authoritative {
            language_name: self
                .templates
                .language_name(&prevailing)
                .unwrap_or(&prevailing)
                .to_owned(),
            url: None,
            locale: prevailing,
        })
    }

    /// A renderer with this incident's shared context in every locale.
    pub fn renderer(&self) -> Renderer<'_> {
        let shared: HashMap<String, NoticeContext> = self
            .locales
            .iter()
            .map(|l| (l.clone(), self.shared_context(l)))
            .collect();
        Renderer::new(&self.templates, shared)
    }

    /// The link to a person's notice page for `token`.
    pub fn notice_url(&self, token: &str) -> String {
        format!("{}/n/{token}", self.service.public_url)
    }

    /// Checks the required items for one locale, channel and audience.
    pub fn checklist(
        &self,
        locale: &str,
        channel: Channel,
        audience: crate::notices::Audience,
        has_categories: bool,
    ) -> AppResult<Vec<ItemCheck>> {
        checklist::check(
            &self.templates,
            locale,
            channel,
            audience,
            &self.text(locale),
            has_categories,
            &self.required,
        )
        .map_err(AppError::Unexpected)
    }

    /// What one person would receive on `channel`, with checks and limits.
    pub fn preview(&self, row: &AffectedRow, channel: Channel) -> AppResult<Value> {
        let planned = self.plan(row);
        let address = crate::notices::plan::address(&plan_person(row), channel);
        let notice_url = self.notice_url(&"0".repeat(LINK_TOKEN_LEN));
        let person = person_for(&planned, row, Some(notice_url), channel);
        let rendered = self
            .renderer()
            .render(&planned.locale, channel, planned.audience, &person)
            .map_err(AppError::Unexpected)?;
        let checks = self.checklist(
            &planned.locale,
            channel,
            planned.audience,
            !person.categories.is_empty(),
        )?;
        let mut warnings = Vec::new();
        if address.is_none() {
            warnings.push(format!(
                "this person has no {channel} address: the plan does not use {channel} for them"
            ));
        }
        let limits = limits(
            channel,
            &rendered,
            self.settings.sms_max_segments,
            &mut warnings,
        );
        Ok(json!({
            "recipient": {
                "kind": planned.audience,
                "name": planned.recipient_name,
                "address": address,
            },
            "subject_name": planned.subject_name,
            "locale": planned.locale,
            "channel": channel,
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "segments": limits.get("segments").cloned().unwrap_or(Value::Null),
            "limits": limits,
            "checklist": checks,
            "complete": checks.iter().all(|c| c.present),
            "planned_channels": planned.routes.iter().map(|r| r.channel).collect::<Vec<_>>(),
            "warnings": warnings,
        }))
    }
}

/// The person-specific values of one notice.
pub fn person_for(
    planned: &PlannedNotice,
    row: &AffectedRow,
    notice_url: Option<String>,
    channel: Channel,
) -> Person {
    Person {
        recipient_name: planned.recipient_name.clone(),
        subject_name: planned.subject_name.clone(),
        notice_url,
        postal_address: (channel == Channel::Letter)
            .then(|| row.postal_address.clone())
            .flatten(),
        categories: row.exposed(),
    }
}

fn limits(channel: Channel, r: &Rendered, sms_max: usize, warnings: &mut Vec<String>) -> Value {
    let chars = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
    match channel {
        Channel::Sms => {
            let s = sms::segments(r.text.as_deref().unwrap_or(""));
            let ok = s.count <= sms_max;
            if !ok {
                warnings.push(format!(
                    "SMS takes {} segments; the tenant allows {sms_max}",
                    s.count
                ));
            }
            json!({ "segments": s, "max_segments": sms_max, "ok": ok })
        }
        Channel::Push => {
            let (title, body) = (chars(&r.subject), chars(&r.text));
            let ok = title <= PUSH_TITLE_MAX && body <= PUSH_BODY_MAX;
            if !ok {
                warnings.push(format!("push title {title}/{PUSH_TITLE_MAX} or body {body}/{PUSH_BODY_MAX} characters may be cut"));
            }
            json!({ "title_chars": title, "title_max": PUSH_TITLE_MAX, "body_chars": body, "body_max": PUSH_BODY_MAX, "ok": ok })
        }
        Channel::Email => {
            let subject = chars(&r.subject);
            let ok = subject <= EMAIL_SUBJECT_MAX;
            if !ok {
                warnings.push(format!("e-mail subject has {subject} characters; over {EMAIL_SUBJECT_MAX} it is cut in many clients"));
            }
            json!({ "subject_chars": subject, "subject_max": EMAIL_SUBJECT_MAX, "ok": ok })
        }
        Channel::Letter | Channel::Phone => json!({ "ok": true }),
    }
}

fn plan_person(row: &AffectedRow) -> PlanPerson {
    PlanPerson {
        name: row.name.clone(),
        email: row.email.clone(),
        phone: row.phone.clone(),
        locale: row.locale.clone(),
        minor: row.minor,
        guardian_name: row.guardian_name.clone(),
        guardian_email: row.guardian_email.clone(),
        guardian_phone: row.guardian_phone.clone(),
        push_token: row.push_token.clone(),
        postal_address: row.postal_address.clone(),
        preferred_channel: row
            .preferred_channel
            .as_deref()
            .and_then(|c| c.parse().ok()),
    }
}

/// The base items plus what each regime owing the people a notice adds.
fn required_items(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<NoticeItem>> {
    let mut items = NoticeItem::BASE.to_vec();
    for o in obligations::list(conn, tenant_id, incident_id)? {
        if o.recipient == "subjects" && o.status != "waived" {
            for item in crate::regimes::notice_items(&o.regime)
                .map_err(|e| AppError::Unexpected(e.into()))?
            {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
        }
    }
    Ok(items)
}

/// One affected person's row (must be in the incident's affected set).
pub fn affected_row(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    external_id: &str,
) -> AppResult<AffectedRow> {
    super::incidents::get(conn, tenant_id, incident_id)?;
    affected::person(conn, incident_id, external_id)?.ok_or_else(|| {
        AppError::NotFound(format!(
            "subject '{external_id}' in the affected set of incident {incident_id}"
        ))
    })
}

#[derive(Insertable)]
#[diesel(table_name = plan_entries, treat_none_as_default_value = false)]
struct NewPlanEntry {
    incident_id: String,
    external_id: String,
    tenant_id: String,
    audience: String,
    recipient_name: Option<String>,
    subject_name: Option<String>,
    locale: String,
    channels: String,
    postal_address: Option<String>,
    unreachable: bool,
}

const PLAN_PAGE: i64 = 5_000;

/// Multi-row inserts are backend-specific in diesel (no DEFAULT keyword in SQLite).
fn insert_entries(conn: &mut DbConnection, chunk: &[NewPlanEntry]) -> AppResult<()> {
    let query = diesel::insert_into(plan_entries::table).values(chunk);
    match conn {
        DbConnection::Postgres(c) => query.execute(c)?,
        DbConnection::Sqlite(c) => query.execute(c)?,
    };
    Ok(())
}

/// Plans every affected person's notice, replacing the previous plan, and returns
/// the summary: by first channel, by locale, unreachable, and the time to send it all.
pub fn build(
    conn: &mut DbConnection,
    service: std::sync::Arc<NoticeService>,
    tenant_id: &str,
    incident_id: &str,
    by: &str,
) -> AppResult<Value> {
    let notices = IncidentNotices::load(conn, service, tenant_id, incident_id)?;
    diesel::delete(plan_entries::table.filter(plan_entries::incident_id.eq(incident_id)))
        .execute(conn)?;
    let mut tally = Tally::default();
    let mut after: Option<String> = None;
    loop {
        let rows = affected::page(conn, tenant_id, incident_id, after.as_deref(), PLAN_PAGE)?;
        let Some(last) = rows.last() else { break };
        after = Some(last.external_id.clone());
        let mut batch = Vec::with_capacity(rows.len());
        for row in &rows {
            let planned = notices.plan(row);
            tally.add(&planned);
            batch.push(NewPlanEntry {
                incident_id: incident_id.to_owned(),
                external_id: row.external_id.clone(),
                tenant_id: tenant_id.to_owned(),
                audience: serde_json::to_value(planned.audience)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                recipient_name: planned.recipient_name.clone(),
                subject_name: planned.subject_name.clone(),
                locale: planned.locale.clone(),
                channels: to_json_text(&planned.routes)?,
                postal_address: row.postal_address.clone(),
                unreachable: planned.unreachable(),
            });
        }
        for chunk in batch.chunks(500) {
            insert_entries(conn, chunk)?;
        }
    }
    let summary = tally.summary(conn, tenant_id, incident_id)?;
    diesel::delete(notice_plans::table.find(incident_id)).execute(conn)?;
    diesel::insert_into(notice_plans::table)
        .values((
            notice_plans::incident_id.eq(incident_id),
            notice_plans::tenant_id.eq(tenant_id),
            notice_plans::summary.eq(summary.to_string()),
            notice_plans::created_by.eq(by),
            notice_plans::created_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(summary)
}

/// The incident's current plan summary.
pub fn get(conn: &mut DbConnection, tenant_id: &str, incident_id: &str) -> AppResult<Value> {
    incidents::get(conn, tenant_id, incident_id)?;
    let (summary, by, at): (String, String, NaiveDateTime) = notice_plans::table
        .filter(notice_plans::tenant_id.eq(tenant_id))
        .filter(notice_plans::incident_id.eq(incident_id))
        .select((
            notice_plans::summary,
            notice_plans::created_by,
            notice_plans::created_at,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::NotFound(format!("plan of incident {incident_id}: POST …/plan first"))
        })?;
    let mut summary: Value = from_json_text(&summary)?;
    summary["created_by"] = json!(by);
    summary["created_at"] = json!(format_instant(at));
    Ok(summary)
}

#[derive(Default)]
struct Tally {
    total: u64,
    guardians: u64,
    unreachable: u64,
    by_channel: BTreeMap<&'static str, u64>,
    reachable_on: BTreeMap<&'static str, u64>,
    by_locale: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, p: &PlannedNotice) {
        self.total += 1;
        self.guardians += u64::from(p.audience == crate::notices::Audience::Guardian);
        *self.by_locale.entry(p.locale.clone()).or_default() += 1;
        match p.routes.first() {
            Some(first) => *self.by_channel.entry(first.channel.as_str()).or_default() += 1,
            None => self.unreachable += 1,
        }
        for r in &p.routes {
            *self.reachable_on.entry(r.channel.as_str()).or_default() += 1;
        }
    }

    /// The summary with the time needed at planning rates, against the earliest open deadline.
    fn summary(
        &self,
        conn: &mut DbConnection,
        tenant_id: &str,
        incident_id: &str,
    ) -> AppResult<Value> {
        let seconds: f64 = self
            .by_channel
            .iter()
            .map(|(c, n)| *n as f64 / rate(c))
            .fold(0.0, f64::max);
        let now = now_micros();
        let finish = now + chrono::Duration::milliseconds((seconds * 1000.0).ceil() as i64);
        let deadline = obligations::list(conn, tenant_id, incident_id)?
            .into_iter()
            .filter(|o| o.recipient == "subjects" && o.status == "open")
            .filter_map(|o| o.due_at.or(o.target_at).map(|due| (due, o.regime)))
            .min();
        Ok(json!({
            "total": self.total,
            "guardians": self.guardians,
            "unreachable": self.unreachable,
            "by_channel": self.by_channel,
            "reachable_on": self.reachable_on,
            "by_locale": self.by_locale,
            "estimate": {
                "seconds": seconds.ceil(),
                "rates_per_s": PLANNING_RATES.iter().map(|(c, r)| (c.as_str(), *r)).collect::<BTreeMap<_, _>>(),
                "finish_at": format_instant(finish),
                "earliest_deadline": deadline.as_ref().map(|(due, regime)| json!({ "regime": regime, "due_at": format_instant(*due) })),
                "meets_deadline": deadline.as_ref().is_none_or(|(due, _)| finish <= *due),
            },
        }))
    }
}

fn rate(channel: &str) -> f64 {
    PLANNING_RATES
        .iter()
        .find(|(c, _)| c.as_str() == channel)
        .map_or(1.0, |(_, r)| *r)
}
