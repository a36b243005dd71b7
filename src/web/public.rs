//! Public pages, no login: a person's notice page (`/n/{token}`), reached from the
//! link in an SMS or push. The token is unguessable (128 bits) and expires.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::compose::NoticeService;
use crate::compose::dispatch::notice_page as compose_page;
use crate::db::Db;
use crate::error::{AppError, AppResult};

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
    let lang = query.into_inner().lang;
    let token = token.into_inner();
    let html = db
        .read(move |conn| compose_page(conn, service, &token, lang.as_deref(), LINK_DAYS))
        .await?
        .ok_or_else(|| AppError::NotFound("notice".into()))?;
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
