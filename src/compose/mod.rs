//! Notice composition: the service layer between `store` and `web`/`dispatch`.
//!
//! It loads what an incident's notices are made of through `store` (the tenant's
//! notice settings, the notice content, the obligations' required items, the
//! templates with the tenant's overrides) and renders with `notices`. The plan,
//! the preview, a dispatch's approval checks and the worker's messages are all
//! composed here, so the rules live in one place.

pub mod dispatch;
pub mod plan;
pub mod reports;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::db::DbConnection;
use crate::domain::{Audience, Channel, NoticeItem, ObligationStatus};
use crate::error::{AppError, AppResult};
use crate::notices::checklist::{self, ItemCheck};
use crate::notices::content::NoticeContent;
use crate::notices::plan::{Contacts, PlanPerson, PlannedNotice, plan};
use crate::notices::render::{Person, Renderer, Shapes};
use crate::notices::settings::NoticeSettings;
use crate::notices::{Authoritative, NoticeContext, NoticeText, Rendered, Templates, sms};
use crate::store::affected::AffectedRow;
use crate::store::incidents::IncidentRow;
use crate::store::tenants::TenantRow;
use crate::store::{incidents, notice_contents, obligations, tenants};

/// Length of a notice-page token (hex of 16 bytes).
pub const LINK_TOKEN_LEN: usize = 32;

/// Longest push title and body shown in full on common devices.
const PUSH_TITLE_MAX: usize = 65;
const PUSH_BODY_MAX: usize = 240;
/// Longest e-mail subject that displays in full in common mail clients.
const EMAIL_SUBJECT_MAX: usize = 78;

/// The service-wide parts of notices: compiled templates (and tenants' own, from
/// `BREACHLINE_TEMPLATES_DIR/<tenant-slug>/notices/…`) and the public URL.
pub struct NoticeService {
    /// The built-in templates.
    pub templates: Arc<Templates>,
    /// Base URL of per-person notice pages.
    pub public_url: String,
    overrides: Option<std::path::PathBuf>,
    per_tenant: Mutex<HashMap<String, Arc<Templates>>>,
}

impl NoticeService {
    /// The built-in templates, with tenant overrides read from `overrides` when given.
    pub fn new(public_url: String, overrides: Option<std::path::PathBuf>) -> anyhow::Result<Self> {
        Ok(Self {
            templates: Arc::new(Templates::embedded()?),
            public_url,
            overrides,
            per_tenant: Mutex::new(HashMap::new()),
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
        let mut cache = self
            .per_tenant
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = cache.get(tenant_slug) {
            return Ok(t.clone());
        }
        let templates = Arc::new(Templates::with_overrides(&dir).map_err(AppError::Unexpected)?);
        cache.insert(tenant_slug.to_owned(), templates.clone());
        Ok(templates)
    }

    /// The link to a person's notice page for `token`.
    pub fn notice_url(&self, token: &str) -> String {
        format!("{}/n/{token}", self.public_url)
    }

    /// The public page of a tenant's bulletin.
    pub fn bulletin_url(&self, tenant_slug: &str, bulletin_id: &str) -> String {
        format!("{}/b/{tenant_slug}/{bulletin_id}", self.public_url)
    }

    /// The regulator's read-only portal for a share link's token.
    pub fn portal_url(&self, token: &str) -> String {
        format!("{}/r/{token}", self.public_url)
    }
}

/// Everything about one incident that its notices are made of.
pub struct IncidentNotices {
    service: Arc<NoticeService>,
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
    /// Loads what the incident's notices need, with its current notice content.
    pub fn load(
        conn: &mut DbConnection,
        service: Arc<NoticeService>,
        tenant_id: &str,
        incident_id: &str,
    ) -> AppResult<Self> {
        let incident = incidents::get(conn, tenant_id, incident_id)?;
        let tenant = tenants::get(conn, tenant_id)?;
        let settings = tenants::notice_settings(&tenant)?;
        let content = notice_contents::get(conn, tenant_id, incident_id)?.map(|s| s.content);
        let required = required_items(conn, tenant_id, incident_id)?;
        let templates = service.templates_for(&tenant.slug)?;
        let mut notices = Self {
            service,
            templates,
            tenant,
            settings,
            incident,
            content: None,
            required,
            locales: Vec::new(),
        };
        notices.set_content(content);
        Ok(notices)
    }

    /// The same, but with the content a dispatch was approved with.
    pub fn with_content(mut self, content: NoticeContent) -> Self {
        self.set_content(Some(content));
        self
    }

    /// Locales with both templates and content (all template locales before any
    /// content is written, so a plan can be previewed early).
    fn set_content(&mut self, content: Option<NoticeContent>) {
        self.locales = self
            .templates
            .locales()
            .into_iter()
            .filter(|l| content.as_ref().is_none_or(|c| c.for_locale(l).is_some()))
            .collect();
        self.content = content;
    }

    /// The tenant's slug.
    pub fn tenant_slug(&self) -> &str {
        &self.tenant.slug
    }

    /// The tenant's fallback locale.
    pub fn tenant_locale(&self) -> &str {
        &self.tenant.default_locale
    }

    /// The templates this tenant's notices use.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The incident's notice content, when written.
    pub fn content(&self) -> Option<&NoticeContent> {
        self.content.as_ref()
    }

    /// Locales a notice can be written in: templates and content both exist.
    pub fn locales(&self) -> &[String] {
        &self.locales
    }

    /// The service the notices belong to.
    pub fn service(&self) -> &NoticeService {
        &self.service
    }

    /// The tenant's `From` and `Reply-To` for e-mail (`None`: the service default).
    pub fn sender(&self) -> (Option<String>, Option<String>) {
        (
            self.settings.email_from.clone(),
            self.settings.reply_to.clone(),
        )
    }

    /// Plans one affected person's notice.
    pub fn plan(&self, row: &AffectedRow) -> AppResult<PlannedNotice> {
        Ok(plan(
            &plan_person(row)?,
            &self.settings.channel_policy(),
            &self.tenant.default_locale,
            &self.locales,
        ))
    }

    /// The locale whose text prevails (Cafetalk: Japanese), as one of the template
    /// locales, when the tenant has one.
    pub fn authoritative_locale(&self) -> Option<String> {
        let prevailing = self.settings.authoritative_locale.as_deref()?;
        Some(
            crate::notices::locale::best_match(prevailing, &self.templates.locales())
                .unwrap_or(prevailing)
                .to_owned(),
        )
    }

    /// The notice content in `locale` (exact or by language); empty when the
    /// content has no such locale. Callers render only locales in [`Self::locales`].
    pub fn text(&self, locale: &str) -> NoticeText {
        self.content
            .as_ref()
            .and_then(|c| c.for_locale(locale))
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    }

    /// The shared (not per-person) template context in `locale`.
    pub fn shared_context(&self, locale: &str) -> NoticeContext {
        let text = self.text(locale);
        NoticeContext {
            organisation: self.tenant.name.clone(),
            audience: Audience::Subject,
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
        let prevailing = self.authoritative_locale()?;
        (prevailing != locale && self.locales.contains(&prevailing)).then(|| Authoritative {
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
        self.renderer_resuming(Shapes::default())
    }

    /// A renderer that starts with the shapes an earlier renderer of these same
    /// notices prepared.
    pub fn renderer_resuming(&self, shapes: Shapes) -> Renderer<'_> {
        let shared: HashMap<String, NoticeContext> = self
            .locales
            .iter()
            .map(|l| (l.clone(), self.shared_context(l)))
            .collect();
        Renderer::resuming(&self.templates, shared, shapes)
    }

    /// The link to a person's notice page for `token`.
    pub fn notice_url(&self, token: &str) -> String {
        self.service.notice_url(token)
    }

    /// Checks the required items for one locale, channel and audience.
    pub fn checklist(
        &self,
        locale: &str,
        channel: Channel,
        audience: Audience,
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
    pub fn preview(&self, row: &AffectedRow, channel: Channel) -> AppResult<Preview> {
        let planned = self.plan(row)?;
        let address = plan_person(row)?.address(channel);
        let notice_url = self.notice_url(&"0".repeat(LINK_TOKEN_LEN));
        let person = person_for(&planned, row, Some(notice_url), channel);
        let rendered = self
            .renderer()
            .render(&planned.locale, channel, planned.audience, &person)
            .map_err(AppError::Unexpected)?;
        let checklist = self.checklist(
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
        if let Some(kind) = planned.fallback() {
            warnings.push(language_warning(
                &planned.wanted_locale,
                &planned.locale,
                kind,
                1,
            ));
        }
        if let Some(missing) = self.missing_authoritative() {
            warnings.push(missing);
        }
        let limits = limits(
            channel,
            &rendered,
            self.settings.sms_max_segments,
            &mut warnings,
        );
        Ok(Preview {
            recipient: PreviewRecipient {
                kind: planned.audience,
                name: planned.recipient_name.clone(),
                address,
            },
            subject_name: planned.subject_name.clone(),
            locale: planned.locale.clone(),
            wanted_locale: planned.wanted_locale.clone(),
            channel,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            segments: limits.segments,
            complete: checklist.iter().all(|c| c.present),
            limits,
            checklist,
            planned_channels: planned.routes.iter().map(|r| r.channel).collect(),
            warnings,
        })
    }

    /// A warning when the tenant's authoritative language has no content yet.
    pub fn missing_authoritative(&self) -> Option<String> {
        let prevailing = self.authoritative_locale()?;
        let has = self
            .content
            .as_ref()
            .is_some_and(|c| c.for_locale(&prevailing).is_some());
        (!has).then(|| {
            format!(
                "the {prevailing} text prevails for this organisation, but the notice content has no {prevailing} version yet: approval is refused until it has"
            )
        })
    }
}

/// What one person would receive on one channel.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// Who it is addressed to.
    pub recipient: PreviewRecipient,
    /// The person whose data was involved.
    pub subject_name: Option<String>,
    /// The locale used.
    pub locale: String,
    /// The locale the person wanted.
    pub wanted_locale: String,
    /// The channel previewed.
    pub channel: Channel,
    /// E-mail subject or push title.
    pub subject: Option<String>,
    /// Text body.
    pub text: Option<String>,
    /// HTML body.
    pub html: Option<String>,
    /// SMS segments, for SMS.
    pub segments: Option<sms::Segments>,
    /// The channel's limits and whether the notice keeps them.
    pub limits: Limits,
    /// The required items.
    pub checklist: Vec<ItemCheck>,
    /// Every required item is present.
    pub complete: bool,
    /// The channels the plan tries for this person, in order.
    pub planned_channels: Vec<Channel>,
    /// What the team should look at.
    pub warnings: Vec<String>,
}

/// The addressee of a preview.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewRecipient {
    /// `subject` or `guardian`.
    pub kind: Audience,
    /// Name.
    pub name: Option<String>,
    /// The address on the previewed channel, if any.
    pub address: Option<String>,
}

/// A channel's length limits against one rendered notice.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Limits {
    /// SMS segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<sms::Segments>,
    /// Most SMS segments the tenant allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_segments: Option<usize>,
    /// Push title length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_chars: Option<usize>,
    /// Push title limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_max: Option<usize>,
    /// Push body length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_chars: Option<usize>,
    /// Push body limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_max: Option<usize>,
    /// E-mail subject length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_chars: Option<usize>,
    /// E-mail subject limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_max: Option<usize>,
    /// Within every limit.
    pub ok: bool,
}

/// A warning about a language a person did not ask for.
pub fn language_warning(
    wanted: &str,
    used: &str,
    kind: crate::notices::locale::Fallback,
    count: u64,
) -> String {
    let people = if count == 1 {
        "1 person".to_owned()
    } else {
        format!("{count} people")
    };
    match kind {
        crate::notices::locale::Fallback::Script => format!(
            "{people} reading {wanted} get {used}, the same language in another script: add {wanted} notice content"
        ),
        crate::notices::locale::Fallback::Language => format!(
            "{people} wanting {wanted} get {used}: add {wanted} notice content (and templates) to write to them in their language"
        ),
    }
}

/// The person-specific values of one notice.
pub fn person_for(
    planned: &PlannedNotice,
    row: &AffectedRow,
    notice_url: Option<String>,
    channel: Channel,
) -> Person {
    let postal = match planned.audience {
        Audience::Subject => row.postal_address.clone(),
        Audience::Guardian => row.guardian_postal_address.clone(),
    };
    Person {
        recipient_name: planned.recipient_name.clone(),
        subject_name: planned.subject_name.clone(),
        notice_url,
        postal_address: (channel == Channel::Letter).then_some(postal).flatten(),
        categories: row.exposed(),
    }
}

fn limits(channel: Channel, r: &Rendered, sms_max: usize, warnings: &mut Vec<String>) -> Limits {
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
            Limits {
                segments: Some(s),
                max_segments: Some(sms_max),
                ok,
                ..Limits::default()
            }
        }
        Channel::Push => {
            let (title, body) = (chars(&r.subject), chars(&r.text));
            let ok = title <= PUSH_TITLE_MAX && body <= PUSH_BODY_MAX;
            if !ok {
                warnings.push(format!("push title {title}/{PUSH_TITLE_MAX} or body {body}/{PUSH_BODY_MAX} characters may be cut"));
            }
            Limits {
                title_chars: Some(title),
                title_max: Some(PUSH_TITLE_MAX),
                body_chars: Some(body),
                body_max: Some(PUSH_BODY_MAX),
                ok,
                ..Limits::default()
            }
        }
        Channel::Email => {
            let subject = chars(&r.subject);
            let ok = subject <= EMAIL_SUBJECT_MAX;
            if !ok {
                warnings.push(format!("e-mail subject has {subject} characters; over {EMAIL_SUBJECT_MAX} it is cut in many clients"));
            }
            Limits {
                subject_chars: Some(subject),
                subject_max: Some(EMAIL_SUBJECT_MAX),
                ok,
                ..Limits::default()
            }
        }
        Channel::Letter | Channel::Phone => Limits {
            ok: true,
            ..Limits::default()
        },
    }
}

/// What planning needs of an affected person's row.
pub fn plan_person(row: &AffectedRow) -> AppResult<PlanPerson> {
    let preferred_channel = row
        .preferred_channel
        .as_deref()
        .map(str::parse::<Channel>)
        .transpose()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("stored preferred_channel: {e}")))?;
    Ok(PlanPerson {
        name: row.name.clone(),
        locale: row.locale.clone(),
        minor: row.minor,
        guardian_name: row.guardian_name.clone(),
        own: Contacts {
            email: row.email.clone(),
            phone: row.phone.clone(),
            push_token: row.push_token.clone(),
            postal_address: row.postal_address.clone(),
        },
        guardian: Contacts {
            email: row.guardian_email.clone(),
            phone: row.guardian_phone.clone(),
            push_token: row.guardian_push_token.clone(),
            postal_address: row.guardian_postal_address.clone(),
        },
        preferred_channel,
    })
}

/// The base items plus what each regime owing the people a notice adds.
fn required_items(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<NoticeItem>> {
    let mut items = NoticeItem::BASE.to_vec();
    for o in obligations::list(conn, tenant_id, incident_id)? {
        if o.recipient == "subjects" && o.status()? != ObligationStatus::Waived {
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
    incidents::get(conn, tenant_id, incident_id)?;
    crate::store::affected::person(conn, incident_id, external_id)?.ok_or_else(|| {
        AppError::NotFound(format!(
            "subject '{external_id}' in the affected set of incident {incident_id}"
        ))
    })
}
