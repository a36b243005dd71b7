//! The web UI for the security team: server-rendered pages (handlebars, embedded
//! from `templates/ui/`), sessions with CSRF tokens, three languages. Every change
//! goes through the same functions as the JSON API (`web::api::*::create`, …), so
//! validation, role checks and audit entries are the API's own; pages read through
//! `store` and `compose` only. JavaScript (`templates/ui/assets/ui.js`) only
//! enhances: countdowns and live dispatch progress.

mod account;
mod bulletins;
mod fields;
pub mod form;
pub mod i18n;
mod incidents;
mod reports;
pub mod session;
pub mod settings;
mod tasks;
pub mod view;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

pub use session::{CookiePolicy, SignedIn};

/// The Content-Security-Policy of every UI page: scripts and styles only from us
/// (no inline script), no framing, forms only to us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; frame-src 'self'; connect-src 'self'; \
     frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// Registers the UI routes (fixed names before `{id}`).
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::FormConfig::default().limit(1 << 20))
        .route("/", web::get().to(home))
        .route("/ui/assets/{name}", web::get().to(asset))
        .route("/sign-in", web::get().to(account::sign_in_page))
        .route("/sign-in", web::post().to(account::sign_in))
        .route("/sign-out", web::post().to(account::sign_out))
        .route(
            "/set-password/{token}",
            web::get().to(account::set_password_page),
        )
        .route(
            "/set-password/{token}",
            web::post().to(account::set_password),
        )
        .route("/preferences", web::post().to(account::save_preferences))
        .configure(incidents::config)
        .configure(settings::config);
}

/// Adds the security headers of UI pages to a response builder.
pub fn secure_headers(builder: &mut actix_web::HttpResponseBuilder) {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
}

/// An HTML page with the security headers.
pub fn page(status: StatusCode, html: String) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    secure_headers(&mut builder);
    builder.content_type("text/html; charset=utf-8").body(html)
}

/// A 303 to `location` (after a form post).
pub fn see_other(location: &str) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    secure_headers(&mut builder);
    builder.insert_header((header::LOCATION, location)).finish()
}

async fn home(req: HttpRequest) -> HttpResponse {
    let signed_in =
        crate::web::auth::cookie_value(&req, crate::web::auth::SESSION_COOKIE).is_some();
    see_other(if signed_in { "/incidents" } else { "/sign-in" })
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match view::asset(&name) {
        Some((body, kind)) => HttpResponse::Ok()
            .content_type(kind)
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(body),
        None => HttpResponse::NotFound().finish(),
    }
}
