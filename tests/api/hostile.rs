//! The production worker loop against hostile relays (real TCP servers, see
//! `helpers::peers`): whatever the relay does, the dispatch completes, everyone is
//! sent their notice exactly once, nobody is marked unreachable for a relay's
//! fault, and no relay fault spends a person's attempts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use breachline::compose::NoticeService;
use breachline::config::Settings;
use breachline::db::schema::outbox;
use breachline::dispatch::channels::Adapters;
use breachline::dispatch::worker::{Worker, WorkerOptions};
use diesel::prelude::*;
use serde_json::Value;

use crate::dispatch::{approved_dispatch, planned_incident_at};
use crate::helpers::peers::{HostileRelay, Hostility};
use crate::helpers::{TestApp, TestTenant, spawn_app, spawn_app_with};

/// A worker running its pipeline in the background until stopped.
pub struct RunningWorker {
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningWorker {
    /// Starts the production worker loop with `toml` settings and `env` variables.
    pub fn start(app: &TestApp, toml: &str, env: &[(&str, &str)]) -> Self {
        let config = app
            .test_db
            .dir
            .path()
            .join(format!("worker-{}.toml", rand_suffix()));
        std::fs::write(&config, toml).unwrap();
        let mut vars: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        vars.insert(
            "BREACHLINE_DATA_DIR".into(),
            app.test_db.dir.path().display().to_string(),
        );
        let settings = Settings::load_from(Some(&config), move |k| vars.get(k).cloned()).unwrap();
        let adapters = Adapters::from_settings(&settings.channels, &settings.data_dir).unwrap();
        let service = NoticeService::new("https://notices.example".into(), None).unwrap();
        let worker = Worker::new(
            app.db.clone(),
            Arc::new(service),
            Arc::new(adapters),
            settings.channels.clone(),
            WorkerOptions::from_settings(&settings.worker),
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn(worker.run(stopped));
        Self { stop, handle }
    }

    /// Stops it and waits (bounded by its grace period).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Quick timeouts so silent relays are found out fast in tests.
const IMPATIENT: &str = "[channels]\nsmtp_timeout_secs = 1\nsmtp_send_timeout_secs = 10\nrelay_pause_max_secs = 2\n\n[channels.rates]\nemail = 1000.0\n";

/// `count` people with an e-mail address each, planned, dispatched and approved.
async fn approved(app: &TestApp, t: &TestTenant, count: usize) -> (String, String) {
    let rows: Vec<String> = (0..count)
        .map(|i| {
            format!("h{i:03},Person {i},h{i:03}@example.com,,en,JP,1980-01-01,,,,,,,app,contact")
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let id = planned_incident_at(app, t, &rows, "a support line", "2026-11-20T00:00:00Z").await;
    let d = approved_dispatch(app, t, &id).await;
    (id, d)
}

async fn progress(app: &TestApp, t: &TestTenant, id: &str, d: &str) -> Value {
    let (status, body) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/dispatches/{d}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls progress until `done` holds; panics with the last progress after `limit`.
async fn wait_for(
    app: &TestApp,
    t: &TestTenant,
    (id, d): (&str, &str),
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let p = progress(app, t, id, d).await;
        if done(&p) {
            return p;
        }
        assert!(started.elapsed() < limit, "not there after {limit:?}: {p}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Everyone got exactly one e-mail, nobody is unreachable, and every message went
/// out on its first counted attempt (relay faults spent nothing).
fn everyone_once(app: &TestApp, relay: &HostileRelay, p: &Value, count: usize) {
    let accepted = relay.accepted();
    assert_eq!(accepted.len(), count, "{accepted:?}");
    assert!(
        accepted.values().all(|n| *n == 1),
        "duplicates without a crash: {accepted:?}"
    );
    assert_eq!(p["status"], "completed", "{p}");
    assert_eq!(p["counts"]["unreachable"], 0, "{p}");
    assert_eq!(p["counts"]["failed"], 0, "{p}");
    assert_eq!(p["counts"]["sent"], count, "{p}");
    let attempts: Vec<i32> = app
        .db
        .read_blocking(|conn| Ok(outbox::table.select(outbox::attempts).load(conn)?))
        .unwrap();
    assert!(
        attempts.iter().all(|a| *a == 1),
        "relay faults must not spend attempts: {attempts:?}"
    );
}

async fn survives(hostility: Hostility, count: usize, limit: Duration) {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let relay = HostileRelay::start(hostility).await;
    let (id, d) = approved(&app, &t, count).await;
    let worker = RunningWorker::start(&app, IMPATIENT, &[("BREACHLINE_SMTP_URL", &relay.url())]);
    let p = wait_for(&app, &t, (&id, &d), limit, |p| p["status"] == "completed").await;
    worker.stop().await;
    everyone_once(&app, &relay, &p, count);
}

#[tokio::test]
async fn a_relay_with_a_backlog_of_one_serving_slowly() {
    let slow = Hostility::OneAtATime {
        reply_delay: Duration::from_millis(20),
    };
    survives(slow, 12, Duration::from_secs(90)).await;
}

#[tokio::test]
async fn a_slow_relay_gets_at_most_pool_size_connections() {
    for (config, pool) in [("", 8), ("[channels.email]\npool_size = 3\n", 3)] {
        let app = spawn_app().await;
        let t = app.tenant("acme");
        let slow = Hostility::Slow {
            reply_delay: Duration::from_millis(20),
        };
        let relay = HostileRelay::start(slow).await;
        let (id, d) = approved(&app, &t, 40).await;
        let settings = format!("{IMPATIENT}{config}");
        let worker =
            RunningWorker::start(&app, &settings, &[("BREACHLINE_SMTP_URL", &relay.url())]);
        let p = wait_for(&app, &t, (&id, &d), Duration::from_secs(60), |p| {
            p["status"] == "completed"
        })
        .await;
        worker.stop().await;
        everyone_once(&app, &relay, &p, 40);
        // 32 sends at once, pool_size connections: the rest wait their turn.
        assert_eq!(relay.peak_connections(), pool, "pool_size {pool}");
    }
}

#[tokio::test]
async fn a_relay_refusing_a_third_connection_with_421() {
    survives(
        Hostility::TooManyConnections { allowed: 2 },
        30,
        Duration::from_secs(90),
    )
    .await;
}

#[tokio::test]
async fn a_relay_that_defers_each_message_once_with_451() {
    survives(Hostility::DefersOnce, 20, Duration::from_secs(90)).await;
}

#[tokio::test]
async fn a_relay_that_drops_the_connection_mid_data() {
    survives(Hostility::DropsMidData, 20, Duration::from_secs(90)).await;
}

#[tokio::test]
async fn a_relay_down_for_30_seconds_then_back() {
    survives(
        Hostility::DownFor(Duration::from_secs(30)),
        20,
        Duration::from_secs(120),
    )
    .await;
}

#[tokio::test]
async fn a_silent_relay_pauses_visibly_and_the_dispatch_completes_once_it_is_replaced() {
    let silent = HostileRelay::start(Hostility::NeverGreets).await;
    // The server shares the worker's settings (as `serve` does), so its progress
    // knows which relay carries the tenant's mail.
    let app = spawn_app_with(&[("BREACHLINE_SMTP_URL", &silent.url())]).await;
    let t = app.tenant("acme");
    let (id, d) = approved(&app, &t, 20).await;
    let worker = RunningWorker::start(&app, IMPATIENT, &[("BREACHLINE_SMTP_URL", &silent.url())]);
    let paused = wait_for(&app, &t, (&id, &d), Duration::from_secs(30), |p| {
        !p["relay_paused"].is_null()
    })
    .await;
    assert_eq!(paused["relay_paused"]["provider"], "smtp", "{paused}");
    assert!(
        paused["relay_paused"]["reason"]
            .as_str()
            .unwrap()
            .contains("greeting"),
        "{paused}"
    );
    assert_eq!(paused["counts"]["unreachable"], 0, "{paused}");
    assert_eq!(
        paused["counts"]["sent"], 0,
        "nothing could be sent: {paused}"
    );
    // The operator replaces the relay (same address).
    let port = silent.stop().await;
    let relay = HostileRelay::start_on(port, Hostility::Polite).await;
    let p = wait_for(&app, &t, (&id, &d), Duration::from_secs(60), |p| {
        p["status"] == "completed"
    })
    .await;
    worker.stop().await;
    assert!(p["relay_paused"].is_null(), "{p}");
    everyone_once(&app, &relay, &p, 20);
}

#[tokio::test]
async fn stopping_is_bounded_even_while_a_relay_is_silent() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let silent = HostileRelay::start(Hostility::NeverGreets).await;
    approved(&app, &t, 10).await;
    let toml = "[channels]\nsmtp_timeout_secs = 60\nsmtp_send_timeout_secs = 120\n";
    let worker = RunningWorker::start(
        &app,
        toml,
        &[
            ("BREACHLINE_SMTP_URL", &silent.url()),
            ("BREACHLINE_WORKER_GRACE_SECS", "1"),
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    worker.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped after {:?}",
        started.elapsed()
    );
    let rows: Vec<(String, i32, Option<String>)> = app
        .db
        .read_blocking(|conn| {
            Ok(outbox::table
                .select((outbox::status, outbox::attempts, outbox::locked_by))
                .load(conn)?)
        })
        .unwrap();
    assert!(
        rows.iter()
            .all(|(status, attempts, locked)| status == "queued"
                && *attempts == 0
                && locked.is_none()),
        "every row back in the queue for the next worker, uncounted: {rows:?}"
    );
}
