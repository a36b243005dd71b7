//! Public bulletin pages, no login: the tenant's list (`/b/{slug}`), a bulletin in
//! the visitor's language (`/b/{slug}/{id}`), the Atom feed (`/b/{slug}/feed.atom`),
//! the home-page banner (`/b/{slug}/banner.html`, `.json`) and the inquiry desk
//! (`POST /b/{slug}/{id}/inquiries`, always the same 202 answer). Drafts and other
//! tenants' bulletins are not found; a withdrawn bulletin says so and when. Every
//! response carries an ETag (304 on `If-None-Match`), cache headers and a CSP.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditEvent};
use crate::bulletin::content::{BulletinContent, BulletinText};
use crate::bulletin::feed::{self, FeedEntry, FeedInput};
use crate::bulletin::pages::{
    BulletinView, InquiryView, LanguageLink, ListItem, ListView, Pages, Shown, VersionLine,
    Withdrawal, negotiate,
};
use crate::compose::NoticeService;
use crate::db::{Db, DbConnection};
use crate::domain::{BulletinStatus, InquiryContact, VersionKind, now_micros};
use crate::error::{AppError, AppResult};
use crate::store::bulletins::{self, BulletinRow, VersionRow};
use crate::store::inquiries::{self, InquiryOutcome};
use crate::store::tenants::{self, TenantRow};

/// Registers the public bulletin routes (fixed names before `{id}`).
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/b/{slug}", web::get().to(list_page))
        .route("/b/{slug}/feed.atom", web::get().to(atom_feed))
        .route("/b/{slug}/banner.html", web::get().to(banner_html))
        .route("/b/{slug}/banner.json", web::get().to(banner_json))
        .route("/b/{slug}/{id}", web::get().to(bulletin_page))
        .route("/b/{slug}/{id}/inquiries", web::post().to(inquire));
}

/// Pages may be cached briefly by browsers and proxies; an update shows within a minute.
const CACHE_CONTROL: &str = "public, max-age=60";
/// No scripts, no external anything; inline styles only; not framed.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The banner is meant to be framed by the tenant's home page.
const BANNER_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// What the visitor asked for: `?lang=` and `Accept-Language`.
struct Wanted {
    query: Option<String>,
    header: Option<String>,
}

impl Wanted {
    fn of(req: &HttpRequest, query: LangQuery) -> Self {
        Self {
            query: query.lang,
            header: req
                .headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }
    }

    fn choose(&self, tenant: &TenantRow, available: &[String], fallback: &str) -> String {
        negotiate(
            self.query.as_deref(),
            self.header.as_deref(),
            &tenant.default_locale,
            available,
            fallback,
        )
    }
}

fn pages() -> AppResult<&'static Pages> {
    Pages::get().map_err(|e| AppError::Unexpected(anyhow::anyhow!(e)))
}

fn rendered(e: String) -> AppError {
    AppError::Unexpected(anyhow::anyhow!(e))
}

/// A response with an ETag over the body; 304 when the client has it already.
fn cached(
    req: &HttpRequest,
    body: String,
    content_type: &str,
    lang: Option<&str>,
    csp: &str,
) -> HttpResponse {
    let tag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag || t.trim() == "*")
        });
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if let Some(lang) = lang {
        response.insert_header((header::CONTENT_LANGUAGE, lang));
    }
    if matches {
        response.finish()
    } else {
        response.content_type(content_type).body(body)
    }
}

/// The page's URLs for a tenant.
struct Urls {
    base: String,
}

impl Urls {
    fn new(service: &NoticeService, slug: &str) -> Self {
        Self {
            base: format!("{}/b/{slug}", service.public_url),
        }
    }

    fn bulletin(&self, id: &str, lang: &str) -> String {
        format!("{}/{id}?lang={lang}", self.base)
    }

    fn feed(&self) -> String {
        format!("{}/feed.atom", self.base)
    }

    fn inquiries(&self, id: &str, lang: &str) -> String {
        format!("{}/{id}/inquiries?lang={lang}", self.base)
    }
}

/// A bulletin as the public sees it: its row, public versions and shown content.
struct Public {
    row: BulletinRow,
    versions: Vec<VersionRow>,
    content: BulletinContent,
}

fn load_public(conn: &mut DbConnection, tenant: &TenantRow, row: BulletinRow) -> AppResult<Public> {
    let versions = bulletins::public_versions(conn, &row)?;
    let shown = row.published_version;
    let content = versions
        .iter()
        .filter(|v| Some(v.version) == shown)
        .find_map(|v| v.bulletin_content().transpose())
        .transpose()?
        .ok_or_else(|| AppError::NotFound(format!("bulletin {} of {}", row.id, tenant.slug)))?;
    Ok(Public {
        row,
        versions,
        content,
    })
}

fn available(content: &BulletinContent) -> Vec<String> {
    content.locales.keys().cloned().collect()
}

fn withdrawal(public: &Public) -> AppResult<Option<Withdrawal>> {
    if public.row.status()? != BulletinStatus::Withdrawn {
        return Ok(None);
    }
    let reason = public
        .versions
        .iter()
        .rev()
        .find_map(|v| v.withdrawal_reason().transpose())
        .transpose()?;
    Ok(public.row.withdrawn_at.map(|at| {
        let shown = Shown::of(at);
        Withdrawal {
            at: shown.at,
            at_text: shown.text,
            reason,
        }
    }))
}

/// The page (and press statement) context for one language.
fn view<'a>(
    pages: &'a Pages,
    tenant: &TenantRow,
    public: &'a Public,
    text: &'a BulletinText,
    lang: &str,
    urls: &Urls,
) -> AppResult<BulletinView<'a>> {
    let row = &public.row;
    let first = row.first_published_at.unwrap_or(row.created_at);
    let languages: Vec<LanguageLink> = public
        .content
        .ordered_locales(None)
        .into_iter()
        .map(|l| LanguageLink {
            locale: l.to_owned(),
            name: pages.language_name(l),
            url: urls.bulletin(&row.id, l),
        })
        .collect();
    let versions = public
        .versions
        .iter()
        .map(|v| {
            let shown = Shown::of(v.published_at.unwrap_or(v.created_at));
            Ok(VersionLine {
                version: v.version,
                at: shown.at,
                at_text: shown.text,
                withdrawal: v.kind()? == VersionKind::Withdrawal,
                short_hash: v.sha256.chars().take(12).collect(),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(BulletinView {
        lang: lang.to_owned(),
        tenant: tenant.name.clone(),
        labels: pages.labels(lang).map_err(rendered)?,
        text,
        desk: text.inquiry_desk.is_given(),
        first_published: Shown::of(first),
        updated: row.updated_at.filter(|u| *u > first).map(Shown::of),
        withdrawn: withdrawal(public)?,
        versions,
        others: languages
            .iter()
            .filter(|l| l.locale != lang)
            .cloned()
            .collect(),
        languages,
        url: urls.bulletin(&row.id, lang),
        list_url: urls.base.clone(),
        feed_url: urls.feed(),
        inquiry_url: if row.status()? == BulletinStatus::Published {
            urls.inquiries(&row.id, lang)
        } else {
            String::new()
        },
    })
}

async fn bulletin_page(
    req: HttpRequest,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    path: web::Path<(String, String)>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let (slug, id) = path.into_inner();
    let wanted = Wanted::of(&req, query.into_inner());
    let (html, lang) = db
        .read(move |conn| {
            let tenant = tenants::require_by_slug(conn, &slug)?;
            let row = bulletins::public_get(conn, &tenant.id, &id)?;
            let public = load_public(conn, &tenant, row)?;
            let lang = wanted.choose(
                &tenant,
                &available(&public.content),
                &public.content.default_locale,
            );
            let text = public
                .content
                .locales
                .get(&lang)
                .ok_or_else(|| AppError::NotFound(format!("locale {lang}")))?;
            let pages = pages()?;
            let urls = Urls::new(&service, &tenant.slug);
            let html = pages
                .html("page", &view(pages, &tenant, &public, text, &lang, &urls)?)
                .map_err(rendered)?;
            Ok((html, lang))
        })
        .await?;
    Ok(cached(
        &req,
        html,
        "text/html; charset=utf-8",
        Some(&lang),
        CSP,
    ))
}

/// The list items: each bulletin's title in the best language for the visitor.
fn items(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    wanted: &Wanted,
    urls: &Urls,
    live_only: bool,
) -> AppResult<Vec<ListItem>> {
    let mut out = Vec::new();
    for row in bulletins::public_list(conn, &tenant.id)? {
        if live_only && row.status()? != BulletinStatus::Published {
            continue;
        }
        let public = load_public(conn, tenant, row)?;
        let lang = wanted.choose(
            tenant,
            &available(&public.content),
            &public.content.default_locale,
        );
        let title = public
            .content
            .locales
            .get(&lang)
            .map(|t| t.title.clone())
            .unwrap_or_default();
        let first = Shown::of(
            public
                .row
                .first_published_at
                .unwrap_or(public.row.created_at),
        );
        out.push(ListItem {
            title,
            url: urls.bulletin(&public.row.id, &lang),
            lang,
            at: first.at,
            at_text: first.text,
            withdrawn: withdrawal(&public)?,
        });
    }
    Ok(out)
}

async fn list_page(
    req: HttpRequest,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    slug: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    list_response(
        req,
        db,
        service,
        slug.into_inner(),
        query.into_inner(),
        "list",
    )
    .await
}

async fn banner_html(
    req: HttpRequest,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    slug: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    list_response(
        req,
        db,
        service,
        slug.into_inner(),
        query.into_inner(),
        "banner",
    )
    .await
}

/// The list page or the banner (only live bulletins) as HTML.
async fn list_response(
    req: HttpRequest,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    slug: String,
    query: LangQuery,
    template: &'static str,
) -> AppResult<HttpResponse> {
    let wanted = Wanted::of(&req, query);
    let (html, lang) = db
        .read(move |conn| {
            let tenant = tenants::require_by_slug(conn, &slug)?;
            let urls = Urls::new(&service, &tenant.slug);
            let pages = pages()?;
            let lang = wanted.choose(&tenant, &pages.locales(), "en");
            let list = ListView {
                bulletins: items(conn, &tenant, &wanted, &urls, template == "banner")?,
                labels: pages.labels(&lang).map_err(rendered)?,
                lang: lang.clone(),
                tenant: tenant.name.clone(),
                feed_url: urls.feed(),
            };
            Ok((pages.html(template, &list).map_err(rendered)?, lang))
        })
        .await?;
    let csp = if template == "banner" {
        BANNER_CSP
    } else {
        CSP
    };
    Ok(cached(
        &req,
        html,
        "text/html; charset=utf-8",
        Some(&lang),
        csp,
    ))
}

async fn banner_json(
    req: HttpRequest,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    slug: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let wanted = Wanted::of(&req, query.into_inner());
    let slug = slug.into_inner();
    let body = db
        .read(move |conn| {
            let tenant = tenants::require_by_slug(conn, &slug)?;
            let urls = Urls::new(&service, &tenant.slug);
            let pages = pages()?;
            let lang = wanted.choose(&tenant, &pages.locales(), "en");
            let items = items(conn, &tenant, &wanted, &urls, true)?;
            let banner = pages.labels(&lang).map_err(rendered)?.banner();
            Ok(json!({
                "tenant": tenant.slug,
                "active": !items.is_empty(),
                "text": banner,
                "lang": lang,
                "bulletins": items.iter().map(|i| json!({ "title": i.title, "lang": i.lang, "url": i.url, "first_published_at": i.at })).collect::<Vec<_>>(),
            })
            .to_string())
        })
        .await?;
    let mut response = cached(&req, body, "application/json", None, CSP);
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    Ok(response)
}

async fn atom_feed(
    req: HttpRequest,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    slug: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let wanted = Wanted::of(&req, query.into_inner());
    let slug = slug.into_inner();
    let (xml, lang) = db
        .read(move |conn| {
            let tenant = tenants::require_by_slug(conn, &slug)?;
            let urls = Urls::new(&service, &tenant.slug);
            let pages = pages()?;
            let lang = wanted.choose(&tenant, &pages.locales(), "en");
            let mut entries = Vec::new();
            for version in bulletins::feed_versions(conn, &tenant.id)? {
                entries.push(feed_entry(conn, pages, &tenant, &wanted, &urls, &version)?);
            }
            let labels = pages.labels(&lang).map_err(rendered)?;
            let input = FeedInput {
                id: urls.base.clone(),
                title: format!("{} — {}", tenant.name, labels.notices()),
                author: tenant.name.clone(),
                self_url: urls.feed(),
                list_url: urls.base.clone(),
                lang: lang.clone(),
                entries,
                created: tenant.created_at,
            };
            Ok((feed::atom(&input).map_err(rendered)?, lang))
        })
        .await?;
    Ok(cached(
        &req,
        xml,
        "application/atom+xml; charset=utf-8",
        Some(&lang),
        CSP,
    ))
}

/// One public version as a feed entry, in the visitor's best language.
fn feed_entry(
    conn: &mut DbConnection,
    pages: &Pages,
    tenant: &TenantRow,
    wanted: &Wanted,
    urls: &Urls,
    version: &VersionRow,
) -> AppResult<FeedEntry> {
    let row = bulletins::public_get(conn, &tenant.id, &version.bulletin_id)?;
    let mut public = load_public(conn, tenant, row)?;
    if let Some(content) = version.bulletin_content()? {
        public.content = content;
    }
    let lang = wanted.choose(
        tenant,
        &available(&public.content),
        &public.content.default_locale,
    );
    let text = public
        .content
        .locales
        .get(&lang)
        .ok_or_else(|| AppError::NotFound(format!("locale {lang}")))?;
    let labels = pages.labels(&lang).map_err(rendered)?;
    let updated = version.published_at.unwrap_or(version.created_at);
    let (title, summary, html) = match version.withdrawal_reason()? {
        Some(reason) => (
            format!(
                "{} {} — {}",
                labels.withdrawn(),
                Shown::of(updated).text,
                text.title
            ),
            reason.clone(),
            format!("<p>{}</p>", handlebars::html_escape(&reason)),
        ),
        None => {
            let page = view(pages, tenant, &public, text, &lang, urls)?;
            (
                text.title.clone(),
                text.summary.clone(),
                pages.html("items", &page).map_err(rendered)?,
            )
        }
    };
    Ok(FeedEntry {
        id: version.entry_id.clone(),
        title,
        url: urls.bulletin(&version.bulletin_id, &lang),
        lang,
        updated,
        published: public.row.first_published_at.unwrap_or(updated),
        summary,
        html,
    })
}

/// The press statement of a bulletin, text and HTML per locale (`lang` for one):
/// from its public version, or the pending one before the first publication.
pub fn press_statements(
    conn: &mut DbConnection,
    service: &NoticeService,
    tenant: &TenantRow,
    row: &BulletinRow,
    lang: Option<&str>,
) -> AppResult<serde_json::Value> {
    let versions = bulletins::versions(conn, row)?;
    let shown = row.published_version.or_else(|| {
        versions
            .iter()
            .rev()
            .find(|v| v.kind == VersionKind::Content.as_str())
            .map(|v| v.version)
    });
    let content = versions
        .iter()
        .filter(|v| Some(v.version) == shown)
        .find_map(|v| v.bulletin_content().transpose())
        .transpose()?
        .ok_or_else(|| AppError::NotFound(format!("content of bulletin {}", row.id)))?;
    let public = Public {
        row: row.clone(),
        versions: bulletins::public_versions(conn, row)?,
        content,
    };
    let pages = pages()?;
    let urls = Urls::new(service, &tenant.slug);
    let mut out = serde_json::Map::new();
    for (locale, text) in &public.content.locales {
        if lang.is_some_and(|l| l != locale) {
            continue;
        }
        let v = view(pages, tenant, &public, text, locale, &urls)?;
        out.insert(
            locale.clone(),
            json!({ "text": pages.press_text(&v).map_err(rendered)?, "html": pages.html("press", &v).map_err(rendered)? }),
        );
    }
    if out.is_empty() {
        return Err(AppError::field(
            "lang",
            format!("the bulletin has no locale {}", lang.unwrap_or("")),
        ));
    }
    Ok(serde_json::Value::Object(out))
}

/// Largest inquiry body read (a contact is at most 254 characters).
const INQUIRY_BODY_MAX: usize = 4_096;

/// The `contact` field of an inquiry: a form post or JSON.
fn inquiry_contact(req: &HttpRequest, body: &[u8]) -> AppResult<InquiryContact> {
    if body.len() > INQUIRY_BODY_MAX {
        return Err(AppError::PayloadTooLarge(INQUIRY_BODY_MAX));
    }
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let raw: Option<String> = match media.as_str() {
        "application/x-www-form-urlencoded" => {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
                .map_err(|e| AppError::Malformed(format!("form: {e}")))?
                .into_iter()
                .find(|(k, _)| k == "contact")
                .map(|(_, v)| v)
        }
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| AppError::Malformed(format!("JSON: {e}")))?;
            match value.get("contact") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(AppError::field("contact", "must be a string")),
            }
        }
        _ => {
            return Err(AppError::UnsupportedMediaType(
                "application/x-www-form-urlencoded or application/json".into(),
            ));
        }
    };
    InquiryContact::parse(raw.as_deref().unwrap_or("")).map_err(|r| AppError::field("contact", r))
}

/// "Am I affected?": answers 202 with the same page (or JSON) whatever the contact,
/// so the answer never says who is affected; an affected person's notice goes to
/// their contact through the outbox. Throttled per client and per contact (429).
async fn inquire(
    req: HttpRequest,
    db: web::Data<Db>,
    service: web::Data<NoticeService>,
    path: web::Path<(String, String)>,
    query: web::Query<LangQuery>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let (slug, id) = path.into_inner();
    let contact = inquiry_contact(&req, &body)?;
    let json_wanted = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let wanted = Wanted::of(&req, query.into_inner());
    let (html, message, lang) = db
        .write(move |conn| {
            let tenant = tenants::require_by_slug(conn, &slug)?;
            let row = bulletins::public_get(conn, &tenant.id, &id)?;
            let outcome = inquiries::receive(conn, &row, &contact, &client, now_micros())?;
            match outcome {
                InquiryOutcome::Throttled { retry_after } => {
                    return Err(AppError::TooManyRequests {
                        detail: "too many inquiries; please try again later".into(),
                        retry_after,
                    });
                }
                InquiryOutcome::Received {
                    queued: Some((outbox_id, dispatch_id)),
                    ..
                } => {
                    audit::append(conn, &tenant.id, AuditEvent {
                        actor: "inquiry desk".into(),
                        action: "bulletin.inquiry",
                        target: format!("bulletin:{}", row.id),
                        details: json!({ "incident": row.incident_id, "dispatch": dispatch_id, "outbox": outbox_id }),
                    })?;
                }
                InquiryOutcome::Received { .. } => {}
            }
            let public = load_public(conn, &tenant, row)?;
            let lang = wanted.choose(
                &tenant,
                &available(&public.content),
                &public.content.default_locale,
            );
            let title = public
                .content
                .locales
                .get(&lang)
                .map(|t| t.title.clone())
                .unwrap_or_default();
            let pages = pages()?;
            let labels = pages.labels(&lang).map_err(rendered)?;
            let urls = Urls::new(&service, &tenant.slug);
            let view = InquiryView {
                lang: lang.clone(),
                tenant: tenant.name.clone(),
                labels,
                title,
                url: urls.bulletin(&public.row.id, &lang),
            };
            let html = pages.html("inquiry", &view).map_err(rendered)?;
            Ok((html, labels.inquiry_received().to_owned(), lang))
        })
        .await?;
    let mut response = HttpResponse::Accepted();
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CONTENT_LANGUAGE, lang));
    Ok(if json_wanted {
        response.json(json!({ "status": "received", "message": message }))
    } else {
        response.content_type("text/html; charset=utf-8").body(html)
    })
}
