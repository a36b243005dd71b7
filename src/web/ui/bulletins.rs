//! The incident page's public bulletins: each bulletin with its state and public
//! page, drafting one (the text items per locale), and the second person's
//! approval that publishes it. The forms call the API's own `bulletins::create`
//! and `bulletins::approve`, so the four-eyes rule and the publication checks are
//! the API's.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::form::{self, FormData};
use super::incidents::{Deps, Refused, after};
use super::session::{SignedIn, UiResult};
use super::view::{self, Pages};
use crate::bulletin::content::TEXT_ITEMS;
use crate::compose::NoticeService;
use crate::db::DbConnection;
use crate::domain::BulletinStatus;
use crate::error::AppResult;
use crate::store::bulletins::{self as stored, BulletinRow, VersionRow};
use crate::web::api;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{id}/bulletins", web::post().to(draft))
        .route(
            "/incidents/{id}/bulletins/{b}/approve",
            web::post().to(approve),
        );
}

/// The locales the draft form offers (the UI's languages).
const LOCALES: [&str; 3] = ["en", "ja", "zh-CN"];

/// One bulletin with its pending (unpublished) version.
pub(super) struct Loaded {
    row: BulletinRow,
    pending: Option<VersionRow>,
}

/// Reads the incident's bulletins for the page.
pub(super) fn load(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<Loaded>> {
    stored::list(conn, tenant_id, incident_id)?
        .into_iter()
        .map(|row| {
            let pending = stored::pending_version(conn, &row)?;
            Ok(Loaded { row, pending })
        })
        .collect()
}

/// The bulletins section of the incident page.
pub(super) fn view(
    signed: &SignedIn,
    service: &NoticeService,
    tenant_slug: &str,
    loaded: &[Loaded],
    refused: Option<&Refused<'_>>,
) -> AppResult<Value> {
    let pages = Pages::get()?;
    let tz = signed.tz;
    let role = signed.who.role;
    let for_form = |name: &str| refused.filter(|r| r.form == name);
    let items = loaded
        .iter()
        .map(|b| {
            let status = b.row.status()?;
            let pending_author = b.pending.as_ref().map(|v| v.author.clone());
            let mine = pending_author.as_deref() == Some(signed.who.name.as_str());
            let awaiting = status == BulletinStatus::AwaitingApproval || b.pending.is_some();
            Ok(json!({
                "id": b.row.id,
                "status": status.as_str(),
                "url": service.bulletin_url(tenant_slug, &b.row.id),
                "published_version": b.row.published_version,
                "pending_version": b.pending.as_ref().map(|v| v.version),
                "pending_author": pending_author,
                "first_published": b.row.first_published_at.map(|t| view::instant(t, tz)),
                "created_by": b.row.created_by,
                "created": view::instant(b.row.created_at, tz),
                "waiting_for_other": awaiting && mine,
                "can_approve": awaiting && !mine && role.can_approve(),
                "message": for_form(&format!("bulletin-{}", b.row.id)).and_then(|r| r.message.clone()),
            }))
        })
        .collect::<AppResult<Vec<Value>>>()?;
    let draft = for_form("bulletin-draft");
    let errors = draft.map(|r| r.errors.as_slice()).unwrap_or_default();
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| e.reason.clone())
    };
    let posted = |name: &str| {
        draft
            .and_then(|r| r.posted)
            .and_then(|p| p.get(name))
            .unwrap_or_default()
            .to_owned()
    };
    let sections = LOCALES
        .iter()
        .map(|locale| {
            let items = TEXT_ITEMS
                .iter()
                .map(|item| {
                    let name = format!("locales.{locale}.{item}");
                    json!({
                        "name": name, "id": format!("bulletin-{locale}-{item}"),
                        "label": pages.word(signed.lang, &format!("bulletin_{item}")),
                        "value": posted(&name), "error": error_of(&name), "textarea": *item != "title",
                    })
                })
                .chain(std::iter::once({
                    let name = format!("locales.{locale}.contact.email");
                    json!({
                        "name": name, "id": format!("bulletin-{locale}-contact-email"),
                        "label": pages.word(signed.lang, "contact_email"),
                        "value": posted(&name), "error": error_of(&name), "textarea": false,
                    })
                }))
                .collect::<Vec<_>>();
            json!({ "locale": locale, "items": items })
        })
        .collect::<Vec<_>>();
    let shown: Vec<String> = sections
        .iter()
        .flat_map(|s| s["items"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect();
    let chosen = posted("default_locale");
    let chosen = if chosen.is_empty() {
        signed.lang.tag().to_owned()
    } else {
        chosen
    };
    Ok(json!({
        "items": items,
        "can_draft": role.can_edit_incidents(),
        "locales": LOCALES.iter().map(|l| json!({ "value": l, "selected": *l == chosen })).collect::<Vec<_>>(),
        "default_locale_error": error_of("default_locale"),
        "sections": sections,
        "message": draft.and_then(|r| r.message.clone()),
        "other_errors": errors.iter()
            .filter(|e| e.field != "default_locale" && !shown.contains(&e.field))
            .map(|e| format!("{}: {}", e.field, e.reason))
            .collect::<Vec<_>>(),
    }))
}

type Incident = web::Path<String>;

/// Drafts a bulletin: the text per locale written (blank locales left out).
async fn draft(
    signed: SignedIn,
    deps: Deps,
    id: Incident,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let id = id.into_inner();
    let body = form::localized(&form);
    let result = api::bulletins::create(
        signed.who.clone(),
        &deps.db,
        deps.service.clone(),
        id.clone(),
        body,
    )
    .await
    .map(drop);
    let form_name = "bulletin-draft".to_owned();
    after(
        &signed,
        &deps,
        id,
        form_name,
        Some(&form),
        result,
        "bulletins",
    )
    .await
}

/// Approves (and so publishes) a bulletin's pending version as the second person.
async fn approve(
    signed: SignedIn,
    deps: Deps,
    path: web::Path<(String, String)>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let (id, bulletin) = path.into_inner();
    let result = api::bulletins::approve(
        signed.who.clone(),
        &deps.db,
        deps.service.clone(),
        id.clone(),
        bulletin.clone(),
    )
    .await
    .map(drop);
    let form_name = format!("bulletin-{bulletin}");
    after(&signed, &deps, id, form_name, None, result, "bulletins").await
}
