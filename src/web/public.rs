//! Public pages, no login: a person's notice page (`/n/{token}`), reached from the
//! link in an SMS or push. The token is unguessable (128 bits) and expires.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::Db;
use crate::db::schema::dispatch_recipients;
use crate::domain::{categories_of_mask, now_micros};
use crate::error::{AppError, AppResult};
use crate::notices::Audience;
use crate::store::plans::{IncidentNotices, NoticeService};
use crate::store::{affected, dispatches};

/// How long a notice page stays reachable after approval.
const LINK_DAYS: i64 = 180;

/// Registers the public routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/n/{token}", web::get().to(notice_page));
}

#[derive(Deserialize)]
struct PageQuery {
    lang: Option<String>,
}

async fn notice_page(
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    token: web::Path<String>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let service = service.into_inner();
    let hash = dispatches::token_hash(&token);
    let lang = query.into_inner().lang;
    let html = db
        .read(move |conn| {
            let gone = || AppError::NotFound("notice".into());
            let (dispatch_id, external_id, audience, recipient_name, subject_name, locale): (
                String,
                String,
                String,
                Option<String>,
                Option<String>,
                String,
            ) = dispatch_recipients::table
                .filter(dispatch_recipients::link_token_hash.eq(&hash))
                .select((
                    dispatch_recipients::dispatch_id,
                    dispatch_recipients::external_id,
                    dispatch_recipients::audience,
                    dispatch_recipients::recipient_name,
                    dispatch_recipients::subject_name,
                    dispatch_recipients::locale,
                ))
                .first(conn)
                .optional()?
                .ok_or_else(gone)?;
            let dispatch = dispatches::by_id(conn, &dispatch_id)?;
            let expired = dispatch
                .approved_at
                .is_none_or(|at| at + chrono::Duration::days(LINK_DAYS) < now_micros());
            if expired {
                return Err(gone());
            }
            let notices = IncidentNotices::load(
                conn,
                service.clone(),
                &dispatch.tenant_id,
                &dispatch.incident_id,
            )?
            .with_content(dispatch.content()?);
            let mask = affected::person(conn, &dispatch.incident_id, &external_id)?
                .map_or(0, |row| row.exposed_categories);
            let locale = lang
                .as_deref()
                .and_then(|l| {
                    crate::notices::locale::best_match(l, &notices.templates().locales())
                        .map(str::to_owned)
                })
                .unwrap_or(locale);
            let audience = if audience == "guardian" {
                Audience::Guardian
            } else {
                Audience::Subject
            };
            let mut ctx = notices.shared_context(&locale);
            ctx.audience = audience;
            ctx.recipient_name = recipient_name;
            ctx.subject_name = subject_name;
            ctx.data_categories = notices
                .templates()
                .category_labels(&locale, &categories_of_mask(mask));
            if let Some(a) = ctx.authoritative.as_mut() {
                a.url = Some(format!(
                    "{}/n/{}?lang={}",
                    service.public_url, token, a.locale
                ));
            }
            notices
                .templates()
                .render_page(&locale, audience, &ctx)
                .map_err(AppError::Unexpected)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .body(html))
}
