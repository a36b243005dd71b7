//! `breachline import subjects` and `breachline bench subjects`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, json};

use crate::config::{DatabaseSettings, DatabaseUrl, Settings};
use crate::db::Db;
use crate::domain::{apply_incident_input, parse_scope};
use crate::import::{self, ImportFormat, ImportJob, ImportMode, ImportOutcome};
use crate::store::{affected, incidents, tenants};

/// Imports a CSV or NDJSON file into a tenant's registry and prints the counts as JSON.
pub fn import_subjects(
    settings: &Settings,
    tenant_slug: &str,
    file: &Path,
    format: Option<ImportFormat>,
    mode: ImportMode,
) -> anyhow::Result<ExitCode> {
    let format = format
        .or_else(|| ImportFormat::from_path(file))
        .with_context(|| {
            format!(
                "cannot tell the format of {}: name it .csv, .ndjson or .jsonl, or pass --format",
                file.display()
            )
        })?;
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let db = Db::connect_existing(&settings.database)?;
    let tenant = db.read_blocking(|conn| tenants::require_by_slug(conn, tenant_slug))?;
    let bar = progress_bar(size);
    let job = ImportJob {
        tenant_id: &tenant.id,
        actor: "cli".into(),
        path: file,
        format,
        mode,
    };
    let outcome = import::run(&db, &job, &mut |bytes| bar.set_position(bytes))?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    match outcome {
        ImportOutcome::Imported(report) => {
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            Ok(ExitCode::SUCCESS)
        }
        ImportOutcome::Rejected(report) => {
            writeln!(out, "{}", serde_json::to_string_pretty(&report.problem())?)?;
            eprintln!(
                "error: {} rejected: {} error(s) in {} row(s); nothing was imported",
                file.display(),
                report.total_errors,
                report.rejected
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A byte-progress bar on stderr when it is a terminal, hidden otherwise.
fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} importing [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Generates a deterministic registry of `count` subjects, imports it, scopes
/// an incident over it and prints rows/s and timings.
pub fn bench_subjects(settings: &Settings, count: u64) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let database = match std::env::var("BREACHLINE_DATABASE_URL") {
        Ok(_) => settings.database.clone(),
        Err(_) => DatabaseSettings {
            url: DatabaseUrl::parse(&format!(
                "sqlite://{}",
                scratch.path().join("bench.db").display()
            ))?,
            pool_size: 2,
        },
    };
    println!("database: {}", database.url.backend().as_str());
    let csv = scratch.path().join("subjects.csv");
    let watch = Stopwatch::start();
    crate::import::synthetic::write_csv(&csv, count, crate::import::synthetic::Profile::Mixed)?;
    println!(
        "generate: {count} rows, {} MB in {}",
        std::fs::metadata(&csv)?.len() / 1_000_000,
        watch.report()
    );
    let db = Db::connect(&database)?;
    let (tenant_id, incident_id) = bench_tenant(&db)?;
    for pass in ["import (new rows)", "re-import (unchanged)"] {
        timed_import(&db, &tenant_id, &csv, pass, count)?;
    }
    for (name, body) in [
        (
            "broad scope (every subject)",
            json!({"data_categories": ["contact", "identity", "financial", "health", "location", "device"]}),
        ),
        (
            "typical scope (crm or billing, contact data)",
            json!({"systems": ["crm", "billing"], "data_categories": ["contact"]}),
        ),
    ] {
        timed_scope(&db, &tenant_id, &incident_id, name, &body)?;
        if name.starts_with("broad") {
            timed_incident_page(settings, &db, &tenant_id, &incident_id)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Serves the incident page of the benchmark incident (every subject affected) to
/// a signed-in admin 20 times over loopback; prints the median and the slowest
/// time to the last byte (an upper bound of the server time).
fn timed_incident_page(
    settings: &Settings,
    db: &Db,
    tenant_id: &str,
    incident_id: &str,
) -> anyhow::Result<()> {
    use crate::accounts::SessionPolicy;
    use crate::domain::{Role, now_micros};
    use crate::store::users;
    let email = format!(
        "bench-{}@example.org",
        chrono::Utc::now().timestamp_micros()
    );
    let tenant = tenant_id.to_owned();
    let cookie = db.write_blocking(|conn| {
        let user = users::create(conn, &tenant, &email, Role::Admin, now_micros())?;
        let (cookie, _) =
            users::start_session(conn, &user.id, &SessionPolicy::default(), now_micros())?;
        Ok(cookie)
    })?;
    let mut settings = settings.clone();
    settings.http.workers = Some(1);
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url_path = format!("/incidents/{incident_id}");
    let times = actix_web::rt::System::new().block_on(async move {
        let app = crate::web::Application::with_listener(&settings, db.clone(), listener)?;
        let url = format!("http://127.0.0.1:{}{url_path}", app.port());
        let server = actix_web::rt::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let mut times = Vec::new();
        for run in 0..21 {
            let watch = Instant::now();
            let resp = client
                .get(&url)
                .header("cookie", format!("bl_session={cookie}"))
                .send()
                .await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            anyhow::ensure!(status == 200, "incident page: {status}");
            anyhow::ensure!(body.len() > 1_000, "incident page: short body");
            // The first load compiles the templates; the rest are what a user waits for.
            if run > 0 {
                times.push(watch.elapsed().as_secs_f64() * 1000.0);
            }
        }
        server.abort();
        Ok::<_, anyhow::Error>(times)
    })?;
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "incident page (web UI, every subject affected): median {:.1} ms, slowest {:.1} ms over {} loads",
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        sorted.len()
    );
    Ok(())
}

/// Wall and CPU time of a step. CPU time (this process, from `/proc` on
/// Linux) is what the step would take on an idle machine; wall time also
/// counts waiting for cores that other programs hold.
pub(super) struct Stopwatch {
    wall: Instant,
    cpu: Option<f64>,
}

impl Stopwatch {
    pub(super) fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    /// Wall seconds.
    pub(super) fn secs(&self) -> f64 {
        self.wall.elapsed().as_secs_f64()
    }

    /// `wall X s, cpu Y s`.
    pub(super) fn report(&self) -> String {
        match (self.cpu, cpu_seconds()) {
            (Some(a), Some(b)) => format!("{:.3} s wall, {:.3} s cpu", self.secs(), b - a),
            _ => format!("{:.3} s wall", self.secs()),
        }
    }
}

/// User + system CPU seconds of this process (Linux; clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

pub(super) fn bench_tenant(db: &Db) -> anyhow::Result<(String, String)> {
    let slug = format!("bench-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%f"));
    let new = tenants::NewTenant {
        slug,
        name: "Benchmark".into(),
        establishments: vec!["JP".into()],
        default_locale: "en".into(),
    }
    .validate()
    .map_err(crate::error::AppError::Validation)?;
    let body: Map<_, _> = [
        ("title".to_owned(), json!("Benchmark incident")),
        ("discovered_at".to_owned(), json!("2026-03-01T00:00:00Z")),
    ]
    .into_iter()
    .collect();
    let facts = apply_incident_input(None, &body)
        .map_err(crate::error::AppError::Validation)?
        .facts;
    Ok(db.write_blocking(|conn| {
        let tenant = tenants::create(conn, &new)?;
        let incident = incidents::insert(conn, &tenant.id, &facts, "bench")?;
        Ok((tenant.id, incident.id))
    })?)
}

pub(super) fn timed_import(
    db: &Db,
    tenant_id: &str,
    csv: &PathBuf,
    pass: &str,
    count: u64,
) -> anyhow::Result<()> {
    let job = ImportJob {
        tenant_id,
        actor: "cli:bench".into(),
        path: csv,
        format: ImportFormat::Csv,
        mode: ImportMode::AllOrNothing,
    };
    let watch = Stopwatch::start();
    let outcome = import::run(db, &job, &mut |_| ())?;
    let ImportOutcome::Imported(report) = outcome else {
        anyhow::bail!("the synthetic file was rejected: {outcome:?}");
    };
    println!(
        "{pass}: {count} rows in {} = {:.0} rows/s (imported {}, updated {}, unchanged {})",
        watch.report(),
        count as f64 / watch.secs(),
        report.imported,
        report.updated,
        report.unchanged
    );
    Ok(())
}

pub(super) fn timed_scope(
    db: &Db,
    tenant_id: &str,
    incident_id: &str,
    name: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let change = body
        .as_object()
        .map(parse_scope)
        .context("scope body")?
        .map_err(crate::error::AppError::Validation)?;
    let (tenant, incident) = (tenant_id.to_owned(), incident_id.to_owned());
    db.write_blocking(|conn| {
        affected::put_scope(conn, &tenant, &incident, &change.scope, &change.subject_ids)
    })?;
    for run in ["first", "again"] {
        let watch = Stopwatch::start();
        let state = db.write_blocking(|conn| affected::recompute(conn, &tenant, &incident))?;
        println!(
            "recompute, {name}, {run}: {} affected in {}",
            state.summary.total,
            watch.report()
        );
        let watch = Stopwatch::start();
        let purged = db.write_blocking(|conn| affected::purge_superseded(conn, &incident))?;
        println!(
            "  then, in its own transaction: purge of the superseded set ({purged} rows) in {}",
            watch.report()
        );
    }
    let watch = Stopwatch::start();
    let state = db.read_blocking(|conn| affected::get_scope(conn, &tenant, &incident))?;
    println!(
        "summary: {:.1} ms ({} affected, {} minors, {} uncontactable)",
        watch.secs() * 1000.0,
        state.summary.total,
        state.summary.minors,
        state.summary.uncontactable
    );
    Ok(())
}
