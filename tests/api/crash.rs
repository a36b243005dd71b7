//! Crashes mid-dispatch: `breachline worker` processes killed with SIGKILL at
//! random moments, three times, two workers side by side. Nobody is lost, and the
//! only duplicates are sends that were in flight at a kill (at most the configured
//! concurrency per kill), each with the same Message-ID.

use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;

use crate::dispatch::{approved_dispatch, planned_incident_at};
use crate::helpers::peers::{HostileRelay, Hostility};
use crate::helpers::{TestApp, spawn_app};

const CONCURRENCY: usize = 8;

fn worker_process(app: &TestApp, smtp_url: &str, config: &std::path::Path) -> std::process::Child {
    std::process::Command::new(crate::helpers::binary())
        .args(["--config", config.to_str().unwrap(), "worker"])
        .env("BREACHLINE_DATABASE_URL", &app.test_db.url)
        .env("BREACHLINE_DATA_DIR", app.test_db.dir.path())
        .env("BREACHLINE_SMTP_URL", smtp_url)
        .env("BREACHLINE_WORKER_LEASE_SECS", "2")
        .env("BREACHLINE_WORKER_BATCH", "20")
        .env("BREACHLINE_WORKER_CONCURRENCY", CONCURRENCY.to_string())
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn kill_9_at_random_moments_loses_nobody_and_duplicates_only_sends_in_flight() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let relay = HostileRelay::start(Hostility::Polite).await;
    const PEOPLE: usize = 300;
    let rows: Vec<String> = (0..PEOPLE)
        .map(|i| {
            format!("c{i:03},Person {i},c{i:03}@example.com,,en,JP,1980-01-01,,,,,,,app,contact")
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let id = planned_incident_at(&app, &t, &rows, "support line", "2026-11-20T00:00:00Z").await;
    let d = approved_dispatch(&app, &t, &id).await;
    // 60 e-mails a second for the two workers together: five seconds of work,
    // so the kills land mid-dispatch.
    let config = app.test_db.dir.path().join("crash.toml");
    std::fs::write(&config, "[channels.rates]\nemail = 30.0\n").unwrap();
    let url = relay.url();
    let mut workers = [
        worker_process(&app, &url, &config),
        worker_process(&app, &url, &config),
    ];
    let seed: u64 = rand::rng().random();
    eprintln!("kill schedule seed {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    const KILLS: usize = 3;
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..1200))).await;
        let victim = kill % 2;
        workers[victim].kill().unwrap(); // SIGKILL: no chance to release anything
        workers[victim].wait().unwrap();
        let sent: usize = relay.accepted().values().sum();
        assert!(
            sent < PEOPLE,
            "kill {kill} must land mid-dispatch ({sent} sent)"
        );
        workers[victim] = worker_process(&app, &url, &config);
    }
    let path = format!("/api/v1/incidents/{id}/dispatches/{d}");
    let started = Instant::now();
    let mut progress = Value::Null;
    while started.elapsed() < Duration::from_secs(120) {
        progress = app.get(&t.viewer, &path).await.1;
        if progress["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for w in &mut workers {
        w.kill().unwrap();
        w.wait().unwrap();
    }
    assert_eq!(progress["status"], "completed", "{progress}");
    assert_eq!(progress["counts"]["unreachable"], 0, "{progress}");

    let accepted = relay.accepted();
    assert_eq!(
        accepted.len(),
        PEOPLE,
        "nobody lost (one Message-ID per person)"
    );
    let duplicates: usize = accepted.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= KILLS * CONCURRENCY,
        "{duplicates} duplicates after {KILLS} kills with concurrency {CONCURRENCY}"
    );
    eprintln!("{duplicates} duplicates after {KILLS} kills (seed {seed})");
}
