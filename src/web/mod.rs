//! The HTTP server: health check, JSON API, public pages, the web UI.

pub mod api;
pub mod auth;
pub mod bulletins;
pub mod logging;
mod nul;
pub mod portal;
pub mod public;
pub mod ui;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use serde_json::json;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use std::sync::Arc;

use crate::compose::NoticeService;
use crate::db::Db;
use crate::dispatch::channels::Adapters;
use crate::dispatch::worker::{OutboxBell, Worker, WorkerOptions};

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    notices: Arc<NoticeService>,
    bell: OutboxBell,
}

impl Application {
    /// Connects and migrates the database, binds the listener and builds the server.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database)?;
        let listener = TcpListener::bind(&settings.http.bind)
            .with_context(|| format!("cannot listen on {}", settings.http.bind))?;
        Self::with_listener(settings, db, listener)
    }

    /// Builds the server on an existing listener and database (tests use port 0).
    pub fn with_listener(
        settings: &Settings,
        db: Db,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let db = web::Data::new(db);
        let json_limit = settings.http.json_limit_bytes;
        let uploads = web::Data::new(api::Uploads::new(settings));
        let notices = web::Data::new(NoticeService::new(
            settings.http.public_url.clone(),
            settings.templates_dir.clone(),
        )?);
        let service = notices.clone().into_inner();
        let runbooks = web::Data::new(crate::runbooks::files::load_for_service(
            settings.templates_dir.as_deref(),
        )?);
        let channels = web::Data::new(settings.channels.clone());
        let cookies = web::Data::new(ui::CookiePolicy {
            secure: settings.http.public_url.starts_with("https://"),
        });
        let sessions = web::Data::new(crate::accounts::SessionPolicy::default());
        let public_url = web::Data::new(ui::settings::PublicUrl(settings.http.public_url.clone()));
        let reports = web::Data::new(crate::reports::Reports::embedded()?);
        let worker_db = db.get_ref().clone();
        let bell = OutboxBell::default();
        let rings = web::Data::new(bell.clone());
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(nul::refuse_nul))
                .wrap(TracingLogger::<logging::RedactedRootSpan>::new())
                .app_data(db.clone())
                .app_data(uploads.clone())
                .app_data(notices.clone())
                .app_data(runbooks.clone())
                .app_data(channels.clone())
                .app_data(cookies.clone())
                .app_data(sessions.clone())
                .app_data(public_url.clone())
                .app_data(reports.clone())
                .app_data(rings.clone())
                .configure(|cfg| api::extractor_config(cfg, json_limit))
                .route("/healthz", web::get().to(healthz))
                .configure(api::config)
                .configure(public::config)
                .configure(bulletins::config)
                .configure(ui::config)
                .configure(portal::config)
                .default_service(web::to(not_found))
        });
        if let Some(workers) = settings.http.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Self {
            port,
            server,
            db: worker_db,
            notices: service,
            bell,
        })
    }

    /// The server's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server (the demo runs it for its scenarios only).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// A dispatch worker sharing this server's database and templates, woken when
    /// the server approves a dispatch. Call it inside the runtime: the SMTP pool
    /// starts a task.
    pub fn worker(&self, settings: &Settings, options: WorkerOptions) -> anyhow::Result<Worker> {
        let adapters = Adapters::from_settings(&settings.channels, &settings.data_dir)?;
        Ok(Worker::new(
            self.db.clone(),
            self.notices.clone(),
            Arc::new(adapters),
            settings.channels.clone(),
            options,
        )
        .with_bell(self.bell.clone()))
    }

    /// Serves until the process is asked to stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves with a dispatch worker beside the server; on shutdown the worker
    /// finishes its batch before the process exits.
    pub async fn run_with_worker(self, settings: &Settings) -> anyhow::Result<()> {
        let worker = self.worker(settings, WorkerOptions::from_settings(&settings.worker))?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handle = actix_web::rt::spawn(worker.run(stopped));
        let served = self.server.await;
        let _ = stop.send(true);
        let _ = handle.await;
        Ok(served?)
    }
}

async fn healthz(db: web::Data<Db>) -> Result<HttpResponse, crate::error::AppError> {
    db.read(|conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ok", "database": db.backend().as_str() })))
}

/// No route took the request: 405 with `Allow` when the API document lists the
/// path under other methods, else 404.
async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, crate::error::AppError> {
    match api::allowed_methods(req.path()) {
        Some(allow) => Err(crate::error::AppError::MethodNotAllowed {
            method: req.method().to_string(),
            allow,
        }),
        None => Err(crate::error::AppError::NotFound("route".into())),
    }
}
