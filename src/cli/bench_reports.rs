//! `breachline bench reports`: a regulator report for an incident with a large
//! affected set, generated and rendered through the HTTP API as an operator would,
//! and the incident's page in the web UI as a signed-in responder gets it.

use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use super::subjects::{Stopwatch, bench_tenant, timed_import, timed_scope};
use crate::accounts::SessionPolicy;
use crate::config::{DatabaseSettings, DatabaseUrl, Settings};
use crate::db::Db;
use crate::domain::{Role, now_micros};
use crate::store::{tokens, users};
use crate::web::Application;
use crate::web::auth::SESSION_COOKIE;

/// Imports `count` synthetic people, scopes every one of them into an incident, then
/// over HTTP generates its APPI preliminary report three times and reads it as JSON,
/// HTML and PDF, then loads the incident's UI page five times, printing each
/// request's time.
pub fn reports(settings: &Settings, count: u64) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let mut settings = settings.clone();
    if std::env::var("BREACHLINE_DATABASE_URL").is_err() {
        settings.database = DatabaseSettings {
            url: DatabaseUrl::parse(&format!(
                "sqlite://{}",
                scratch.path().join("bench.db").display()
            ))?,
            pool_size: 2,
        };
    }
    println!("database: {}", settings.database.url.backend().as_str());
    let csv = scratch.path().join("subjects.csv");
    crate::import::synthetic::write_csv(&csv, count, crate::import::synthetic::Profile::Mixed)?;
    let db = Db::connect(&settings.database)?;
    let (tenant_id, incident_id) = bench_tenant(&db)?;
    timed_import(&db, &tenant_id, &csv, "import", count)?;
    timed_scope(
        &db,
        &tenant_id,
        &incident_id,
        "every subject",
        &json!({"data_categories": ["contact", "identity", "financial", "health", "location", "device"]}),
    )?;
    let tenant = tenant_id.clone();
    let (bearer, session) = db.write_blocking(move |conn| {
        let (_, bearer) = tokens::create(conn, &tenant, Role::Responder, "bench")?;
        let now = now_micros();
        let user = users::create(conn, &tenant, "bench@example.org", Role::Responder, now)?;
        let (session, _) = users::start_session(conn, &user.id, &SessionPolicy::default(), now)?;
        Ok((bearer, session))
    })?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let app = Application::with_listener(&settings, db, listener)?;
    let base = format!(
        "http://127.0.0.1:{}/api/v1/incidents/{incident_id}/reports",
        app.port()
    );
    let page = format!("http://127.0.0.1:{}/incidents/{incident_id}", app.port());
    actix_web::rt::System::new().block_on(async move {
        actix_web::rt::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let mut report_id = String::new();
        for run in 1..=3 {
            let watch = Stopwatch::start();
            let resp = client
                .post(&base)
                .bearer_auth(&bearer)
                .json(&json!({"regime": "appi", "phase": "preliminary"}))
                .send()
                .await?;
            anyhow::ensure!(resp.status() == 201, "generate: {}", resp.status());
            let body: serde_json::Value = resp.json().await?;
            report_id = body["id"].as_str().unwrap_or_default().to_owned();
            let people = body["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["key"] == "people"))
                .map(|i| i["value"].clone())
                .unwrap_or_default();
            println!(
                "POST …/reports (generate v{run}, {people} people): {}",
                watch.report()
            );
        }
        for suffix in ["", ".html", ".pdf"] {
            let request = client
                .get(format!("{base}/{report_id}{suffix}"))
                .bearer_auth(&bearer);
            timed_get(request, &format!("GET …/reports/{{r}}{suffix}")).await?;
        }
        for run in 1..=5 {
            let request = client
                .get(&page)
                .header("cookie", format!("{SESSION_COOKIE}={session}"));
            timed_get(request, &format!("GET /incidents/{{id}} (UI page {run})")).await?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Sends `request`, requires a 200, and prints its size and time after `label`.
async fn timed_get(request: reqwest::RequestBuilder, label: &str) -> anyhow::Result<()> {
    let watch = Stopwatch::start();
    let resp = request.send().await?;
    anyhow::ensure!(resp.status() == 200, "{label}: {}", resp.status());
    let bytes = resp.bytes().await?.len();
    println!("{label}, {} KB: {}", bytes / 1000, watch.report());
    Ok(())
}
