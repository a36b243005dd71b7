//! Dispatches as composed notices: creating one from the plan and the content,
//! the checks of its approval, and the messages the worker sends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{IncidentNotices, NoticeService, plan};
use crate::db::DbConnection;
use crate::domain::{Channel, DispatchStatus, FieldError, SendWindow, categories_of_mask};
use crate::error::{AppError, AppResult};
use crate::notices::checklist;
use crate::notices::content::NoticeContent;
use crate::notices::render::{Person, Renderer, Shapes};
use crate::store::delivery::{self, Recipient};
use crate::store::dispatches::{self, DispatchRow, NewDispatch, PlannedGroup};
use crate::store::outbox::Claimed;
use crate::store::{affected, incidents, notice_contents, plans, tenants};

/// Creates a dispatch from the incident's current plan and notice content, and
/// freezes the affected set so later registry edits do not rewrite it.
pub fn create(
    conn: &mut DbConnection,
    service: &NoticeService,
    tenant_id: &str,
    incident_id: &str,
    by: &str,
) -> AppResult<DispatchRow> {
    incidents::get(conn, tenant_id, incident_id)?;
    if !plans::exists(conn, incident_id)? {
        return Err(AppError::Conflict(
            "no notice plan yet: POST …/plan first".into(),
        ));
    }
    let content = notice_contents::get(conn, tenant_id, incident_id)?
        .ok_or_else(|| {
            AppError::Conflict("no notice content yet: PUT …/notice-content first".into())
        })?
        .content;
    let summary = plan::get(conn, tenant_id, incident_id)?;
    let row = dispatches::insert(
        conn,
        &NewDispatch {
            tenant_id,
            incident_id,
            content: &content,
            created_by: by,
            warnings: &summary.warnings,
        },
    )?;
    let groups = dispatches::planned_groups(conn, &row.id)?;
    let slug = tenants::get(conn, tenant_id)?.slug;
    let hash = content_hash(service, &slug, &content, &groups)?;
    dispatches::set_content_hash(conn, &row.id, &hash)?;
    affected::freeze(conn, tenant_id, incident_id)?;
    dispatches::get(conn, tenant_id, incident_id, &row.id)
}

/// Hash binding an approval to exactly this content and these templates.
fn content_hash(
    service: &NoticeService,
    tenant_slug: &str,
    content: &NoticeContent,
    groups: &[PlannedGroup],
) -> AppResult<String> {
    let templates = service.templates_for(tenant_slug)?;
    let mut hasher = Sha256::new();
    hasher.update(crate::store::to_json_text(content)?);
    for group in groups {
        for channel in Channel::ALL {
            hasher.update(
                templates
                    .content_hash(&group.locale, *channel, group.audience)
                    .map_err(AppError::Unexpected)?,
            );
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Approves a dispatch: a different person than its creator, the content and
/// templates it was created with, the authoritative language present, and every
/// required item in every locale and audience on every channel someone is planned
/// on. Queues each reachable person's first channel, in the caller's transaction.
pub fn approve(
    conn: &mut DbConnection,
    service: Arc<NoticeService>,
    row: &DispatchRow,
    approver: &str,
) -> AppResult<()> {
    if row.status != DispatchStatus::AwaitingApproval {
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
    let approved = row.content()?;
    let groups = dispatches::planned_groups(conn, &row.id)?;
    let slug = tenants::get(conn, &row.tenant_id)?.slug;
    if current.as_ref() != Some(&approved)
        || content_hash(&service, &slug, &approved, &groups)? != row.content_hash
    {
        return Err(AppError::Conflict(
            "the notice content or templates changed since this dispatch was created: create a new dispatch and approve that".into(),
        ));
    }
    let notices = IncidentNotices::load(conn, service, &row.tenant_id, &row.incident_id)?
        .with_content(approved);
    check(&notices, &groups)?;
    delivery::enqueue_first_channels(conn, row)?;
    dispatches::mark_approved(conn, &row.id, approver)?;
    // Nobody reachable: nothing for a worker to do, so it completes now.
    delivery::complete_if_done(conn, &row.id)
}

/// Refuses approval naming every problem: the authoritative locale missing, a
/// required item missing (with locale and channels), an SMS too long.
fn check(notices: &IncidentNotices, groups: &[PlannedGroup]) -> AppResult<()> {
    let mut errors = authoritative_missing(notices);
    let mut missing: BTreeMap<(String, String), (String, Vec<&'static str>)> = BTreeMap::new();
    for group in groups {
        for channel in &group.channels {
            for check in notices.checklist(&group.locale, *channel, group.audience, true)? {
                if let (false, Some(reason)) = (check.present, check.reason) {
                    let entry = missing
                        .entry((group.locale.clone(), check.item.as_str().to_owned()))
                        .or_insert((reason, Vec::new()));
                    if !entry.1.contains(&channel.as_str()) {
                        entry.1.push(channel.as_str());
                    }
                }
            }
        }
    }
    errors.extend(
        missing
            .into_iter()
            .map(|((locale, item), (reason, channels))| {
                FieldError::new(
                    format!("notice_content.locales.{locale}.{item}"),
                    format!("{item}: {reason}; channels: {}", channels.join(", ")),
                )
            }),
    );
    errors.extend(sms_too_long(notices, groups)?);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The tenant's authoritative language must be written in full whenever any
/// language is sent (Cafetalk: the Japanese text prevails).
fn authoritative_missing(notices: &IncidentNotices) -> Vec<FieldError> {
    let Some(prevailing) = notices.authoritative_locale() else {
        return Vec::new();
    };
    let field = format!("notice_content.locales.{prevailing}");
    match notices.content().and_then(|c| c.for_locale(&prevailing)) {
        None => vec![FieldError::new(
            field,
            format!(
                "the {prevailing} text prevails for this organisation (authoritative_locale), so the notice content needs a {prevailing} version before anything is sent"
            ),
        )],
        Some((_, text)) => checklist::missing_in_content(text, &notices.required)
            .into_iter()
            .map(|item| {
                FieldError::new(
                    format!("{field}.{}", item.as_str()),
                    format!(
                        "{}: empty in the authoritative {prevailing} notice content",
                        item.as_str()
                    ),
                )
            })
            .collect(),
    }
}

/// The tenant's SMS segment limit, for the groups someone is planned to get an SMS
/// in (an SMS carries no personal field but the link, whose length is fixed).
fn sms_too_long(notices: &IncidentNotices, groups: &[PlannedGroup]) -> AppResult<Vec<FieldError>> {
    let max = notices.settings.sms_max_segments;
    let mut renderer = notices.renderer();
    let person = Person {
        notice_url: Some(notices.notice_url(&"0".repeat(super::LINK_TOKEN_LEN))),
        ..Default::default()
    };
    let mut errors = Vec::new();
    for group in groups.iter().filter(|g| g.channels.contains(&Channel::Sms)) {
        let sms = renderer
            .render(&group.locale, Channel::Sms, group.audience, &person)
            .map_err(AppError::Unexpected)?;
        let segments = crate::notices::sms::segments(sms.text.as_deref().unwrap_or(""));
        if segments.count > max {
            let locale = &group.locale;
            errors.push(FieldError::new(
                format!("notice_content.locales.{locale}.summary"),
                format!("the {locale} SMS takes {} segments ({}); the tenant allows {max}: shorten the summary", segments.count, segments.encoding),
            ));
        }
    }
    Ok(errors)
}

/// One message, composed: what the channel adapter sends.
#[derive(Debug, Clone)]
pub struct ComposedMessage {
    /// E-mail subject or push title.
    pub subject: Option<String>,
    /// Text body.
    pub text: Option<String>,
    /// HTML body.
    pub html: Option<String>,
    /// The person's notice page.
    pub link: String,
    /// The notice's locale.
    pub locale: String,
    /// The addressee's name.
    pub to_name: Option<String>,
}

/// What the worker needs to compose the messages of one dispatch.
pub struct DispatchMessages {
    /// The dispatch.
    pub dispatch: DispatchRow,
    notices: IncidentNotices,
}

impl DispatchMessages {
    /// Loads the dispatch with the notice content it was approved with.
    pub fn load(
        conn: &mut DbConnection,
        service: Arc<NoticeService>,
        dispatch_id: &str,
    ) -> AppResult<Self> {
        let dispatch = dispatches::by_id(conn, dispatch_id)?;
        let notices =
            IncidentNotices::load(conn, service, &dispatch.tenant_id, &dispatch.incident_id)?
                .with_content(dispatch.content()?);
        Ok(Self { dispatch, notices })
    }

    /// The tenant's slug (it picks the tenant's own relay, if any).
    pub fn tenant_slug(&self) -> &str {
        self.notices.tenant_slug()
    }

    /// The tenant's send window.
    pub fn send_window(&self) -> Option<&SendWindow> {
        self.notices.settings.send_window.as_ref()
    }

    /// The tenant's `From` and `Reply-To`.
    pub fn sender(&self) -> (Option<String>, Option<String>) {
        self.notices.sender()
    }

    /// A renderer for this dispatch's locales.
    pub fn renderer(&self) -> Renderer<'_> {
        self.notices.renderer()
    }

    /// A renderer that starts with what an earlier one for this dispatch prepared.
    pub fn renderer_resuming(&self, shapes: Shapes) -> Renderer<'_> {
        self.notices.renderer_resuming(shapes)
    }

    /// The people and category masks the claimed rows are for.
    pub fn people(
        &self,
        conn: &mut DbConnection,
        claimed: &[Claimed],
    ) -> AppResult<(HashMap<String, Recipient>, HashMap<String, i64>)> {
        let ids: Vec<String> = claimed.iter().map(|c| c.external_id.clone()).collect();
        Ok((
            delivery::recipients(conn, &self.dispatch.id, &ids)?,
            delivery::exposed_masks(conn, &self.dispatch.incident_id, &ids)?,
        ))
    }

    /// Composes one claimed row's message.
    pub fn compose(
        &self,
        renderer: &mut Renderer<'_>,
        claimed: &Claimed,
        person: &Recipient,
        mask: i64,
    ) -> AppResult<ComposedMessage> {
        let token = dispatches::link_token(&self.dispatch, &claimed.external_id)?;
        let link = self.notices.notice_url(&token);
        let input = Person {
            recipient_name: person.recipient_name.clone(),
            subject_name: person.subject_name.clone(),
            notice_url: Some(link.clone()),
            postal_address: (claimed.channel == Channel::Letter)
                .then(|| person.postal_address.clone())
                .flatten(),
            categories: categories_of_mask(mask),
        };
        let rendered = renderer
            .render(&person.locale, claimed.channel, person.audience, &input)
            .map_err(AppError::Unexpected)?;
        Ok(ComposedMessage {
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            link,
            locale: person.locale.clone(),
            to_name: person.recipient_name.clone(),
        })
    }
}

/// The notice page of the person a link token belongs to, in `lang` when the
/// dispatch's content has that language (the page is never a mix of languages),
/// else in the person's own notice locale. `None` when no such page is live.
pub fn notice_page(
    conn: &mut DbConnection,
    service: Arc<NoticeService>,
    token: &str,
    lang: Option<&str>,
    link_days: i64,
) -> AppResult<Option<String>> {
    let Some(person) = delivery::recipient_by_link(conn, &dispatches::token_hash(token))? else {
        return Ok(None);
    };
    let dispatch = dispatches::by_id(conn, &person.dispatch_id)?;
    let live = dispatch
        .approved_at
        .is_some_and(|at| at + chrono::Duration::days(link_days) >= crate::domain::now_micros());
    if !live {
        return Ok(None);
    }
    let notices = IncidentNotices::load(
        conn,
        service.clone(),
        &dispatch.tenant_id,
        &dispatch.incident_id,
    )?
    .with_content(dispatch.content()?);
    let mask = affected::person(conn, &dispatch.incident_id, &person.external_id)?
        .map_or(0, |row| row.exposed_categories);
    let locale = lang
        .and_then(|l| crate::notices::locale::best_match(l, notices.locales()))
        .map_or_else(|| person.locale.clone(), str::to_owned);
    let mut ctx = notices.shared_context(&locale);
    ctx.audience = person.audience;
    ctx.recipient_name = person.recipient_name;
    ctx.subject_name = person.subject_name;
    ctx.data_categories = notices
        .templates()
        .category_labels(&locale, &categories_of_mask(mask));
    if let Some(a) = ctx.authoritative.as_mut() {
        a.url = Some(format!("{}?lang={}", service.notice_url(token), a.locale));
    }
    notices
        .templates()
        .render_page(&locale, person.audience, &ctx)
        .map(Some)
        .map_err(AppError::Unexpected)
}
